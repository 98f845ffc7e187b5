import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ClickHouseLogLevel, createClient } from '@clickhouse/client';
import type { FrequencyResponseParams } from '../adapters/clickhouse/evaluateFrequencyResponse';
import { loadTelemetryReport, type TelemetryReport } from '../adapters/clickhouse/loadTelemetryReport';
import { EvflexError } from '../core/evflexError';
import { renderClickHouseReport } from '../report/clickhouseReport';

export interface ReportCommandOptions {
  clickhouseUrl: string;
  fromMs: number;
  toMs: number;
  /** An .html file, or a directory that gets `clickhouse-report.html` (and `.json`). */
  out: string;
  database?: string;
  username?: string;
  password?: string;
  /** Droop and event settings; reserved kW default to 0 (nothing required) as in the config. */
  frequency?: Partial<FrequencyResponseParams>;
}

/**
 * Parses a --from/--to value: epoch milliseconds, or an ISO 8601 time (UTC unless it says
 * otherwise, so a report means the same everywhere).
 */
export function parseReportTimeMs(value: string): number {
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text);
  const withZone = /(?:Z|[+-]\d\d:?\d\d)$/i.test(text) || !text.includes('T') ? text : `${text}Z`;
  const ms = Date.parse(/^\d{4}-\d\d-\d\d$/.test(withZone) ? `${withZone}T00:00:00Z` : withZone);
  if (!Number.isFinite(ms)) throw new EvflexError('EVFLEX_CONFIG_INVALID', `not a time: ${value}`);
  return ms;
}

/** `evflex report --clickhouse URL --from … --to … --out …`: the proof-of-delivery HTML report. */
export async function runReportCommand(
  opts: ReportCommandOptions,
): Promise<{ htmlPath: string; jsonPath: string; report: TelemetryReport }> {
  if (!(opts.toMs > opts.fromMs)) {
    throw new EvflexError('EVFLEX_CONFIG_INVALID', '--to must be after --from');
  }
  const client = createClient({
    url: opts.clickhouseUrl,
    username: opts.username ?? 'default',
    password: opts.password ?? '',
    application: 'evflex-report',
    // Failures surface as EvflexError with the server's message; no second copy in the log.
    log: { level: ClickHouseLogLevel.OFF },
  });
  try {
    const report = await loadTelemetryReport(client, {
      fromMs: opts.fromMs,
      toMs: opts.toMs,
      database: opts.database,
      frequency: opts.frequency,
    });
    const htmlPath = opts.out.endsWith('.html') ? opts.out : join(opts.out, 'clickhouse-report.html');
    const jsonPath = htmlPath.replace(/\.html$/, '.json');
    await mkdir(dirname(htmlPath), { recursive: true });
    await writeFile(htmlPath, renderClickHouseReport(report));
    await writeFile(jsonPath, `${JSON.stringify(report, null, 1)}\n`);
    return { htmlPath, jsonPath, report };
  } finally {
    await client.close();
  }
}
