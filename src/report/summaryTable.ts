import type { DemoReportData } from './demoReportData';
import { summaryRows } from './summaryRows';

/** The demo summary as an aligned plain-text table for the terminal (no colours, no box glyphs). */
export function summaryTable(data: DemoReportData): string {
  const rows = summaryRows(data.summary);
  const labelWidth = Math.max('metric'.length, ...rows.map((r) => r.label.length));
  const valueWidth = Math.max('value'.length, ...rows.map((r) => r.value.length));
  const line = (label: string, value: string, mark = '') =>
    `${label.padEnd(labelWidth)}  ${value.padStart(valueWidth)}${mark ? `  ${mark}` : ''}`.trimEnd();
  const out = [line('metric', 'value'), `${'-'.repeat(labelWidth)}  ${'-'.repeat(valueWidth)}`];
  for (const r of rows)
    out.push(line(r.label, r.value, r.status === 'bad' ? '!!' : r.status === 'good' ? 'ok' : ''));
  return out.join('\n');
}
