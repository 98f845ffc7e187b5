import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type ClickHouseServer, startClickHouse } from '../../../infra/clickhouse/clickhouseServer';
import { createClickHouseTelemetrySink } from '../../../src/adapters/clickhouse/clickHouseTelemetrySink';
import { aClient, aMeterRow, countRows, waitFor } from './clickhouseTestKit';

const T0 = Date.UTC(2026, 2, 2, 8, 0, 0);
const meterRow = (i: number) => aMeterRow(T0, i);

describe('ClickHouse telemetry sink across a server stop and start', () => {
  // A private server: this test stops it, which must not disturb the shared one.
  const dataDir = mkdtempSync(join(tmpdir(), 'evflex-ch-recovery-'));
  let server: ClickHouseServer | undefined;

  afterAll(async () => {
    await server?.stop({ kill: true });
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('keeps recording while the server is down, drops past the bound with a count, and catches up', async () => {
    server = await startClickHouse({ dataDir });
    const httpPort = Number(new URL(server.url).port);
    const logs: string[] = [];
    const sink = createClickHouseTelemetrySink({
      url: server.url,
      database: 'evflex',
      maxBufferedRows: 5_000,
      batchRows: 10_000,
      retryMinMs: 50,
      retryMaxMs: 200,
      requestTimeoutMs: 5_000,
      log: (level, message) => logs.push(`${level} ${message}`),
    });
    await sink.ready();

    for (let i = 0; i < 1_000; i++) sink.record(meterRow(i));
    await sink.flush();
    expect(sink.stats()).toMatchObject({ rowsWritten: 1_000, rowsBuffered: 0, rowsDropped: 0 });

    // A crash rather than a clean shutdown: the harsher case, and 18.16 takes ~8 s to shut down.
    await server.stop({ kill: true });

    // Control goes on: record() neither throws nor blocks while the server is gone.
    const startedMs = performance.now();
    for (let i = 1_000; i < 4_000; i++) sink.record(meterRow(i));
    await sink.flush();
    expect(sink.stats()).toMatchObject({ rowsWritten: 1_000, rowsBuffered: 3_000, available: false });
    expect(sink.stats().insertErrors).toBeGreaterThan(0);

    for (let i = 4_000; i < 7_000; i++) sink.record(meterRow(i));
    const recordMs = performance.now() - startedMs;
    expect(sink.stats()).toMatchObject({ rowsBuffered: 5_000, rowsDropped: 1_000, rowsAccepted: 6_000 });
    expect(sink.stats().droppedByTable.meter_values).toBe(1_000);
    expect(
      logs.some((l) => l.startsWith('warn EVFLEX_TELEMETRY_UNAVAILABLE') && l.includes('insert failed')),
    ).toBe(true);
    expect(logs.some((l) => l.includes('dropped') && l.includes('buffer full'))).toBe(true);
    expect(recordMs).toBeLessThan(2_000);

    // Same data dir and port: the sink's url is valid again.
    server = await startClickHouse({ dataDir, httpPort });
    await waitFor(() => sink.stats().rowsBuffered === 0, 30_000, 'the buffer to drain');
    await sink.flush();

    const stats = sink.stats();
    expect(stats).toMatchObject({
      rowsAccepted: 6_000,
      rowsWritten: 6_000,
      rowsDropped: 1_000,
      rowsBuffered: 0,
      available: true,
    });
    // The batch that failed while the server was down is the one written late.
    expect(stats.rowsDelayed).toBe(3_000);
    expect(logs.some((l) => l.startsWith('info') && l.includes('resumed'))).toBe(true);

    const client = aClient(server.url);
    expect(await countRows(client, 'evflex.meter_values')).toBe(6_000);
    await client.close();
    await sink.close();
  });
});
