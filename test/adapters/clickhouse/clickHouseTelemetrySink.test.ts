import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { type ClickHouseClient, ClickHouseError } from '@clickhouse/client';
import { afterEach, describe, expect, it } from 'vitest';
import { createClickHouseTelemetrySink } from '../../../src/adapters/clickhouse/clickHouseTelemetrySink';
import { writeSpillFile } from '../../../src/adapters/clickhouse/spillFiles';
import type { TelemetryInserter } from '../../../src/adapters/clickhouse/telemetryInserter';
import type { TelemetryRow } from '../../../src/core/ports/telemetrySink';

type Mode = 'ok' | 'down' | 'reject';

/** Stands in for the HTTP client: records inserts, or fails them like a dead or picky server. */
function aFakeClient() {
  const state = { mode: 'ok' as Mode, inserts: [] as Array<{ query: string; bytes: number }> };
  const emptyStream = async () => {
    const { Readable } = await import('node:stream');
    return Readable.from([]);
  };
  const client = {
    command: async () => {
      if (state.mode === 'down') throw new Error('connect ECONNREFUSED');
      return {};
    },
    query: async () => {
      if (state.mode === 'down') throw new Error('connect ECONNREFUSED');
      return { json: async () => [{ version: 0 }] };
    },
    insert: async () => ({}),
    exec: async (params: { query: string; values: Readable }) => {
      let bytes = 0;
      for await (const chunk of params.values) bytes += (chunk as Buffer).length;
      if (state.mode === 'down') throw new Error('socket hang up');
      if (state.mode === 'reject')
        throw new ClickHouseError({
          message: 'Cannot parse input',
          code: '27',
          type: 'CANNOT_PARSE_INPUT_ASSERTION_FAILED',
        });
      state.inserts.push({ query: params.query, bytes });
      return { stream: await emptyStream() };
    },
    close: async () => {},
  };
  return { client: client as unknown as ClickHouseClient, state };
}

const row = (i: number): TelemetryRow => ({
  table: 'frequency',
  tsMs: 1_000 + i,
  siteId: 'site-1',
  meterId: 'pmu',
  hz: 50,
});

describe('ClickHouse telemetry sink (fake client)', () => {
  it('record() is synchronous, never throws, and batches rows per table', async () => {
    const { client, state } = aFakeClient();
    const sink = createClickHouseTelemetrySink({ url: 'http://unused', client, log: () => {} });
    await sink.ready();
    for (let i = 0; i < 100; i++) sink.record(row(i));
    sink.record({
      table: 'acks',
      tsMs: 1,
      siteId: 's',
      requestId: 'r',
      requestTopic: 't',
      status: 'accepted',
      requestedKw: 1,
      achievedKw: 1,
      reason: '',
    });
    // Nothing is sent on the caller's stack.
    expect(state.inserts).toHaveLength(0);
    await sink.flush();
    expect(state.inserts.map((i) => i.query).sort()).toEqual([
      'INSERT INTO evflex.acks FORMAT RowBinary',
      'INSERT INTO evflex.frequency FORMAT RowBinary',
    ]);
    expect(sink.stats()).toMatchObject({
      rowsAccepted: 101,
      rowsWritten: 101,
      rowsBuffered: 0,
      rowsDropped: 0,
    });
    await sink.close();
  });

  it('drops past maxBufferedRows with a count and one log line, and rows of unknown tables', async () => {
    const { client, state } = aFakeClient();
    state.mode = 'down';
    const logs: string[] = [];
    const sink = createClickHouseTelemetrySink({
      url: 'http://unused',
      client,
      maxBufferedRows: 50,
      retryMinMs: 10_000,
      closeTimeoutMs: 50,
      log: (l, m) => logs.push(`${l} ${m}`),
    });
    for (let i = 0; i < 80; i++) sink.record(row(i));
    sink.record({ table: 'nope' } as unknown as TelemetryRow);
    expect(sink.stats()).toMatchObject({ rowsAccepted: 50, rowsBuffered: 50, rowsDropped: 31 });
    expect(sink.stats().droppedByTable.frequency).toBe(30);
    expect(logs.filter((l) => l.includes('dropped'))).toHaveLength(1);
    await sink.close();
  });

  it('drops a batch the server rejects as bad data instead of retrying it forever', async () => {
    const { client, state } = aFakeClient();
    const logs: string[] = [];
    const sink = createClickHouseTelemetrySink({
      url: 'http://unused',
      client,
      log: (l, m) => logs.push(`${l} ${m}`),
    });
    await sink.ready();
    state.mode = 'reject';
    for (let i = 0; i < 10; i++) sink.record(row(i));
    await sink.flush();
    expect(sink.stats()).toMatchObject({ rowsWritten: 0, rowsDropped: 10, rowsBuffered: 0, insertErrors: 1 });
    expect(logs.some((l) => l.startsWith('error') && l.includes('rejected 10 rows'))).toBe(true);
    state.mode = 'ok';
    for (let i = 0; i < 5; i++) sink.record(row(i));
    await sink.flush();
    expect(sink.stats().rowsWritten).toBe(5);
    await sink.close();
  });

  it('retries while the server is down and counts rows written late as delayed', async () => {
    const { client, state } = aFakeClient();
    const sink = createClickHouseTelemetrySink({
      url: 'http://unused',
      client,
      retryMinMs: 5,
      retryMaxMs: 20,
      log: () => {},
    });
    await sink.ready();
    state.mode = 'down';
    for (let i = 0; i < 20; i++) sink.record(row(i));
    await sink.flush();
    expect(sink.stats()).toMatchObject({ rowsBuffered: 20, available: false });
    state.mode = 'ok';
    await new Promise((resolve) => setTimeout(resolve, 100));
    await sink.flush();
    expect(sink.stats()).toMatchObject({
      rowsWritten: 20,
      rowsDelayed: 20,
      rowsBuffered: 0,
      available: true,
    });
    await sink.close();
  });

  it('close() gives up after closeTimeoutMs and counts what is left as dropped', async () => {
    const { client, state } = aFakeClient();
    state.mode = 'down';
    const sink = createClickHouseTelemetrySink({
      url: 'http://unused',
      client,
      retryMinMs: 5,
      retryMaxMs: 10,
      closeTimeoutMs: 100,
      log: () => {},
    });
    for (let i = 0; i < 7; i++) sink.record(row(i));
    await sink.close();
    expect(sink.stats()).toMatchObject({ rowsDropped: 7, rowsBuffered: 0 });
    sink.record(row(99));
    expect(sink.stats().rowsDropped).toBe(8);
  });
});

/** RowBinary size of `row(i)`: tsMs 8, 'site-1' 1+6, 'pmu' 1+3, hz 8. */
const FREQUENCY_ROW_BYTES = 27;

describe('ClickHouse telemetry sink spilling to disk (fake client)', () => {
  const dirs: string[] = [];
  const aSpillDir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'evflex-spill-unit-'));
    dirs.push(dir);
    return dir;
  };
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  const waitUntil = async (condition: () => boolean) => {
    for (let i = 0; i < 200 && !condition(); i++) await new Promise((r) => setTimeout(r, 10));
  };

  it('spills the oldest batches past the memory bound and inserts them, oldest first, when the server returns', async () => {
    const { client, state } = aFakeClient();
    const spillDir = aSpillDir();
    const logs: string[] = [];
    const sink = createClickHouseTelemetrySink({
      url: 'http://unused',
      client,
      maxBufferedRows: 50,
      batchRows: 20,
      spillDir,
      retryMinMs: 5,
      retryMaxMs: 10,
      log: (l, m) => logs.push(`${l} ${m}`),
    });
    await sink.ready();
    state.mode = 'down';
    for (let i = 0; i < 200; i++) sink.record(row(i));
    const during = sink.stats();
    expect(during).toMatchObject({ rowsAccepted: 200, rowsDropped: 0 });
    expect(during.rowsSpilled).toBeGreaterThanOrEqual(150);
    expect(during.rowsBuffered + during.spillRows).toBe(200);
    expect(during.rowsBuffered).toBeLessThanOrEqual(50);
    expect(logs.filter((l) => l.includes('spilled'))).toHaveLength(1);
    // Files are named <seq>-<table>-<rows>: what is on disk is exactly what the stats say.
    const rowsOnDisk = () =>
      readdirSync(spillDir)
        .filter((f) => f.endsWith('.rowbinary'))
        .reduce((n, f) => n + Number(f.split('-')[2].split('.')[0]), 0);
    await waitUntil(() => rowsOnDisk() === during.spillRows);
    expect(rowsOnDisk()).toBe(during.spillRows);
    expect(readdirSync(spillDir).sort()[0]).toMatch(/^000000000001-frequency-\d+\.rowbinary$/);

    state.mode = 'ok';
    await waitUntil(() => sink.stats().rowsWritten === 200);
    await sink.flush();
    expect(sink.stats()).toMatchObject({ rowsWritten: 200, rowsDropped: 0, spillRows: 0, spillBytes: 0 });
    const bytes = state.inserts.reduce((n, i) => n + i.bytes, 0);
    expect(bytes).toBe(200 * FREQUENCY_ROW_BYTES);
    expect(readdirSync(spillDir)).toEqual([]);
    await sink.close();
  });

  it('drops and counts rows once the spill bound is reached too', async () => {
    const { client, state } = aFakeClient();
    state.mode = 'down';
    const sink = createClickHouseTelemetrySink({
      url: 'http://unused',
      client,
      maxBufferedRows: 10,
      batchRows: 10,
      spillDir: aSpillDir(),
      maxSpillBytes: 3 * 10 * FREQUENCY_ROW_BYTES,
      retryMinMs: 10_000,
      closeTimeoutMs: 10,
      log: () => {},
    });
    for (let i = 0; i < 100; i++) sink.record(row(i));
    // 10 in memory, 3 batches of 10 on disk, the other 60 dropped.
    expect(sink.stats()).toMatchObject({ rowsBuffered: 10, spillRows: 30, rowsSpilled: 30, rowsDropped: 60 });
    await sink.close();
  });

  it('close() while the server is down keeps rows in spill files, and the next sink inserts them', async () => {
    const spillDir = aSpillDir();
    const first = aFakeClient();
    first.state.mode = 'down';
    const sink = createClickHouseTelemetrySink({
      url: 'http://unused',
      client: first.client,
      spillDir,
      retryMinMs: 5,
      closeTimeoutMs: 20,
      log: () => {},
    });
    for (let i = 0; i < 7; i++) sink.record(row(i));
    await sink.close();
    expect(sink.stats()).toMatchObject({ rowsDropped: 0, rowsSpilled: 7, spillRows: 7 });
    expect(readdirSync(spillDir)).toHaveLength(1);

    const second = aFakeClient();
    const logs: string[] = [];
    const next = createClickHouseTelemetrySink({
      url: 'http://unused',
      client: second.client,
      spillDir,
      log: (l, m) => logs.push(`${l} ${m}`),
    });
    expect(logs.some((l) => l.includes('7 rows in 1 spill files from an earlier run'))).toBe(true);
    await next.ready();
    await next.flush();
    expect(next.stats()).toMatchObject({ rowsWritten: 7, spillRows: 0 });
    expect(second.state.inserts).toEqual([
      { query: 'INSERT INTO evflex.frequency FORMAT RowBinary', bytes: 7 * FREQUENCY_ROW_BYTES },
    ]);
    expect(readdirSync(spillDir)).toEqual([]);
    await next.close();
  });

  it('keeps a batch the insert thread has no room for buffered, spilling it past the bound, and sends it once there is room', async () => {
    const { client } = aFakeClient();
    // An insert thread whose job ring is full until told otherwise.
    let ringFull = true;
    let insertedBytes = 0;
    const inserter: TelemetryInserter = {
      insert: (_query, chunks) => {
        if (ringFull) return null;
        insertedBytes += chunks.reduce((n, c) => n + c.length, 0);
        return Promise.resolve(chunks);
      },
      spill: async (path, chunks) => {
        await writeSpillFile(path, chunks);
        return chunks;
      },
      insertFile: async (_query, path) => {
        insertedBytes += statSync(path).size;
        rmSync(path);
      },
      close: async () => {},
    };
    const sink = createClickHouseTelemetrySink({
      url: 'http://unused',
      client,
      inserter,
      maxBufferedRows: 50,
      batchRows: 20,
      spillDir: aSpillDir(),
      log: () => {},
    });
    await sink.ready();
    for (let i = 0; i < 40; i++) sink.record(row(i));
    await new Promise((r) => setTimeout(r, 30));
    // Offered and refused: still buffered, not an error, the server is not marked down.
    expect(sink.stats()).toMatchObject({
      rowsBuffered: 40,
      insertBatches: 0,
      insertErrors: 0,
      available: true,
    });
    for (let i = 40; i < 100; i++) sink.record(row(i));
    const during = sink.stats();
    expect(during).toMatchObject({ rowsAccepted: 100, rowsDropped: 0 });
    expect(during.rowsBuffered).toBeLessThanOrEqual(50);
    expect(during.rowsBuffered + during.spillRows).toBe(100);
    ringFull = false;
    await waitUntil(() => sink.stats().rowsWritten === 100);
    await sink.flush();
    expect(sink.stats()).toMatchObject({ rowsWritten: 100, rowsBuffered: 0, rowsDropped: 0 });
    expect(insertedBytes).toBe(100 * FREQUENCY_ROW_BYTES);
    await sink.close();
  });
});
