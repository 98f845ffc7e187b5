import type { ClickHouseClient } from '@clickhouse/client';
import { EvflexError } from '../../core/evflexError';
import type { SessionRecord } from './evaluateSessionEnergy';
import { evseKey } from './evseKey';
import type { TimedValue } from './holdSeries';
import { assertIdentifier } from './migrateTelemetrySchema';

/**
 * The SQL reads behind the reports. Only SQL that Debian's 18.16 and current releases both
 * run: no query parameters (values are inlined after validation), no window functions, no
 * JSONExtract (visitParamExtract* reads fields of the raw input payloads), and inner column
 * aliases never shadow outer ones (18.16 reports those as cyclic aliases).
 */

export function sqlString(value: string): string {
  return `'${value.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;
}

export function sqlUInt(value: number): string {
  if (!Number.isFinite(value) || value < 0) return '0';
  return String(Math.trunc(value));
}

async function rows<T>(client: ClickHouseClient, query: string): Promise<T[]> {
  try {
    const result = await client.query({ query, format: 'JSONEachRow' });
    return await result.json<T>();
  } catch (error) {
    throw new EvflexError(
      'EVFLEX_TELEMETRY_UNAVAILABLE',
      `telemetry query failed: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
}

export interface TimeRange {
  fromMs: number;
  toMs: number;
}

/** Sessions overlapping the range, from the `fleet.state` inputs; requested = target when first seen. */
export async function querySessions(
  client: ClickHouseClient,
  database: string,
  range: TimeRange,
  lookbackMs = 7 * 86_400_000,
): Promise<SessionRecord[]> {
  const db = assertIdentifier(database);
  const raw = await rows<Record<string, string | number>>(
    client,
    `SELECT siteId, sSessionId AS sessionId, any(sEvseId) AS evseId, min(sArrivalMs) AS arrivalMs,
       max(sDepartureMs) AS departureMs, argMin(sTargetKwh, tsMs) AS requestedKwh, max(tsMs) AS lastSeenMs
     FROM (
       SELECT siteId, tsMs,
         visitParamExtractString(payload, 'sessionId') AS sSessionId,
         visitParamExtractString(payload, 'evseId') AS sEvseId,
         visitParamExtractUInt(payload, 'arrivalMs') AS sArrivalMs,
         visitParamExtractUInt(payload, 'departureMs') AS sDepartureMs,
         visitParamExtractFloat(payload, 'energyTargetKwh') AS sTargetKwh
       FROM ${db}.inputs
       WHERE kind = 'evseState' AND tsMs >= ${sqlUInt(range.fromMs - lookbackMs)} AND tsMs < ${sqlUInt(range.toMs)}
     )
     WHERE sSessionId != ''
     GROUP BY siteId, sSessionId
     HAVING departureMs >= ${sqlUInt(range.fromMs)} AND arrivalMs < ${sqlUInt(range.toMs)}
     ORDER BY siteId, arrivalMs`,
  );
  return raw.map((r) => ({
    siteId: String(r.siteId),
    sessionId: String(r.sessionId),
    evseId: String(r.evseId),
    arrivalMs: Number(r.arrivalMs),
    departureMs: Number(r.departureMs),
    requestedKwh: Number(r.requestedKwh),
    lastSeenMs: Number(r.lastSeenMs),
  }));
}

export interface PowerWindow extends TimeRange {
  siteId: string;
}

/**
 * Mean measured power per (site, meter, bucket) — EVSE meters and the site meter (evseId '') —
 * keyed `siteId\0evseId`, sorted by time. `windows` restricts the read to what a report needs.
 */
export async function queryPowerBuckets(
  client: ClickHouseClient,
  database: string,
  windows: readonly PowerWindow[],
  bucketMs: number,
): Promise<Map<string, TimedValue[]>> {
  const out = new Map<string, TimedValue[]>();
  if (windows.length === 0) return out;
  const db = assertIdentifier(database);
  const where = windowFilter(windows);
  const step = sqlUInt(bucketMs);
  const raw = await rows<{ siteId: string; evseId: string; tMs: string | number; meanKw: number }>(
    client,
    `SELECT siteId, evseId, intDiv(tsMs, ${step}) * ${step} AS tMs, avg(powerKw) AS meanKw
     FROM ${db}.meter_values
     WHERE (${where}) AND isFinite(powerKw)
     GROUP BY siteId, evseId, tMs
     ORDER BY siteId, evseId, tMs`,
  );
  for (const r of raw) {
    const key = evseKey(r.siteId, r.evseId);
    let list = out.get(key);
    if (!list) {
      list = [];
      out.set(key, list);
    }
    list.push({ tMs: Number(r.tMs), value: Number(r.meanKw) });
  }
  return out;
}

function windowFilter(windows: readonly PowerWindow[]): string {
  return windows
    .map(
      (w) =>
        `(siteId = ${sqlString(w.siteId)} AND tsMs >= ${sqlUInt(w.fromMs)} AND tsMs < ${sqlUInt(w.toMs)})`,
    )
    .join(' OR ');
}

function bySite(
  raw: Array<{ siteId: string; tMs: string | number; meanHz: number }>,
): Map<string, TimedValue[]> {
  const out = new Map<string, TimedValue[]>();
  for (const r of raw) {
    let list = out.get(r.siteId);
    if (!list) {
      list = [];
      out.set(r.siteId, list);
    }
    list.push({ tMs: Number(r.tMs), value: Number(r.meanHz) });
  }
  return out;
}

/** Mean grid frequency per (site, second) over all of a site's meters, within `windows`. */
export async function queryFrequencySeconds(
  client: ClickHouseClient,
  database: string,
  windows: readonly PowerWindow[],
): Promise<Map<string, TimedValue[]>> {
  if (windows.length === 0) return new Map();
  const db = assertIdentifier(database);
  const raw = await rows<{ siteId: string; tMs: string | number; meanHz: number }>(
    client,
    `SELECT siteId, intDiv(tsMs, 1000) * 1000 AS tMs, avg(hz) AS meanHz
     FROM ${db}.frequency
     WHERE (${windowFilter(windows)}) AND isFinite(hz)
     GROUP BY siteId, tMs
     ORDER BY siteId, tMs`,
  );
  return bySite(raw);
}

/**
 * Only the seconds whose mean frequency deviates more than `thresholdHz` from nominal: a day
 * at 20 Hz is 1.7 M rows per meter, but events are rare, so detection reads almost nothing.
 */
export async function queryFrequencyDeviationSeconds(
  client: ClickHouseClient,
  database: string,
  range: TimeRange,
  nominalHz: number,
  thresholdHz: number,
): Promise<Map<string, TimedValue[]>> {
  const db = assertIdentifier(database);
  if (!Number.isFinite(nominalHz) || !Number.isFinite(thresholdHz)) return new Map();
  const raw = await rows<{ siteId: string; tMs: string | number; meanHz: number }>(
    client,
    `SELECT siteId, tMs, meanHz FROM (
       SELECT siteId, intDiv(tsMs, 1000) * 1000 AS tMs, avg(hz) AS meanHz
       FROM ${db}.frequency
       WHERE tsMs >= ${sqlUInt(range.fromMs)} AND tsMs < ${sqlUInt(range.toMs)} AND isFinite(hz)
       GROUP BY siteId, tMs
     )
     WHERE abs(meanHz - ${nominalHz}) > ${thresholdHz}
     ORDER BY siteId, tMs`,
  );
  return bySite(raw);
}

/** Sites with frequency data in the range and how many seconds they cover. */
export async function queryFrequencyCoverage(
  client: ClickHouseClient,
  database: string,
  range: TimeRange,
): Promise<Array<{ siteId: string; seconds: number }>> {
  const db = assertIdentifier(database);
  const raw = await rows<{ siteId: string; coveredSeconds: string | number }>(
    client,
    `SELECT siteId, uniq(intDiv(tsMs, 1000)) AS coveredSeconds FROM ${db}.frequency
     WHERE tsMs >= ${sqlUInt(range.fromMs)} AND tsMs < ${sqlUInt(range.toMs)}
     GROUP BY siteId ORDER BY siteId`,
  );
  return raw.map((r) => ({ siteId: String(r.siteId), seconds: Number(r.coveredSeconds) }));
}

export interface PowerVariationRow {
  siteId: string;
  requestId: string;
  nodeId: string;
  mode: string;
  /** NaN when the request set no import limit. */
  importLimitKw: number;
  startMs: number;
  endMs: number;
  receivedMs: number;
}

/** DSO power variations whose window overlaps the range, from the `dso.power-variation` inputs. */
export async function queryPowerVariations(
  client: ClickHouseClient,
  database: string,
  range: TimeRange,
  lookbackMs = 7 * 86_400_000,
): Promise<PowerVariationRow[]> {
  const db = assertIdentifier(database);
  const raw = await rows<Record<string, string | number>>(
    client,
    `SELECT siteId, vRequestId AS requestId, any(vNodeId) AS nodeId, any(vMode) AS mode,
       any(vImportLimitKw) AS importLimitKw, max(vHasImport) AS hasImport,
       any(vStartMs) AS startMs, any(vEndMs) AS endMs, min(tsMs) AS receivedMs
     FROM (
       SELECT siteId, tsMs,
         visitParamExtractString(payload, 'variationId') AS vRequestId,
         visitParamExtractString(payload, 'nodeId') AS vNodeId,
         visitParamExtractString(payload, 'mode') AS vMode,
         visitParamExtractFloat(payload, 'importLimitKw') AS vImportLimitKw,
         position(payload, '"importLimitKw"') > 0 AS vHasImport,
         visitParamExtractUInt(payload, 'startMs') AS vStartMs,
         visitParamExtractUInt(payload, 'endMs') AS vEndMs
       FROM ${db}.inputs
       WHERE kind = 'powerVariation' AND tsMs >= ${sqlUInt(range.fromMs - lookbackMs)} AND tsMs < ${sqlUInt(range.toMs)}
     )
     WHERE vRequestId != ''
     GROUP BY siteId, vRequestId
     HAVING endMs > ${sqlUInt(range.fromMs)} AND startMs < ${sqlUInt(range.toMs)}
     ORDER BY siteId, startMs`,
  );
  return raw.map((r) => ({
    siteId: String(r.siteId),
    requestId: String(r.requestId),
    nodeId: String(r.nodeId),
    mode: String(r.mode) || 'absolute',
    importLimitKw: Number(r.hasImport) ? Number(r.importLimitKw) : Number.NaN,
    startMs: Number(r.startMs),
    endMs: Number(r.endMs),
    receivedMs: Number(r.receivedMs),
  }));
}

export interface AckRow {
  siteId: string;
  requestId: string;
  status: string;
  achievedKw: number;
  ackMs: number;
}

/** The first acknowledgement the engine sent for each request. */
export async function queryAcks(
  client: ClickHouseClient,
  database: string,
  range: TimeRange,
  lookbackMs = 7 * 86_400_000,
): Promise<AckRow[]> {
  const db = assertIdentifier(database);
  const raw = await rows<Record<string, string | number>>(
    client,
    `SELECT siteId, requestId, argMin(status, tsMs) AS ackStatus, argMin(achievedKw, tsMs) AS ackAchievedKw,
       min(tsMs) AS ackMs
     FROM ${db}.acks
     WHERE tsMs >= ${sqlUInt(range.fromMs - lookbackMs)} AND tsMs < ${sqlUInt(range.toMs)}
     GROUP BY siteId, requestId`,
  );
  return raw.map((r) => ({
    siteId: String(r.siteId),
    requestId: String(r.requestId),
    status: String(r.ackStatus),
    achievedKw: Number(r.ackAchievedKw),
    ackMs: Number(r.ackMs),
  }));
}

export interface SiteLimitRow {
  siteId: string;
  tsMs: number;
  siteLimitKw: number;
}

/** The import limit each decision planned against (the engine's effective limit, deltas applied). */
export async function queryDecisionLimits(
  client: ClickHouseClient,
  database: string,
  range: TimeRange,
): Promise<SiteLimitRow[]> {
  const db = assertIdentifier(database);
  const raw = await rows<Record<string, string | number>>(
    client,
    `SELECT siteId, tsMs, siteLimitKw FROM ${db}.decisions
     WHERE tsMs >= ${sqlUInt(range.fromMs)} AND tsMs < ${sqlUInt(range.toMs)}
     ORDER BY siteId, tsMs`,
  );
  return raw.map((r) => ({
    siteId: String(r.siteId),
    tsMs: Number(r.tsMs),
    siteLimitKw: Number(r.siteLimitKw),
  }));
}

export interface DecisionSummaryRow {
  siteId: string;
  solver: string;
  trigger: string;
  decisions: number;
  solveP50Ms: number;
  solveP99Ms: number;
  solveMaxMs: number;
  fallbacks: number;
  meanShortfallKwh: number;
}

export async function queryDecisionSummary(
  client: ClickHouseClient,
  database: string,
  range: TimeRange,
): Promise<DecisionSummaryRow[]> {
  const db = assertIdentifier(database);
  const raw = await rows<Record<string, string | number>>(
    client,
    `SELECT siteId, solver, trigger, count() AS decisionCount, quantile(0.5)(solveMs) AS solveP50Ms,
       quantile(0.99)(solveMs) AS solveP99Ms, max(solveMs) AS solveMaxMs, sum(fallback) AS fallbackCount,
       avg(shortfallKwh) AS meanShortfallKwh
     FROM ${db}.decisions
     WHERE tsMs >= ${sqlUInt(range.fromMs)} AND tsMs < ${sqlUInt(range.toMs)}
     GROUP BY siteId, solver, trigger
     ORDER BY siteId, solver, trigger`,
  );
  return raw.map((r) => ({
    siteId: String(r.siteId),
    solver: String(r.solver),
    trigger: String(r.trigger),
    decisions: Number(r.decisionCount),
    solveP50Ms: Number(r.solveP50Ms),
    solveP99Ms: Number(r.solveP99Ms),
    solveMaxMs: Number(r.solveMaxMs),
    fallbacks: Number(r.fallbackCount),
    meanShortfallKwh: Number(r.meanShortfallKwh),
  }));
}

export interface DeadLetterSummaryRow {
  errorCode: string;
  originalTopic: string;
  count: number;
}

export async function queryDeadLetterSummary(
  client: ClickHouseClient,
  database: string,
  range: TimeRange,
): Promise<DeadLetterSummaryRow[]> {
  const db = assertIdentifier(database);
  const raw = await rows<Record<string, string | number>>(
    client,
    `SELECT errorCode, originalTopic, count() AS letters FROM ${db}.deadletters
     WHERE tsMs >= ${sqlUInt(range.fromMs)} AND tsMs < ${sqlUInt(range.toMs)}
     GROUP BY errorCode, originalTopic
     ORDER BY letters DESC`,
  );
  return raw.map((r) => ({
    errorCode: String(r.errorCode),
    originalTopic: String(r.originalTopic),
    count: Number(r.letters),
  }));
}

/** Rows per telemetry table in the range (a first check that data arrived at all). */
export async function queryTableCounts(
  client: ClickHouseClient,
  database: string,
  tables: readonly string[],
  range: TimeRange,
): Promise<Array<{ table: string; rows: number }>> {
  const db = assertIdentifier(database);
  const selects = tables
    .map(
      (t) =>
        `SELECT ${sqlString(t)} AS tableName, count() AS tableRows FROM ${db}.${assertIdentifier(t)} WHERE tsMs >= ${sqlUInt(range.fromMs)} AND tsMs < ${sqlUInt(range.toMs)}`,
    )
    .join(' UNION ALL ');
  const raw = await rows<{ tableName: string; tableRows: string | number }>(client, selects);
  const byName = new Map(raw.map((r) => [r.tableName, Number(r.tableRows)]));
  return tables.map((table) => ({ table, rows: byName.get(table) ?? 0 }));
}
