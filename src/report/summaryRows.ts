import type { DemoSummary } from './demoReportData';

export interface SummaryRow {
  label: string;
  value: string;
  /** Whether the figure is a pass or a fail, where that is a clear-cut question. */
  status?: 'good' | 'bad';
}

/** The summary as labelled, formatted rows, shared by the terminal table and the HTML page. */
export function summaryRows(s: DemoSummary): SummaryRow[] {
  const deliveredShare = s.energyRequestedKwh > 0 ? s.energyDeliveredKwh / s.energyRequestedKwh : 1;
  const deadLetterTotal = Object.values(s.deadLetters).reduce((sum, n) => sum + n, 0);
  const rows: SummaryRow[] = [
    { label: 'site', value: s.siteId },
    { label: 'simulated period (UTC)', value: `${isoMinute(s.startMs)} → ${isoMinute(s.endMs)}` },
    { label: 'seed', value: String(s.seed) },
    { label: 'EVSEs', value: String(s.evseCount) },
    { label: 'sessions', value: String(s.sessions) },
  ];
  if (s.sessionsMet !== undefined) {
    rows.push({
      label: 'sessions that reached their target',
      value: `${s.sessionsMet} (${percent(s.sessions > 0 ? s.sessionsMet / s.sessions : 1)})`,
      status: s.sessionsMet >= s.sessions ? 'good' : undefined,
    });
  }
  rows.push(
    { label: 'energy requested', value: `${fixed(s.energyRequestedKwh, 1)} kWh` },
    {
      label: 'energy delivered',
      value: `${fixed(s.energyDeliveredKwh, 1)} kWh (${percent(deliveredShare)})`,
      status: deliveredShare >= 0.99 ? 'good' : undefined,
    },
  );
  if (s.energyDischargedKwh !== undefined) {
    rows.push({ label: 'energy discharged (V2G)', value: `${fixed(s.energyDischargedKwh, 1)} kWh` });
  }
  rows.push(
    {
      label: 'peak site power vs limit',
      value: `${fixed(s.peakKw, 1)} kW / ${fixed(s.siteLimitKw, 1)} kW`,
      status: s.peakKw <= s.siteLimitKw + 1e-6 ? 'good' : 'bad',
    },
    {
      label: 'limit violations',
      value: String(s.limitViolations),
      status: s.limitViolations === 0 ? 'good' : 'bad',
    },
    { label: 'energy cost', value: `${fixed(s.costEur, 2)} EUR` },
    { label: 'planner solves', value: String(s.plannerSolves) },
    {
      label: 'planner fallbacks',
      value: String(s.fallbacks),
      status: s.fallbacks === 0 ? 'good' : undefined,
    },
    { label: 'dead letters', value: String(deadLetterTotal) },
  );
  for (const [code, count] of Object.entries(s.deadLetters).sort(([a], [b]) => a.localeCompare(b))) {
    rows.push({ label: `  ${code}`, value: String(count) });
  }
  if (s.inputMessages !== undefined) rows.push({ label: 'input messages', value: String(s.inputMessages) });
  if (s.setpointMessages !== undefined)
    rows.push({ label: 'setpoint messages', value: String(s.setpointMessages) });
  if (s.acks !== undefined) rows.push({ label: 'acks', value: String(s.acks) });
  if (s.runMs !== undefined)
    rows.push({ label: 'run time (wall clock)', value: `${fixed(s.runMs / 1000, 2)} s` });
  return rows;
}

export function isoMinute(tsMs: number): string {
  return Number.isFinite(tsMs) ? new Date(tsMs).toISOString().slice(0, 16).replace('T', ' ') : '—';
}

function fixed(value: number, decimals: number): string {
  return Number.isFinite(value) ? value.toFixed(decimals) : String(value);
}

function percent(share: number): string {
  return Number.isFinite(share) ? `${(share * 100).toFixed(1)} %` : '—';
}
