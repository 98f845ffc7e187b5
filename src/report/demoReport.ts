import type { DemoReportData, SocTrajectory } from './demoReportData';
import { escapeXml } from './escapeXml';
import { type HtmlSection, htmlPage } from './htmlPage';
import { htmlTable } from './htmlTable';
import { lineChartSvg } from './lineChart';
import { isoMinute, summaryRows } from './summaryRows';

export { summaryTable } from './summaryTable';

/** More lines than this make the SoC plot unreadable. */
const MAX_SOC_TRAJECTORIES = 20;
const MAX_SESSION_ROWS = 200;

/** The demo's self-contained HTML report: summary, site power vs limit, SoC, prices, frequency. */
export function renderDemoReport(data: DemoReportData): string {
  const s = data.summary;
  const sections: HtmlSection[] = [];

  sections.push({
    heading: 'Summary',
    html: htmlTable(summaryRows(s), [
      { label: 'metric', value: 'label' },
      { label: 'value', value: 'value', numeric: true },
      {
        label: '',
        value: (r) => (r.status === 'good' ? 'ok' : r.status === 'bad' ? 'FAIL' : ''),
        cellClass: (r) => r.status,
      },
    ]),
  });

  const power = data.sitePower;
  const powerSeries = [
    { name: 'site power (kW)', xs: power.tsMs, ys: power.sitePowerKw, color: '#1f77b4' },
    {
      name: 'site import limit (kW)',
      xs: power.tsMs,
      ys: power.siteLimitKw,
      color: '#d62728',
      step: true,
      dashed: true,
    },
  ];
  if (power.uncontrolledKw) {
    powerSeries.push({
      name: 'uncontrolled charging (kW)',
      xs: power.tsMs,
      ys: power.uncontrolledKw,
      color: '#999999',
    });
  }
  sections.push({
    heading: 'Site power vs limit',
    html: `${lineChartSvg({ title: 'Site power vs import limit', yLabel: 'power (kW)', xIsTimeMs: true, series: powerSeries })}
<p class="note">The limit line includes DSO power variations for their window. Negative power is V2G export.</p>`,
  });

  const shown = pickTrajectories(data.socTrajectories, MAX_SOC_TRAJECTORIES);
  sections.push({
    heading: 'State of charge per EV',
    html: `${lineChartSvg({
      title: `State of charge (${shown.length} of ${data.socTrajectories.length} sessions)`,
      yLabel: 'SoC (%)',
      xIsTimeMs: true,
      yMin: 0,
      yMax: 100,
      height: 420,
      series: shown.map((t) => ({
        name: t.v2gAllowed ? `${t.sessionId} (V2G)` : t.sessionId,
        xs: t.tsMs,
        ys: t.socPct,
        dashed: t.v2gAllowed === true,
      })),
    })}
<p class="note">Dashed lines are V2G sessions.</p>`,
  });

  const currency = data.prices.currency ?? 'EUR';
  const prices = withClosingStep(data.prices.tsMs, [
    data.prices.importPricePerKwh,
    data.prices.exportPricePerKwh,
  ]);
  sections.push({
    heading: 'Prices',
    html: lineChartSvg({
      title: 'Energy prices',
      yLabel: `${currency}/kWh`,
      xIsTimeMs: true,
      height: 300,
      series: [
        {
          name: 'import',
          xs: prices.tsMs,
          ys: prices.values[0],
          step: true,
          color: '#d62728',
        },
        {
          name: 'export',
          xs: prices.tsMs,
          ys: prices.values[1],
          step: true,
          color: '#2ca02c',
        },
      ],
    }),
  });

  if (data.frequency && data.frequency.tsMs.length > 0) {
    const f = data.frequency;
    let html = lineChartSvg({
      title: 'Grid frequency',
      yLabel: 'frequency (Hz)',
      xIsTimeMs: true,
      height: 280,
      series: [{ name: 'measured (Hz)', xs: f.tsMs, ys: f.hz, color: '#9467bd' }],
    });
    if (f.responseKw && f.responseKw.length > 0) {
      html += lineChartSvg({
        title: 'Frequency response',
        yLabel: 'power change (kW)',
        xIsTimeMs: true,
        height: 280,
        series: [{ name: 'response (kW)', xs: f.tsMs, ys: f.responseKw, color: '#ff7f0e' }],
      });
    }
    sections.push({ heading: 'Frequency', html });
  }

  const deadLetterRows = Object.entries(s.deadLetters)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([errorCode, count]) => ({ errorCode, count }));
  let deadLetterHtml =
    deadLetterRows.length === 0
      ? '<p>No dead letters.</p>'
      : htmlTable(deadLetterRows, [
          { label: 'error code', value: 'errorCode' },
          { label: 'count', value: 'count' },
        ]);
  if (data.deadLetterSamples && data.deadLetterSamples.length > 0) {
    deadLetterHtml += `\n<h3>Examples</h3>\n${htmlTable(data.deadLetterSamples, [
      { label: 'error code', value: 'errorCode' },
      { label: 'topic', value: 'topic' },
      { label: 'reason', value: 'reason' },
    ])}`;
  }
  sections.push({ heading: 'Dead letters', html: deadLetterHtml });

  if (data.sessions && data.sessions.length > 0) {
    const rows = data.sessions.slice(0, MAX_SESSION_ROWS);
    const more =
      data.sessions.length > rows.length
        ? `<p class="note">First ${rows.length} of ${data.sessions.length} sessions.</p>`
        : '';
    sections.push({
      heading: 'Sessions',
      html: `${htmlTable(rows, [
        { label: 'session', value: 'sessionId' },
        { label: 'EVSE', value: 'evseId' },
        { label: 'arrival (UTC)', value: (r) => isoMinute(r.arrivalMs).slice(11) },
        { label: 'departure (UTC)', value: (r) => isoMinute(r.departureMs).slice(11) },
        { label: 'requested (kWh)', value: 'requestedKwh' },
        { label: 'delivered (kWh)', value: 'deliveredKwh' },
        {
          label: 'met',
          value: (r) => (r.deliveredKwh >= r.requestedKwh - 0.01 ? 'yes' : 'no'),
        },
        { label: 'V2G', value: (r) => (r.v2gAllowed ? 'yes' : '') },
      ])}${more}`,
    });
  }

  if (data.notes && data.notes.length > 0) {
    sections.push({
      heading: 'Notes',
      html: `<ul>${data.notes.map((n) => `<li>${escapeXml(n)}</li>`).join('')}</ul>`,
    });
  }

  return htmlPage({
    title: data.title ?? `evflex demo — ${s.siteId}`,
    subtitle: `${isoMinute(s.startMs)} → ${isoMinute(s.endMs)} UTC · ${s.evseCount} EVSEs · ${s.sessions} sessions · seed ${s.seed}`,
    sections,
  });
}

/** Evenly spaced over the list, so early, midday and evening sessions all appear. */
function pickTrajectories(all: readonly SocTrajectory[], max: number): SocTrajectory[] {
  if (all.length <= max) return [...all];
  const out: SocTrajectory[] = [];
  for (let i = 0; i < max; i++) out.push(all[Math.floor((i * all.length) / max)]);
  return out;
}

/**
 * Prices hold for a slot that starts at each timestamp; repeating the last value one slot
 * later draws the last slot too.
 */
function withClosingStep(tsMs: readonly number[], series: readonly (readonly number[])[]) {
  if (tsMs.length < 2) return { tsMs: [...tsMs], values: series.map((s) => [...s]) };
  const endMs = tsMs[tsMs.length - 1] + (tsMs[tsMs.length - 1] - tsMs[tsMs.length - 2]);
  return { tsMs: [...tsMs, endMs], values: series.map((s) => [...s, s[s.length - 1]]) };
}
