import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type ClickHouseServer, startClickHouse } from '../../../infra/clickhouse/clickhouseServer';
import {
  type ClickHouseTelemetrySink,
  createClickHouseTelemetrySink,
} from '../../../src/adapters/clickhouse/clickHouseTelemetrySink';
import { aClient, aMeterRow, selectRows, waitFor } from './clickhouseTestKit';

const T0 = Date.UTC(2026, 2, 3, 8, 0, 0);
const meterRow = (i: number) => aMeterRow(T0, i);

/** Rows the spill files on disk hold, read from their names (`<seq>-<table>-<rows>.rowbinary`). */
const rowsInSpillFiles = (dir: string) =>
  readdirSync(dir)
    .filter((f) => f.endsWith('.rowbinary'))
    .reduce((n, f) => n + Number(f.split('-')[2].split('.')[0]), 0);

describe('ClickHouse telemetry sink spilling to disk across a server stop and start', () => {
  // A private server: these tests stop it, which must not disturb the shared one.
  const dataDir = mkdtempSync(join(tmpdir(), 'evflex-ch-spill-'));
  const spillRoot = mkdtempSync(join(tmpdir(), 'evflex-spill-'));
  let server: ClickHouseServer | undefined;
  let httpPort = 0;

  afterAll(async () => {
    await server?.stop({ kill: true });
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(spillRoot, { recursive: true, force: true });
  });

  const aSink = (database: string, spillDir: string, logs: string[], maxSpillBytes?: number) =>
    createClickHouseTelemetrySink({
      url: server!.url,
      database,
      maxBufferedRows: 5_000,
      batchRows: 2_000,
      spillDir,
      maxSpillBytes,
      retryMinMs: 50,
      retryMaxMs: 200,
      requestTimeoutMs: 5_000,
      log: (level, message) => logs.push(`${level} ${message}`),
    });

  const restart = async (sink: ClickHouseTelemetrySink) => {
    server = await startClickHouse({ dataDir, httpPort });
    await waitFor(
      () => sink.stats().rowsBuffered === 0 && sink.stats().spillRows === 0,
      60_000,
      'memory and spill to drain',
    );
    await sink.flush();
  };

  const serverCounts = async (table: string) => {
    const client = aClient(server!.url);
    const [row] = await selectRows<{ n: string; distinct: string; lo: string; hi: string }>(
      client,
      `SELECT count() AS n, uniqExact(tsMs) AS distinct, min(tsMs) AS lo, max(tsMs) AS hi FROM ${table}`,
    );
    await client.close();
    return { n: Number(row.n), distinct: Number(row.distinct), lo: Number(row.lo), hi: Number(row.hi) };
  };

  it('spills rows past the memory bound while the server is down and inserts every one exactly once when it returns', async () => {
    server = await startClickHouse({ dataDir });
    httpPort = Number(new URL(server.url).port);
    const spillDir = join(spillRoot, 'a');
    const logs: string[] = [];
    const sink = aSink('evflex_spill', spillDir, logs);
    await sink.ready();
    for (let i = 0; i < 1_000; i++) sink.record(meterRow(i));
    await sink.flush();
    expect(sink.stats()).toMatchObject({ rowsWritten: 1_000, rowsSpilled: 0 });

    await server.stop({ kill: true });
    const total = 21_000;
    for (let i = 1_000; i < total; i++) sink.record(meterRow(i));
    const during = sink.stats();
    expect(during).toMatchObject({ rowsAccepted: total, rowsDropped: 0, rowsWritten: 1_000 });
    expect(during.rowsBuffered).toBeLessThanOrEqual(5_000);
    expect(during.rowsSpilled).toBeGreaterThanOrEqual(total - 1_000 - 5_000);
    expect(during.rowsBuffered + during.spillRows).toBe(total - 1_000);
    expect(logs.some((l) => l.startsWith('warn EVFLEX_TELEMETRY_UNAVAILABLE') && l.includes('spilled'))).toBe(
      true,
    );
    // The spill files on disk hold exactly the rows the stats count as spilled.
    await waitFor(() => rowsInSpillFiles(spillDir) === during.spillRows, 10_000, 'spill files to be written');

    await restart(sink);
    expect(sink.stats()).toMatchObject({
      rowsAccepted: total,
      rowsWritten: total,
      rowsDropped: 0,
      rowsSpilled: during.rowsSpilled,
      spillRows: 0,
      spillBytes: 0,
      available: true,
    });
    expect(readdirSync(spillDir)).toEqual([]);
    expect(await serverCounts('evflex_spill.meter_values')).toEqual({
      n: total,
      distinct: total,
      lo: T0,
      hi: T0 + total - 1,
    });
    await sink.close();
  });

  it('drops and counts what neither memory nor the spill bound can hold, and writes the rest exactly once', async () => {
    server ??= await startClickHouse({ dataDir });
    httpPort = Number(new URL(server.url).port);
    const spillDir = join(spillRoot, 'b');
    const logs: string[] = [];
    // Room for a few 64 KB chunks on disk.
    const sink = aSink('evflex_spill_bound', spillDir, logs, 150_000);
    await sink.ready();

    await server.stop({ kill: true });
    const total = 30_000;
    for (let i = 0; i < total; i++) sink.record(meterRow(i));
    const during = sink.stats();
    expect(during.rowsSpilled).toBeGreaterThan(0);
    expect(during.rowsDropped).toBeGreaterThan(0);
    expect(during.rowsAccepted + during.rowsDropped).toBe(total);
    expect(during.droppedByTable.meter_values).toBe(during.rowsDropped);
    expect(logs.some((l) => l.includes('dropped') && l.includes('spill full'))).toBe(true);

    await restart(sink);
    expect(sink.stats()).toMatchObject({
      rowsWritten: during.rowsAccepted,
      rowsDropped: during.rowsDropped,
      spillRows: 0,
    });
    const counts = await serverCounts('evflex_spill_bound.meter_values');
    expect(counts.n).toBe(during.rowsAccepted);
    expect(counts.distinct).toBe(during.rowsAccepted);
    await sink.close();
  });
});
