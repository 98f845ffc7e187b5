import type { ClickHouseClient } from '@clickhouse/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClickHouseTelemetrySink } from '../../../src/adapters/clickhouse/clickHouseTelemetrySink';
import { migrateTelemetrySchema } from '../../../src/adapters/clickhouse/migrateTelemetrySchema';
import { TELEMETRY_MIGRATIONS } from '../../../src/adapters/clickhouse/telemetryMigrations';
import { TELEMETRY_TABLE_NAMES, TELEMETRY_TABLES } from '../../../src/adapters/clickhouse/telemetryTables';
import type { TelemetryRow, TelemetryTable } from '../../../src/core/ports/telemetrySink';
import { aClient, aDatabaseName, selectRows, testClickHouseUrl } from './clickhouseTestKit';

const T0 = Date.UTC(2026, 2, 1, 12, 0, 0, 123);
// Strings a naive encoder gets wrong: separators, escapes, multi-byte and long payloads.
const TRICKY = 'tab\there\nnewline \\ backslash \'quote" ünïcödé ⚡ 🚗';
const LONG_PAYLOAD = JSON.stringify({
  kind: 'meterValues',
  evses: Array.from({ length: 300 }, (_, i) => ({ evseId: `e${i}`, powerKw: i / 3 })),
});

/** Two rows per table: ordinary values, then edge values. */
const ROWS: Record<TelemetryTable, TelemetryRow[]> = {
  inputs: [
    {
      table: 'inputs',
      tsMs: T0,
      siteId: 'site-1',
      topic: 'fleet.meter',
      kind: 'meterValues',
      messageId: 'm-1',
      source: 'csms-1',
      payload: LONG_PAYLOAD,
    },
    {
      table: 'inputs',
      tsMs: T0 + 1,
      siteId: TRICKY,
      topic: 'dso.power-variation',
      kind: 'powerVariation',
      messageId: 'm-2',
      source: 'dso',
      payload: TRICKY,
    },
  ],
  meter_values: [
    { table: 'meter_values', tsMs: T0, siteId: 'site-1', evseId: 'evse-1', powerKw: 7.4 },
    { table: 'meter_values', tsMs: T0 + 1, siteId: 'site-1', evseId: '', powerKw: -11.000000000000002 },
  ],
  frequency: [
    { table: 'frequency', tsMs: T0, siteId: 'site-1', meterId: 'pmu-1', hz: 49.987 },
    { table: 'frequency', tsMs: T0 + 50, siteId: 'site-1', meterId: 'pmu-1', hz: 50.2 },
  ],
  decisions: [
    {
      table: 'decisions',
      tsMs: T0,
      siteId: 'site-1',
      decisionId: 'd-1',
      trigger: 'arrival',
      solver: 'fast',
      solveMs: 0.25,
      objective: 12.5,
      energyCost: 3.25,
      shortfallKwh: 0,
      sitePowerKw: 80,
      siteLimitKw: 100,
      fallback: 0,
    },
    {
      table: 'decisions',
      tsMs: T0 + 1,
      siteId: 'site-1',
      decisionId: 'd-2',
      trigger: 'dso',
      solver: 'safe',
      solveMs: 1e-6,
      objective: -1e9,
      energyCost: 0,
      shortfallKwh: 1.5,
      sitePowerKw: 0,
      siteLimitKw: 4.2,
      fallback: 1,
    },
  ],
  setpoints: [
    {
      table: 'setpoints',
      tsMs: T0,
      siteId: 'site-1',
      stationId: 'cs-1',
      evseId: 'evse-1',
      sessionId: 's-1',
      version: 1,
      limitKw: 11,
      setpointKw: 7.4,
      validFromMs: T0,
      validToMs: T0 + 300_000,
    },
    {
      table: 'setpoints',
      tsMs: T0 + 1,
      siteId: 'site-1',
      stationId: 'cs-1',
      evseId: 'evse-2',
      sessionId: '',
      version: 4_000_000_000,
      limitKw: 0,
      setpointKw: -7.4,
      validFromMs: T0,
      validToMs: 2 ** 53 - 1,
    },
  ],
  acks: [
    {
      table: 'acks',
      tsMs: T0,
      siteId: 'site-1',
      requestId: 'dso-1',
      requestTopic: 'dso.power-variation',
      status: 'accepted',
      requestedKw: 50,
      achievedKw: 50,
      reason: '',
    },
    {
      table: 'acks',
      tsMs: T0 + 1,
      siteId: 'site-1',
      requestId: 'dso-2',
      requestTopic: 'dso.power-variation',
      status: 'partial',
      requestedKw: 10,
      achievedKw: 16.8,
      reason: TRICKY,
    },
  ],
  deadletters: [
    {
      table: 'deadletters',
      tsMs: T0,
      siteId: 'site-1',
      errorCode: 'EVFLEX_SCHEMA_INVALID',
      reason: 'hz: too small',
      originalTopic: 'grid.frequency',
      originalOffset: '42',
      raw: '{"hz":1}',
    },
    {
      table: 'deadletters',
      tsMs: T0 + 1,
      siteId: '',
      errorCode: 'EVFLEX_MALFORMED_JSON',
      reason: TRICKY,
      originalTopic: 'fleet.state',
      originalOffset: '18446744073709551615',
      raw: '\u0000{not json',
    },
  ],
};

describe('ClickHouse telemetry sink round trip (real server)', () => {
  const database = aDatabaseName('evflex_rt');
  let client: ClickHouseClient;

  beforeAll(() => {
    client = aClient();
  });
  afterAll(async () => {
    await client.command({ query: `DROP DATABASE IF EXISTS ${database}` });
    await client.close();
  });

  it('writes every table and reads back exactly what was recorded', async () => {
    const sink = createClickHouseTelemetrySink({ url: testClickHouseUrl(), database, log: () => {} });
    await sink.ready();
    for (const table of TELEMETRY_TABLE_NAMES) for (const row of ROWS[table]) sink.record(row);
    await sink.flush();
    const stats = sink.stats();
    const total = TELEMETRY_TABLE_NAMES.length * 2;
    expect(stats).toMatchObject({
      rowsAccepted: total,
      rowsWritten: total,
      rowsDropped: 0,
      rowsBuffered: 0,
      insertErrors: 0,
    });

    for (const table of TELEMETRY_TABLE_NAMES) {
      const columns = TELEMETRY_TABLES[table].map((c) => c.name);
      const back = await selectRows<Record<string, unknown>>(
        client,
        `SELECT ${columns.join(', ')} FROM ${database}.${table} ORDER BY tsMs`,
      );
      // UInt64 comes back as a decimal string in JSON; compare as numbers.
      const normalized = back.map((r) =>
        Object.fromEntries(
          TELEMETRY_TABLES[table].map((c) => [
            c.name,
            c.kind === 'ms' || c.kind === 'uint' ? Number(r[c.name]) : r[c.name],
          ]),
        ),
      );
      const expected = ROWS[table].map((row) => {
        const { table: _t, ...fields } = row;
        return fields;
      });
      expect(normalized, table).toEqual(expected);
    }
    await sink.close();
  });

  it('records the applied migrations and applies each version once', async () => {
    const again = await migrateTelemetrySchema(client, database);
    expect(again).toEqual([]);
    const versions = await selectRows<{ version: number }>(
      client,
      `SELECT version FROM ${database}.schema_migrations ORDER BY version`,
    );
    expect(versions.map((v) => Number(v.version))).toEqual(TELEMETRY_MIGRATIONS.map((m) => m.version));
  });
});
