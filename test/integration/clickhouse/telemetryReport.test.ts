import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClickHouseClient } from '@clickhouse/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClickHouseTelemetrySink } from '../../../src/adapters/clickhouse/clickHouseTelemetrySink';
import type { TelemetryReport } from '../../../src/adapters/clickhouse/loadTelemetryReport';
import { runReportCommand } from '../../../src/cli/reportCommand';
import type { TelemetryRow } from '../../../src/core/ports/telemetrySink';
import { aClient, aDatabaseName, testClickHouseUrl } from './clickhouseTestKit';

/*
 * A one-hour scenario whose answers are worked out by hand.
 *
 * site-a (no site meter: site power = sum of EVSE meters), meters every second:
 *   evse-1, session s1: arrives T0, departs T0+3600 s, asks 20 kWh. Draws 10 kW for 1800 s,
 *     except 4 kW in [1005 s, 1500 s) to obey dso-1. Delivered = (10·1005 + 4·495 + 10·300) kWs
 *     = 15 030 kWs = 4.175 kWh.
 *   evse-2, session s2: arrives T0+600 s, departs T0+2400 s, asks 8 kWh. Draws 8 kW while
 *     present, except 2 kW in [1952 s, 1960 s) (frequency response). Delivered =
 *     (8·1800 − 6·8) kWs = 14 352 kWs = 3.98667 kWh.
 *   dso-1: import limit 12 kW for [1000 s, 1500 s), received at 990 s. Site power is 18 kW until
 *     1005 s, then 4 + 8 = 12 kW → time to comply 5 s, compliant from then on.
 *   Frequency 50.00 Hz, except 49.80 Hz in [1950 s, 1960 s) (full activation with a 10 mHz
 *     deadband and 200 mHz full activation). Reserved up 6 kW → 6 kW required for 10 s.
 *     Baseline (10 s before) = 8 kW (evse-1 stopped at 1800 s). Delivered 0 kW for 2 s, then
 *     6 kW for 8 s → compliance 80 %, delivered/required = 48/60.
 * site-b (with a site meter, which wins over its EVSE meter):
 *   dso-2: delta −10 kW for [100 s, 400 s), received at 100 s; the engine planned against 20 kW.
 *     Site meter 30 kW until 130 s, then 19 kW → time to comply 30 s.
 */
const T0 = Date.UTC(2026, 0, 15, 10, 0, 0);
const S = 1000;

function evseState(
  siteId: string,
  evseId: string,
  sessionId: string,
  arrivalS: number,
  departureS: number,
  targetKwh: number,
  atS: number,
) {
  return JSON.stringify({
    messageId: `fs-${sessionId}-${atS}`,
    source: 'csms-1',
    siteId,
    tsMs: T0 + atS * S,
    schemaVersion: 1,
    kind: 'evseState',
    stationId: `cs-${evseId}`,
    evseId,
    status: 'occupied',
    session: {
      sessionId,
      arrivalMs: T0 + arrivalS * S,
      departureMs: T0 + departureS * S,
      energyTargetKwh: targetKwh,
      energyMinKwh: 0,
      energyMaxKwh: targetKwh,
      socPct: 30,
      batteryCapacityKwh: 60,
      maxChargeKw: 11,
    },
  });
}

function powerVariation(siteId: string, variationId: string, fields: Record<string, unknown>, atS: number) {
  return JSON.stringify({
    messageId: `pv-${variationId}`,
    source: 'dso-1',
    siteId,
    tsMs: T0 + atS * S,
    schemaVersion: 1,
    kind: 'powerVariation',
    variationId,
    nodeId: `${siteId}-root`,
    ...fields,
  });
}

function scenarioRows(): TelemetryRow[] {
  const rows: TelemetryRow[] = [];
  const input = (
    siteId: string,
    atS: number,
    topic: string,
    kind: string,
    payload: string,
  ): TelemetryRow => ({
    table: 'inputs',
    tsMs: T0 + atS * S,
    siteId,
    topic,
    kind,
    messageId: `${kind}-${atS}-${rows.length}`,
    source: 'test',
    payload,
  });
  rows.push(
    input('site-a', 0, 'fleet.state', 'evseState', evseState('site-a', 'evse-1', 's1', 0, 3600, 20, 0)),
  );
  rows.push(
    input('site-a', 600, 'fleet.state', 'evseState', evseState('site-a', 'evse-2', 's2', 600, 2400, 8, 600)),
  );
  // A later update with the remaining energy must not change what was requested.
  rows.push(
    input('site-a', 1800, 'fleet.state', 'evseState', evseState('site-a', 'evse-1', 's1', 0, 3600, 15, 1800)),
  );
  rows.push(
    input(
      'site-a',
      990,
      'dso.power-variation',
      'powerVariation',
      powerVariation(
        'site-a',
        'dso-1',
        { mode: 'absolute', importLimitKw: 12, startMs: T0 + 1000 * S, endMs: T0 + 1500 * S },
        990,
      ),
    ),
  );
  rows.push(
    input(
      'site-b',
      100,
      'dso.power-variation',
      'powerVariation',
      powerVariation(
        'site-b',
        'dso-2',
        { mode: 'delta', importLimitKw: -10, startMs: T0 + 100 * S, endMs: T0 + 400 * S },
        100,
      ),
    ),
  );
  rows.push({
    table: 'acks',
    tsMs: T0 + 991 * S,
    siteId: 'site-a',
    requestId: 'dso-1',
    requestTopic: 'dso.power-variation',
    status: 'accepted',
    requestedKw: 12,
    achievedKw: 12,
    reason: '',
  });
  rows.push({
    table: 'decisions',
    tsMs: T0 + 100 * S + 500,
    siteId: 'site-b',
    decisionId: 'd-b-1',
    trigger: 'dso',
    solver: 'fast',
    solveMs: 0.4,
    objective: 1,
    energyCost: 1,
    shortfallKwh: 0,
    sitePowerKw: 19,
    siteLimitKw: 20,
    fallback: 0,
  });
  rows.push({
    table: 'decisions',
    tsMs: T0 + 990 * S + 200,
    siteId: 'site-a',
    decisionId: 'd-a-1',
    trigger: 'dso',
    solver: 'fast',
    solveMs: 0.3,
    objective: 1,
    energyCost: 1,
    shortfallKwh: 0,
    sitePowerKw: 12,
    siteLimitKw: 12,
    fallback: 0,
  });

  for (let t = 0; t < 3600; t++) {
    const evse1Kw = t < 1800 ? (t >= 1005 && t < 1500 ? 4 : 10) : 0;
    const evse2Kw = t >= 600 && t < 2400 ? (t >= 1952 && t < 1960 ? 2 : 8) : 0;
    rows.push({
      table: 'meter_values',
      tsMs: T0 + t * S,
      siteId: 'site-a',
      evseId: 'evse-1',
      powerKw: evse1Kw,
    });
    rows.push({
      table: 'meter_values',
      tsMs: T0 + t * S,
      siteId: 'site-a',
      evseId: 'evse-2',
      powerKw: evse2Kw,
    });
  }
  for (let t = 1900; t < 2000; t++) {
    for (let k = 0; k < 5; k++) {
      const hz = t >= 1950 && t < 1960 ? 49.8 : 50;
      rows.push({ table: 'frequency', tsMs: T0 + t * S + k * 200, siteId: 'site-a', meterId: 'pmu-1', hz });
    }
  }
  for (let t = 0; t < 600; t++) {
    rows.push({
      table: 'meter_values',
      tsMs: T0 + t * S,
      siteId: 'site-b',
      evseId: '',
      powerKw: t < 130 ? 30 : 19,
    });
    rows.push({ table: 'meter_values', tsMs: T0 + t * S, siteId: 'site-b', evseId: 'evse-9', powerKw: 1 });
  }
  rows.push({
    table: 'deadletters',
    tsMs: T0 + 5 * S,
    siteId: 'site-a',
    errorCode: 'EVFLEX_SCHEMA_INVALID',
    reason: 'bad',
    originalTopic: 'fleet.meter',
    originalOffset: '7',
    raw: '{}',
  });
  return rows;
}

describe('ClickHouse proof-of-delivery report (known answers)', () => {
  const database = aDatabaseName('evflex_report');
  const outDir = mkdtempSync(join(tmpdir(), 'evflex-ch-report-'));
  let client: ClickHouseClient;
  let report: TelemetryReport;
  let html: string;

  beforeAll(async () => {
    client = aClient();
    const sink = createClickHouseTelemetrySink({ url: testClickHouseUrl(), database, log: () => {} });
    for (const row of scenarioRows()) sink.record(row);
    await sink.close();
    expect(sink.stats().rowsDropped).toBe(0);
    const result = await runReportCommand({
      clickhouseUrl: testClickHouseUrl(),
      database,
      fromMs: T0,
      toMs: T0 + 3600 * S,
      out: outDir,
      frequency: { reservedUpKw: 6, reservedDownKw: 6 },
    });
    report = result.report;
    html = readFileSync(result.htmlPath, 'utf8');
  });

  afterAll(async () => {
    await client.command({ query: `DROP DATABASE IF EXISTS ${database}` });
    await client.close();
    rmSync(outDir, { recursive: true, force: true });
  });

  it('reports energy requested vs delivered per session', () => {
    const bySession = new Map(report.sessions.map((s) => [s.sessionId, s]));
    expect([...bySession.keys()].sort()).toEqual(['s1', 's2']);
    expect(bySession.get('s1')).toMatchObject({ siteId: 'site-a', evseId: 'evse-1', requestedKwh: 20 });
    expect(bySession.get('s1')!.deliveredKwh).toBeCloseTo(4.175, 6);
    expect(bySession.get('s1')!.shortfallKwh).toBeCloseTo(15.825, 6);
    expect(bySession.get('s2')).toMatchObject({ evseId: 'evse-2', requestedKwh: 8 });
    expect(bySession.get('s2')!.deliveredKwh).toBeCloseTo(14_352 / 3600, 6);
    expect(bySession.get('s2')!.fulfilment).toBeCloseTo(14_352 / 3600 / 8, 6);
  });

  it('reports each DSO limit against measured site power with the time to comply', () => {
    const byId = new Map(report.dsoRequests.map((r) => [r.requestId, r]));
    const dso1 = byId.get('dso-1')!;
    expect(dso1).toMatchObject({
      siteId: 'site-a',
      limitKw: 12,
      limitSource: 'request',
      timeToComplyS: 5,
      ackStatus: 'accepted',
      ackAchievedKw: 12,
    });
    expect(dso1.compliantShare).toBe(1);
    expect(dso1.maxPowerKw).toBe(18);
    expect(dso1.maxExceedanceAfterComplyKw).toBe(0);

    const dso2 = byId.get('dso-2')!;
    // A delta: the limit comes from the engine's decision; the site meter wins over the EVSE meter.
    expect(dso2).toMatchObject({
      siteId: 'site-b',
      limitKw: 20,
      limitSource: 'decision',
      timeToComplyS: 30,
      ackStatus: 'none',
    });
    expect(dso2.maxPowerKw).toBe(30);
    expect(dso2.compliantShare).toBe(1);
  });

  it('reports each frequency event with required vs delivered response at 1 s', () => {
    expect(report.frequencyEvents).toHaveLength(1);
    const event = report.frequencyEvents[0];
    expect(event).toMatchObject({
      siteId: 'site-a',
      startMs: T0 + 1950 * S,
      endMs: T0 + 1960 * S,
      durationS: 10,
      direction: 'under',
      baselineKw: 8,
    });
    expect(event.minHz).toBeCloseTo(49.8, 9);
    expect(event.requiredKws).toBeCloseTo(60, 9);
    expect(event.deliveredKws).toBeCloseTo(48, 9);
    expect(event.deliveredRatio).toBeCloseTo(0.8, 9);
    expect(event.compliancePct).toBeCloseTo(80, 9);
    expect(event.seconds.map((s) => s.deliveredKw)).toEqual([0, 0, 6, 6, 6, 6, 6, 6, 6, 6]);
    expect(event.seconds.every((s) => Math.abs(s.requiredKw - 6) < 1e-9)).toBe(true);
  });

  it('summarises decisions, dead letters and row counts', () => {
    expect(report.decisions.map((d) => d.siteId).sort()).toEqual(['site-a', 'site-b']);
    expect(report.deadLetters).toEqual([
      { errorCode: 'EVFLEX_SCHEMA_INVALID', originalTopic: 'fleet.meter', count: 1 },
    ]);
    const counts = new Map(report.tableCounts.map((c) => [c.table, c.rows]));
    expect(counts.get('meter_values')).toBe(3600 * 2 + 600 * 2);
    expect(counts.get('frequency')).toBe(500);
  });

  it('writes a self-contained HTML report with the figures and plots', () => {
    expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
    expect(html).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org)/);
    for (const text of ['s1', '20.00', '3.99', 'dso-1', 'dso-2', '80.0 %']) expect(html).toContain(text);
    expect((html.match(/<svg /g) ?? []).length).toBeGreaterThanOrEqual(4);
  });
});
