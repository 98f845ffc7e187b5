import type { ClickHouseClient } from '@clickhouse/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClickHouseTelemetrySink } from '../../../src/adapters/clickhouse/clickHouseTelemetrySink';
import {
  loadTelemetryReport,
  type TelemetryReport,
} from '../../../src/adapters/clickhouse/loadTelemetryReport';
import { MemoryBus } from '../../../src/adapters/memory/memoryBus';
import { parseConfig } from '../../../src/config/loadConfig';
import { createEngine } from '../../../src/core/engine';
import { placeholderPlanner } from '../../../src/core/placeholderPlanner';
import { VirtualClock } from '../../../src/core/virtualClock';
import {
  anEv,
  anEvArrival,
  aPowerVariation,
  aSite,
  aTopologyMessage,
  header,
  T0,
} from '../../support/builders';
import { aClient, aDatabaseName, countRows, testClickHouseUrl } from './clickhouseTestKit';

/*
 * The engine's own rows, not hand-made ones: the report must read what the engine records.
 * One EV charges at 11 kW (meter every 10 s); a DSO limit of 5 kW from 300 s is met at 310 s;
 * a 10 s under-frequency dip at 400 s. Delivered = 11·310 + 5·290 kWs = 1.35 kWh of 30 asked.
 */
const SITE = 'site-ch';
const S = 1000;

describe('engine → ClickHouse → report', () => {
  const database = aDatabaseName('evflex_engine');
  let client: ClickHouseClient;
  let report: TelemetryReport;
  let variationId: string;

  beforeAll(async () => {
    client = aClient();
    const config = parseConfig({});
    const clock = new VirtualClock(T0);
    const bus = new MemoryBus(clock);
    const sink = createClickHouseTelemetrySink({ url: testClickHouseUrl(), database, log: () => {} });
    const engine = createEngine({
      config,
      clock,
      bus,
      planner: placeholderPlanner,
      telemetry: sink,
      log: () => {},
    });
    await engine.start();
    const send = (topic: Parameters<MemoryBus['produce']>[0], message: { siteId: string }) =>
      bus.produce(topic, message.siteId, JSON.stringify(message));

    const site = aSite({ siteId: SITE, siteLimitKw: 80, zones: [{ limitKw: 80, stations: 2 }] });
    send('fleet.state', aTopologyMessage(site, T0));
    send(
      'fleet.state',
      anEvArrival(SITE, 'z1-s1-e1', anEv({ sessionId: 'sess-ch', energyTargetKwh: 30 }), T0),
    );
    await bus.deliver();

    const variation = aPowerVariation(
      SITE,
      { importLimitKw: 5, startMs: T0 + 300 * S, endMs: T0 + 600 * S },
      T0 + 300 * S,
    );
    variationId = variation.variationId;
    for (let t = 0; t < 600; t += 10) {
      clock.advanceTo(T0 + t * S);
      if (t === 300) send('dso.power-variation', variation);
      const powerKw = t < 310 ? 11 : 5;
      send('fleet.meter', {
        ...header(SITE, T0 + t * S),
        kind: 'meterValues',
        sitePowerKw: powerKw,
        evses: [{ evseId: 'z1-s1-e1', powerKw }],
      } as { siteId: string });
      for (let k = 0; k < 10; k++) {
        const hz = t >= 400 && t < 410 ? 49.8 : 50;
        send('grid.frequency', {
          ...header(SITE, T0 + (t + k) * S, 'pmu-1'),
          kind: 'frequency',
          meterId: 'pmu-1',
          hz,
          accuracyMilliHz: 1,
        } as { siteId: string });
      }
      await bus.deliver();
      await engine.tick();
    }
    await sink.close();
    expect(sink.stats()).toMatchObject({ rowsDropped: 0, rowsBuffered: 0 });
    report = await loadTelemetryReport(client, {
      database,
      fromMs: T0,
      toMs: T0 + 600 * S,
      frequency: { reservedUpKw: 6, reservedDownKw: 6 },
    });
  });

  afterAll(async () => {
    await client.command({ query: `DROP DATABASE IF EXISTS ${database}` });
    await client.close();
  });

  it('records inputs, decisions, setpoints and acks from the engine', async () => {
    for (const table of ['inputs', 'meter_values', 'frequency', 'decisions', 'setpoints', 'acks']) {
      expect(await countRows(client, `${database}.${table}`), table).toBeGreaterThan(0);
    }
  });

  it('reads the session, the DSO request with its ack, and the frequency event back', () => {
    const session = report.sessions.find((s) => s.sessionId === 'sess-ch');
    expect(session).toMatchObject({ siteId: SITE, evseId: 'z1-s1-e1', requestedKwh: 30 });
    expect(session!.deliveredKwh).toBeCloseTo((11 * 310 + 5 * 290) / 3600, 6);

    const dso = report.dsoRequests.find((r) => r.requestId === variationId);
    expect(dso).toMatchObject({
      siteId: SITE,
      limitKw: 5,
      limitSource: 'request',
      timeToComplyS: 10,
      ackStatus: 'accepted',
    });
    expect(dso!.compliantShare).toBe(1);

    expect(report.frequencyEvents).toHaveLength(1);
    expect(report.frequencyEvents[0]).toMatchObject({
      siteId: SITE,
      startMs: T0 + 400 * S,
      durationS: 10,
      direction: 'under',
    });
    expect(report.decisions.length).toBeGreaterThan(0);
  });
});
