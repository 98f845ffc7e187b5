import { type ClickHouseClient, createClient } from '@clickhouse/client';
import { inject } from 'vitest';
import type { TelemetryRow } from '../../../src/core/ports/telemetrySink';

/** The server globalSetup started (or one given by EVFLEX_TEST_CLICKHOUSE_URL). */
export function testClickHouseUrl(): string {
  const url = process.env.EVFLEX_TEST_CLICKHOUSE_URL ?? inject('clickhouseUrl');
  if (!url) throw new Error('no ClickHouse url: run under the integration project (globalSetup)');
  return url;
}

let counter = 0;
/** A database name no other test uses, so tests never see each other's rows. */
export function aDatabaseName(prefix: string): string {
  counter++;
  return `${prefix}_${process.pid}_${Date.now().toString(36)}_${counter}`;
}

export function aClient(url = testClickHouseUrl()): ClickHouseClient {
  return createClient({ url });
}

export async function selectRows<T>(client: ClickHouseClient, query: string): Promise<T[]> {
  const result = await client.query({ query, format: 'JSONEachRow' });
  return result.json<T>();
}

export async function countRows(client: ClickHouseClient, table: string): Promise<number> {
  const rows = await selectRows<{ n: string }>(client, `SELECT count() AS n FROM ${table}`);
  return Number(rows[0].n);
}

export async function waitFor(
  condition: () => boolean | Promise<boolean>,
  timeoutMs = 30_000,
  what = 'condition',
) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** A meter row with its own tsMs (T0 + i), so the server can tell a duplicate from a distinct row. */
export function aMeterRow(t0Ms: number, i: number): TelemetryRow {
  return {
    table: 'meter_values',
    tsMs: t0Ms + i,
    siteId: 'site-1',
    evseId: `evse-${i % 10}`,
    powerKw: i % 22,
  };
}
