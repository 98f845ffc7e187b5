import { htmlPage } from '../../report/htmlPage';
import { lineChartSvg } from '../../report/lineChart';
import { renderDemoSummary } from './renderDemoSummary';
import type { DemoResult } from './runDemo';

/** The demo's self-contained HTML report. */
export function writeDemoReport(result: DemoResult): string {
  const s = result.series;
  const soc = result.socTrajectories.slice(0, 20);
  return htmlPage({
    title: 'evflex demo report',
    subtitle: `${result.summary.siteId}, seed ${result.summary.seed}`,
    sections: [
      { heading: 'Summary', html: `<pre>${escapeHtml(renderDemoSummary(result.summary))}</pre>` },
      {
        heading: 'Site power vs limit',
        html: lineChartSvg({
          title: 'Site power vs import limit',
          yLabel: 'kW',
          xIsTimeMs: true,
          series: [
            { name: 'site power', xs: s.tsMs, ys: s.sitePowerKw },
            { name: 'import limit', xs: s.tsMs, ys: s.siteLimitKw, step: true, dashed: true },
          ],
        }),
      },
      {
        heading: 'State of charge per EV',
        html: lineChartSvg({
          title: 'State of charge (first 20 sessions)',
          yLabel: '%',
          xIsTimeMs: true,
          series: soc.map((t) => ({ name: t.sessionId, xs: t.tsMs, ys: t.socPct })),
        }),
      },
      {
        heading: 'Prices',
        html: lineChartSvg({
          title: 'Import and export price',
          yLabel: 'EUR/kWh',
          xIsTimeMs: true,
          series: [
            { name: 'import', xs: s.tsMs, ys: s.importPricePerKwh, step: true },
            { name: 'export', xs: s.tsMs, ys: s.exportPricePerKwh, step: true },
          ],
        }),
      },
    ],
  });
}

function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
