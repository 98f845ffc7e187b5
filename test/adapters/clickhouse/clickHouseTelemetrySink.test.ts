import type { Readable } from 'node:stream';
import { type ClickHouseClient, ClickHouseError } from '@clickhouse/client';
import { describe, expect, it } from 'vitest';
import { createClickHouseTelemetrySink } from '../../../src/adapters/clickhouse/clickHouseTelemetrySink';
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
