import type { ClickHouseClient } from '@clickhouse/client';
import { type DsoCompliance, evaluateDsoCompliance } from './evaluateDsoCompliance';
import {
  DEFAULT_FREQUENCY_RESPONSE_PARAMS,
  detectFrequencyEventRuns,
  evaluateFrequencyResponse,
  type FrequencyEvent,
  type FrequencyResponseParams,
} from './evaluateFrequencyResponse';
import { evaluateSessionEnergy, type SessionEnergy } from './evaluateSessionEnergy';
import { holdSeries, type TimedValue } from './holdSeries';
import { sitePowerSeries } from './sitePowerSeries';
import {
  type DeadLetterSummaryRow,
  type DecisionSummaryRow,
  type PowerWindow,
  queryAcks,
  queryDeadLetterSummary,
  queryDecisionLimits,
  queryDecisionSummary,
  queryFrequencyCoverage,
  queryFrequencyDeviationSeconds,
  queryFrequencySeconds,
  queryPowerBuckets,
  queryPowerVariations,
  querySessions,
  queryTableCounts,
} from './telemetryQueries';
import { TELEMETRY_TABLE_NAMES } from './telemetryTables';

export interface TelemetryReportOptions {
  fromMs: number;
  toMs: number;
  database?: string;
  frequency?: Partial<FrequencyResponseParams>;
  /** Resolution of the session energy integration. */
  energyBucketMs?: number;
  /** How long a meter reading stands for the EVSE's power when no newer one came. */
  meterHoldMs?: number;
  /** Seconds of site power shown before each DSO window. */
  dsoLeadS?: number;
}

export interface DsoRequestReport extends DsoCompliance {
  /** Measured site power per second from `seriesFromMs`, for plotting (NaN unknown). */
  seriesFromMs: number;
  sitePowerKw: number[];
  limitSource: 'request' | 'decision' | 'unknown';
}

export interface TelemetryReport {
  fromMs: number;
  toMs: number;
  database: string;
  tableCounts: Array<{ table: string; rows: number }>;
  sessions: SessionEnergy[];
  dsoRequests: DsoRequestReport[];
  frequencyParams: FrequencyResponseParams;
  frequencyEvents: FrequencyEvent[];
  /** Sites with frequency data, and the seconds they cover (to tell "no events" from "no data"). */
  frequencySites: Array<{ siteId: string; seconds: number }>;
  decisions: DecisionSummaryRow[];
  deadLetters: DeadLetterSummaryRow[];
}

const SECOND_MS = 1000;

function metersOfSite(
  byKey: ReadonlyMap<string, readonly TimedValue[]>,
  siteId: string,
): Map<string, TimedValue[]> {
  const prefix = `${siteId}\u0000`;
  const out = new Map<string, TimedValue[]>();
  for (const [key, samples] of byKey)
    if (key.startsWith(prefix)) out.set(key.slice(prefix.length), [...samples]);
  return out;
}

/** Merges overlapping windows per site so the power read covers each second once. */
function mergeWindows(windows: PowerWindow[]): PowerWindow[] {
  const sorted = [...windows].sort((a, b) => a.siteId.localeCompare(b.siteId) || a.fromMs - b.fromMs);
  const out: PowerWindow[] = [];
  for (const w of sorted) {
    const last = out[out.length - 1];
    if (last && last.siteId === w.siteId && w.fromMs <= last.toMs) last.toMs = Math.max(last.toMs, w.toMs);
    else out.push({ ...w });
  }
  return out;
}

/**
 * Reads everything the ClickHouse report shows for [fromMs, toMs): per session energy
 * requested vs delivered, per DSO request the limit vs measured site power and the time to
 * comply, per frequency event the required vs delivered response at 1 s resolution.
 */
export async function loadTelemetryReport(
  client: ClickHouseClient,
  opts: TelemetryReportOptions,
): Promise<TelemetryReport> {
  const database = opts.database ?? 'evflex';
  const range = { fromMs: opts.fromMs, toMs: opts.toMs };
  const energyBucketMs = opts.energyBucketMs ?? 10_000;
  const meterHoldMs = opts.meterHoldMs ?? 60_000;
  const dsoLeadMs = (opts.dsoLeadS ?? 60) * SECOND_MS;
  const frequencyParams = { ...DEFAULT_FREQUENCY_RESPONSE_PARAMS, ...opts.frequency };

  const [
    tableCounts,
    sessions,
    variations,
    acks,
    limits,
    decisions,
    deadLetters,
    deviations,
    frequencySites,
  ] = await Promise.all([
    queryTableCounts(client, database, TELEMETRY_TABLE_NAMES, range),
    querySessions(client, database, range),
    queryPowerVariations(client, database, range),
    queryAcks(client, database, range),
    queryDecisionLimits(client, database, range),
    queryDecisionSummary(client, database, range),
    queryDeadLetterSummary(client, database, range),
    queryFrequencyDeviationSeconds(
      client,
      database,
      range,
      frequencyParams.nominalHz,
      frequencyParams.eventThresholdHz,
    ),
    queryFrequencyCoverage(client, database, range),
  ]);

  // Session energy at a coarse resolution: sessions last hours.
  const energyWindows = mergeWindows(
    sessions.map((s) => ({
      siteId: s.siteId,
      fromMs: Math.max(s.arrivalMs, range.fromMs),
      toMs: Math.min(s.departureMs, range.toMs),
    })),
  );
  const energyPower = await queryPowerBuckets(client, database, energyWindows, energyBucketMs);
  const sessionEnergy = evaluateSessionEnergy(sessions, energyPower, {
    stepMs: energyBucketMs,
    maxHoldMs: meterHoldMs,
    rangeFromMs: range.fromMs,
    rangeToMs: range.toMs,
  });

  // Per-second site power only where a DSO window or a frequency event needs it.
  const gridFromMs = Math.floor(range.fromMs / SECOND_MS) * SECOND_MS;
  const hzBySite = new Map<string, Float64Array>();
  const secondWindows: PowerWindow[] = [];
  const frequencyWindows: PowerWindow[] = [];
  const runsBySite = new Map<string, Array<[number, number]>>();
  // Events are found from the deviating seconds alone; full 1 s frequency is read only around them.
  for (const [siteId, samples] of deviations) {
    const sparseHz = holdSeries(samples, gridFromMs, range.toMs, SECOND_MS, 0);
    const runs = detectFrequencyEventRuns(sparseHz, frequencyParams);
    if (runs.length === 0) continue;
    runsBySite.set(siteId, runs);
    for (const [start, end] of runs) {
      const fromMs =
        gridFromMs + (start - frequencyParams.baselineS - frequencyParams.responseDelayS) * SECOND_MS;
      frequencyWindows.push({ siteId, fromMs, toMs: gridFromMs + end * SECOND_MS });
      secondWindows.push({ siteId, fromMs: fromMs - meterHoldMs, toMs: gridFromMs + end * SECOND_MS });
    }
  }
  const frequency = await queryFrequencySeconds(client, database, mergeWindows(frequencyWindows));
  for (const [siteId, samples] of frequency) {
    hzBySite.set(siteId, holdSeries(samples, gridFromMs, range.toMs, SECOND_MS, 0));
  }
  for (const v of variations) {
    secondWindows.push({
      siteId: v.siteId,
      fromMs: Math.max(range.fromMs, Math.max(v.startMs, v.receivedMs) - dsoLeadMs) - meterHoldMs,
      toMs: Math.min(range.toMs, v.endMs),
    });
  }
  const secondPower = await queryPowerBuckets(client, database, mergeWindows(secondWindows), SECOND_MS);
  const sitePowerCache = new Map<string, Float64Array>();
  const sitePower = (siteId: string) => {
    let series = sitePowerCache.get(siteId);
    if (!series) {
      series = sitePowerSeries(
        metersOfSite(secondPower, siteId),
        gridFromMs,
        range.toMs,
        SECOND_MS,
        meterHoldMs,
      );
      sitePowerCache.set(siteId, series);
    }
    return series;
  };

  const frequencyEvents: FrequencyEvent[] = [];
  for (const [siteId, hz] of hzBySite) {
    if ((runsBySite.get(siteId) ?? []).length === 0) continue;
    frequencyEvents.push(
      ...evaluateFrequencyResponse(siteId, hz, sitePower(siteId), gridFromMs, frequencyParams),
    );
  }

  const ackByRequest = new Map(acks.map((a) => [`${a.siteId}\u0000${a.requestId}`, a]));
  const dsoRequests: DsoRequestReport[] = variations.map((v) => {
    const ack = ackByRequest.get(`${v.siteId}\u0000${v.requestId}`);
    const effectiveStartMs = Math.max(v.startMs, v.receivedMs);
    let limitKw = v.mode === 'absolute' ? v.importLimitKw : Number.NaN;
    let limitSource: DsoRequestReport['limitSource'] = Number.isFinite(limitKw) ? 'request' : 'unknown';
    if (!Number.isFinite(limitKw)) {
      // Deltas are relative to a static limit the report doesn't know: take the engine's own.
      const planned = limits.filter(
        (l) => l.siteId === v.siteId && l.tsMs >= effectiveStartMs && l.tsMs < v.endMs,
      );
      if (planned.length > 0) {
        limitKw = Math.min(...planned.map((l) => l.siteLimitKw));
        limitSource = 'decision';
      }
    }
    const series = sitePower(v.siteId);
    const compliance = evaluateDsoCompliance(
      {
        siteId: v.siteId,
        requestId: v.requestId,
        nodeId: v.nodeId,
        limitKw,
        startMs: v.startMs,
        endMs: Math.min(v.endMs, range.toMs),
        receivedMs: v.receivedMs,
        ackStatus: ack?.status ?? 'none',
        ackAchievedKw: ack?.achievedKw ?? Number.NaN,
        ackMs: ack?.ackMs ?? Number.NaN,
      },
      series,
      gridFromMs,
    );
    const plotFrom = Math.max(0, Math.floor((effectiveStartMs - dsoLeadMs - gridFromMs) / SECOND_MS));
    const plotTo = Math.min(
      series.length,
      Math.ceil((Math.min(v.endMs, range.toMs) - gridFromMs) / SECOND_MS),
    );
    return {
      ...compliance,
      endMs: v.endMs,
      limitSource,
      seriesFromMs: gridFromMs + plotFrom * SECOND_MS,
      sitePowerKw: Array.from(series.subarray(plotFrom, Math.max(plotFrom, plotTo))),
    };
  });

  return {
    fromMs: range.fromMs,
    toMs: range.toMs,
    database,
    tableCounts,
    sessions: sessionEnergy,
    dsoRequests,
    frequencyParams,
    frequencyEvents,
    frequencySites,
    decisions,
    deadLetters,
  };
}
