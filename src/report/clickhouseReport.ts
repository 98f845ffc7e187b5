import type { DsoRequestReport, TelemetryReport } from '../adapters/clickhouse/loadTelemetryReport';
import { type HtmlSection, htmlPage } from './htmlPage';
import { htmlTable } from './htmlTable';
import { lineChartSvg } from './lineChart';

/** Charts beyond these counts only make the file heavy; the tables still list everything. */
const MAX_DSO_CHARTS = 20;
const MAX_FREQUENCY_CHARTS = 20;
/** Fulfilment below this is marked as a miss. */
const SESSION_FULFILMENT_OK = 0.95;
/** A frequency event scored below this compliance is marked as a miss. */
const FREQUENCY_COMPLIANCE_OK_PCT = 90;

export function isoSecond(tsMs: number): string {
  return Number.isFinite(tsMs) ? `${new Date(tsMs).toISOString().slice(0, 19)}Z` : '';
}

const fixed = (digits: number) => (value: unknown) =>
  typeof value === 'number' && Number.isFinite(value) ? value.toFixed(digits) : '–';
const percent = (value: unknown) =>
  typeof value === 'number' && Number.isFinite(value) ? `${(value * 100).toFixed(1)} %` : '–';

function dsoOk(r: DsoRequestReport): boolean {
  return r.timeToComplyS !== null && r.compliantShare >= 0.99;
}

function overview(report: TelemetryReport): string {
  const sessions = report.sessions;
  const requestedKwh = sessions.reduce((n, s) => n + s.requestedKwh, 0);
  const deliveredKwh = sessions.reduce((n, s) => n + s.deliveredKwh, 0);
  const dsoMet = report.dsoRequests.filter(dsoOk).length;
  const complyTimes = report.dsoRequests.map((r) => r.timeToComplyS).filter((t): t is number => t !== null);
  const scored = report.frequencyEvents.filter((e) => Number.isFinite(e.compliancePct));
  const rows: Array<{ label: string; value: string; status?: 'good' | 'bad' }> = [
    { label: 'range', value: `${isoSecond(report.fromMs)} – ${isoSecond(report.toMs)}` },
    { label: 'sessions', value: String(sessions.length) },
    { label: 'energy requested (kWh)', value: requestedKwh.toFixed(2) },
    {
      label: 'energy delivered (kWh)',
      value: deliveredKwh.toFixed(2),
      status: requestedKwh > 0 && deliveredKwh / requestedKwh < SESSION_FULFILMENT_OK ? 'bad' : undefined,
    },
    {
      label: 'DSO requests obeyed',
      value: `${dsoMet} of ${report.dsoRequests.length}`,
      status: dsoMet === report.dsoRequests.length ? 'good' : 'bad',
    },
    {
      label: 'slowest time to comply (s)',
      value: complyTimes.length > 0 ? Math.max(...complyTimes).toFixed(0) : '–',
    },
    { label: 'frequency events', value: String(report.frequencyEvents.length) },
    {
      label: 'mean frequency-response compliance',
      value:
        scored.length > 0
          ? `${(scored.reduce((n, e) => n + e.compliancePct, 0) / scored.length).toFixed(1)} %`
          : '–',
    },
  ];
  return htmlTable(rows, [
    { label: 'metric', value: 'label' },
    { label: 'value', value: 'value', numeric: true, cellClass: (r) => r.status },
  ]);
}

function sessionsSection(report: TelemetryReport): string {
  if (report.sessions.length === 0) return '<p class="note">No sessions in this range.</p>';
  return `${htmlTable(report.sessions, [
    { label: 'site', value: 'siteId' },
    { label: 'session', value: 'sessionId' },
    { label: 'EVSE', value: 'evseId' },
    { label: 'arrival (UTC)', value: 'arrivalMs', format: (v) => isoSecond(Number(v)), numeric: false },
    { label: 'departure (UTC)', value: 'departureMs', format: (v) => isoSecond(Number(v)), numeric: false },
    { label: 'requested (kWh)', value: 'requestedKwh', format: fixed(2) },
    { label: 'delivered (kWh)', value: 'deliveredKwh', format: fixed(2) },
    {
      label: 'fulfilment',
      value: 'fulfilment',
      format: percent,
      cellClass: (s) => (s.fulfilment >= SESSION_FULFILMENT_OK ? 'good' : 'bad'),
    },
    { label: 'shortfall (kWh)', value: 'shortfallKwh', format: fixed(2) },
  ])}
<p class="note">Requested = the EV's energy target when the session was first reported. Delivered = the EVSE meter integrated over the session (net of any V2G discharge).</p>`;
}

function dsoSection(report: TelemetryReport): string {
  if (report.dsoRequests.length === 0) return '<p class="note">No DSO power variations in this range.</p>';
  const table = htmlTable(report.dsoRequests, [
    { label: 'site', value: 'siteId' },
    { label: 'request', value: 'requestId' },
    { label: 'node', value: 'nodeId' },
    { label: 'start (UTC)', value: 'startMs', format: (v) => isoSecond(Number(v)), numeric: false },
    { label: 'end (UTC)', value: 'endMs', format: (v) => isoSecond(Number(v)), numeric: false },
    { label: 'limit (kW)', value: 'limitKw', format: fixed(1) },
    { label: 'max measured (kW)', value: 'maxPowerKw', format: fixed(1) },
    {
      label: 'time to comply (s)',
      value: (r) => r.timeToComplyS,
      format: (v) => (v === null ? 'never' : fixed(0)(v)),
      numeric: true,
      cellClass: (r) => (r.timeToComplyS === null ? 'bad' : undefined),
    },
    {
      label: 'compliant after',
      value: 'compliantShare',
      format: percent,
      cellClass: (r) => (dsoOk(r) ? 'good' : 'bad'),
    },
    { label: 'worst excess (kW)', value: 'maxExceedanceAfterComplyKw', format: fixed(1) },
    { label: 'ack', value: 'ackStatus' },
    { label: 'ack achieved (kW)', value: 'ackAchievedKw', format: fixed(1) },
  ]);
  const charts = report.dsoRequests.slice(0, MAX_DSO_CHARTS).map((r) => {
    const xs = r.sitePowerKw.map((_, k) => r.seriesFromMs + k * 1000);
    const limitXs = [Math.max(r.seriesFromMs, r.effectiveStartMs), r.endMs];
    return lineChartSvg({
      title: `${r.siteId} · ${r.requestId}: measured site power vs limit`,
      yLabel: 'power (kW)',
      xIsTimeMs: true,
      height: 260,
      series: [
        { name: 'measured site power (kW)', xs, ys: r.sitePowerKw, color: '#1f77b4' },
        {
          name: `limit (${r.limitSource})`,
          xs: limitXs,
          ys: [r.limitKw, r.limitKw],
          color: '#d62728',
          step: true,
          dashed: true,
        },
      ],
    });
  });
  const more =
    report.dsoRequests.length > MAX_DSO_CHARTS
      ? `<p class="note">Charts for the first ${MAX_DSO_CHARTS} of ${report.dsoRequests.length} requests.</p>`
      : '';
  return `${table}
<p class="note">Time to comply counts from the window start (or from receipt, if the request came late) to the first second the measured site power was at or below the limit (tolerance max(0.1 kW, 1 %)). Site power is the site meter when there is one, else the sum of EVSE meters.</p>
${charts.join('\n')}${more}`;
}

function frequencySection(report: TelemetryReport): string {
  const p = report.frequencyParams;
  const params = `<p class="note">Droop: deadband ${p.deadbandHz} Hz, full activation at ±${p.fullActivationHz} Hz around ${p.nominalHz} Hz, reserved ${p.reservedUpKw} kW up / ${p.reservedDownKw} kW down; events are deviations beyond ${p.eventThresholdHz} Hz; baseline = mean site power over ${p.baselineS} s before the event; delivery at t is compared with the requirement at t − ${p.responseDelayS} s.</p>`;
  if (report.frequencySites.length === 0)
    return `<p class="note">No frequency measurements in this range.</p>`;
  if (report.frequencyEvents.length === 0)
    return `<p class="note">No frequency events in this range.</p>${params}`;
  const table = htmlTable(report.frequencyEvents, [
    { label: 'site', value: 'siteId' },
    { label: 'start (UTC)', value: 'startMs', format: (v) => isoSecond(Number(v)), numeric: false },
    { label: 'duration (s)', value: 'durationS' },
    { label: 'direction', value: 'direction' },
    { label: 'min Hz', value: 'minHz', format: fixed(3) },
    { label: 'max Hz', value: 'maxHz', format: fixed(3) },
    { label: 'baseline (kW)', value: 'baselineKw', format: fixed(1) },
    { label: 'required (kWs)', value: 'requiredKws', format: fixed(0) },
    { label: 'delivered (kWs)', value: 'deliveredKws', format: fixed(0) },
    { label: 'delivered / required', value: 'deliveredRatio', format: percent },
    {
      label: 'compliance (1 s)',
      value: 'compliancePct',
      format: (v) => (typeof v === 'number' && Number.isFinite(v) ? `${v.toFixed(1)} %` : '–'),
      cellClass: (e) => (e.compliancePct >= FREQUENCY_COMPLIANCE_OK_PCT ? 'good' : 'bad'),
    },
  ]);
  const charts = report.frequencyEvents.slice(0, MAX_FREQUENCY_CHARTS).map((e) => {
    const xs = e.seconds.map((s) => s.tMs);
    return (
      lineChartSvg({
        title: `${e.siteId} · event at ${isoSecond(e.startMs)}: required vs delivered response`,
        yLabel: 'response (kW, + = less import)',
        xIsTimeMs: true,
        height: 260,
        series: [
          { name: 'required (kW)', xs, ys: e.seconds.map((s) => s.requiredKw), color: '#d62728', step: true },
          {
            name: 'delivered (kW)',
            xs,
            ys: e.seconds.map((s) => s.deliveredKw),
            color: '#1f77b4',
            step: true,
          },
        ],
      }) +
      lineChartSvg({
        title: `${e.siteId} · grid frequency`,
        yLabel: 'Hz',
        xIsTimeMs: true,
        height: 200,
        // Frame the deviation, not 0 Hz: a 200 mHz event must be visible.
        yMin: Math.floor((Math.min(e.minHz, p.nominalHz) - 0.02) * 100) / 100,
        yMax: Math.ceil((Math.max(e.maxHz, p.nominalHz) + 0.02) * 100) / 100,
        series: [{ name: 'frequency (Hz, 1 s mean)', xs, ys: e.seconds.map((s) => s.hz), color: '#2ca02c' }],
      })
    );
  });
  return `${table}${params}\n${charts.join('\n')}`;
}

function operationsSection(report: TelemetryReport): string {
  const counts = htmlTable(report.tableCounts, [
    { label: 'table', value: 'table' },
    { label: 'rows in range', value: 'rows' },
  ]);
  const decisions =
    report.decisions.length > 0
      ? htmlTable(report.decisions, [
          { label: 'site', value: 'siteId' },
          { label: 'solver', value: 'solver' },
          { label: 'trigger', value: 'trigger' },
          { label: 'decisions', value: 'decisions' },
          { label: 'solve p50 (ms)', value: 'solveP50Ms', format: fixed(2) },
          { label: 'solve p99 (ms)', value: 'solveP99Ms', format: fixed(2) },
          { label: 'solve max (ms)', value: 'solveMaxMs', format: fixed(2) },
          { label: 'fallbacks', value: 'fallbacks' },
        ])
      : '<p class="note">No decisions in this range.</p>';
  const letters =
    report.deadLetters.length > 0
      ? htmlTable(report.deadLetters, [
          { label: 'error code', value: 'errorCode' },
          { label: 'topic', value: 'originalTopic' },
          { label: 'messages', value: 'count' },
        ])
      : '<p class="note">No dead letters in this range.</p>';
  return `<h3>Rows recorded</h3>${counts}<h3>Decisions</h3>${decisions}<h3>Dead letters</h3>${letters}`;
}

/** The proof-of-delivery report read from ClickHouse, in the demo report's style. */
export function renderClickHouseReport(report: TelemetryReport): string {
  const sections: HtmlSection[] = [
    { heading: 'Summary', html: overview(report) },
    { heading: 'Energy per session: requested vs delivered', html: sessionsSection(report) },
    { heading: 'DSO power variations: limit vs measured site power', html: dsoSection(report) },
    { heading: 'Frequency events: required vs delivered response (1 s)', html: frequencySection(report) },
    { heading: 'Operations', html: operationsSection(report) },
  ];
  return htmlPage({
    title: 'evflex proof of delivery',
    subtitle: `ClickHouse database ${report.database} · ${isoSecond(report.fromMs)} – ${isoSecond(report.toMs)}`,
    sections,
  });
}
