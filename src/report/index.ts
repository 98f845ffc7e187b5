// Public surface of the report package; the files behind it are internal.
export { type AxisTicks, niceTicks, timeTicks } from './axisTicks';
export { renderDemoReport } from './demoReport';
export type {
  DeadLetterSample,
  DemoReportData,
  DemoSummary,
  FrequencySeries,
  PriceSeries,
  SessionRow,
  SitePowerSeries,
  SocTrajectory,
} from './demoReportData';
export { downsampleMinMax } from './downsampleMinMax';
export { escapeXml } from './escapeXml';
export { type HtmlPageOptions, type HtmlSection, htmlPage } from './htmlPage';
export { type HtmlTableColumn, htmlTable } from './htmlTable';
export { CHART_PALETTE, type LineChartOptions, type LineSeries, lineChartSvg } from './lineChart';
export { type SummaryRow, summaryRows } from './summaryRows';
export { summaryTable } from './summaryTable';
