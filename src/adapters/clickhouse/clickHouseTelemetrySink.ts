import { type ClickHouseClient, ClickHouseLogLevel, createClient } from '@clickhouse/client';
import { EvflexError } from '../../core/evflexError';
import type {
  TelemetryRow,
  TelemetrySink,
  TelemetryStats,
  TelemetryTable,
} from '../../core/ports/telemetrySink';
import { ChunkPool } from './chunkPool';
import { assertIdentifier, migrateTelemetrySchema } from './migrateTelemetrySchema';
import { RowBinaryBuffer } from './rowBinaryBuffer';
import { ROW_BINARY_ENCODERS } from './rowBinaryEncoders';
import { mainThreadInserter, TelemetryInsertError, type TelemetryInserter } from './telemetryInserter';
import { TELEMETRY_TABLE_NAMES } from './telemetryTables';
import { workerThreadInserter } from './workerThreadInserter';

export type TelemetryLogLevel = 'info' | 'warn' | 'error';

export interface ClickHouseTelemetrySinkOptions {
  url: string;
  database?: string;
  username?: string;
  password?: string;
  /** Bound on rows held in memory (pending, in flight and awaiting retry); beyond it rows are dropped. */
  maxBufferedRows?: number;
  /** Rows per insert. */
  batchRows?: number;
  /** Pending rows are sent at least this often. */
  flushIntervalMs?: number;
  /** Concurrent inserts while the server is healthy (one probe at a time while it is not). */
  maxInFlight?: number;
  /** Bound on bytes held in memory: input payloads can be kilobytes each. */
  maxBufferedBytes?: number;
  /** Size of the buffers rows are encoded into; also the unit the HTTP body is written in. */
  chunkBytes?: number;
  requestTimeoutMs?: number;
  retryMinMs?: number;
  retryMaxMs?: number;
  /** How long `close()` keeps retrying before it counts what is left as dropped. */
  closeTimeoutMs?: number;
  log?: (level: TelemetryLogLevel, message: string) => void;
  /** Wall clock for log intervals and durations only (the sink records no time of its own). */
  nowMs?: () => number;
  /**
   * Where inserts run. 'worker' (default) keeps HTTP off the control thread; 'main' runs them
   * on the calling thread.
   */
  insertThread?: 'worker' | 'main';
  /** An existing client (tests); inserts then run on the main thread and the sink does not close it. */
  client?: ClickHouseClient;
}

export interface ClickHouseTelemetryStats extends TelemetryStats {
  /** Rows written only after at least one failed insert attempt. */
  rowsDelayed: number;
  insertBatches: number;
  droppedByTable: Record<TelemetryTable, number>;
  /** False from a failed insert until the next successful one. */
  available: boolean;
}

export interface ClickHouseTelemetrySink extends TelemetrySink {
  stats(): ClickHouseTelemetryStats;
  /** Resolves once the schema is migrated (retries while the server is down). */
  ready(): Promise<void>;
}

interface Batch {
  table: TelemetryTable;
  chunks: Buffer[];
  rows: number;
  bytes: number;
  attempts: number;
}

interface TableQueue {
  table: TelemetryTable;
  /** Encoded rows not yet sent (neither in flight nor awaiting retry). */
  rows: RowBinaryBuffer;
  /** Batches whose insert failed, resent first and in order. */
  retry: Batch[];
}

/** Server answers that mean the rows themselves are bad: retrying would fail forever. */
const DATA_ERROR_CODES = new Set(['6', '26', '27', '38', '41', '53', '62', '69', '72', '117', '131']);
/** Unknown table/database: the server lost its data dir; migrate again before retrying. */
const MISSING_SCHEMA_CODES = new Set(['60', '81']);

const DROP_LOG_INTERVAL_MS = 10_000;

const defaultLog = (level: TelemetryLogLevel, message: string) => {
  if (level === 'info') console.info(message);
  else console.warn(message);
};

/**
 * Telemetry sink writing to ClickHouse. `record` is synchronous and O(1): it encodes the row
 * as RowBinary into a bounded in-memory buffer; inserts happen later,
 * in batches, off the caller's stack. When ClickHouse is slow or down, the buffer holds rows up
 * to `maxBufferedRows` and retries with backoff; past the bound, new rows are dropped and
 * counted, and a log line says so. Nothing here ever throws into the control path.
 */
export function createClickHouseTelemetrySink(opts: ClickHouseTelemetrySinkOptions): ClickHouseTelemetrySink {
  const database = assertIdentifier(opts.database ?? 'evflex');
  const maxBufferedRows = opts.maxBufferedRows ?? 1_000_000;
  const batchRows = opts.batchRows ?? 50_000;
  const flushIntervalMs = opts.flushIntervalMs ?? 500;
  const maxInFlight = opts.maxInFlight ?? 2;
  const maxBufferedBytes = opts.maxBufferedBytes ?? 256 * 1024 * 1024;
  const chunkBytes = opts.chunkBytes ?? 64 * 1024;
  const requestTimeoutMs = opts.requestTimeoutMs ?? 30_000;
  const retryMinMs = opts.retryMinMs ?? 100;
  const retryMaxMs = opts.retryMaxMs ?? 5_000;
  const closeTimeoutMs = opts.closeTimeoutMs ?? 10_000;
  const log = opts.log ?? defaultLog;
  const nowMs = opts.nowMs ?? Date.now;
  const ownsClient = opts.client === undefined;
  const client =
    opts.client ??
    createClient({
      url: opts.url,
      username: opts.username ?? 'default',
      password: opts.password ?? '',
      request_timeout: requestTimeoutMs,
      max_open_connections: maxInFlight + 2,
      application: 'evflex',
      compression: { request: false, response: false },
      // The sink logs outages itself, once per episode; the client would log every failed insert.
      log: { level: ClickHouseLogLevel.OFF },
    });

  const inserter: TelemetryInserter =
    opts.client || opts.insertThread === 'main'
      ? mainThreadInserter(client)
      : workerThreadInserter({
          url: opts.url,
          username: opts.username ?? 'default',
          password: opts.password ?? '',
          requestTimeoutMs,
          maxOpenConnections: maxInFlight + 1,
        });
  const pool = new ChunkPool(chunkBytes);

  const queues = new Map<TelemetryTable, TableQueue>();
  for (const table of TELEMETRY_TABLE_NAMES) {
    queues.set(table, { table, rows: new RowBinaryBuffer(pool), retry: [] });
  }
  const droppedByTable = Object.fromEntries(TELEMETRY_TABLE_NAMES.map((t) => [t, 0])) as Record<
    TelemetryTable,
    number
  >;

  let rowsAccepted = 0;
  let rowsWritten = 0;
  let rowsDropped = 0;
  let rowsBuffered = 0;
  let bytesBuffered = 0;
  let rowsDelayed = 0;
  let insertErrors = 0;
  let insertBatches = 0;
  let inFlight = 0;
  let available = true;
  let unavailableSinceMs = 0;
  let backoffMs = retryMinMs;
  let retryTimer: NodeJS.Timeout | null = null;
  let pumpScheduled = false;
  let drainRequested = false;
  let closed = false;
  let dropsSinceLog = 0;
  let lastDropLogMs = Number.NEGATIVE_INFINITY;
  let settleWaiters: Array<() => void> = [];

  let migrated = false;
  let migrating: Promise<void> | null = null;
  let readyResolve: () => void = () => {};
  const readyPromise = new Promise<void>((resolve) => {
    readyResolve = resolve;
  });

  const notifySettled = () => {
    const waiters = settleWaiters;
    settleWaiters = [];
    for (const w of waiters) w();
  };
  const nextSettle = () => new Promise<void>((resolve) => settleWaiters.push(resolve));

  const drop = (table: TelemetryTable, rows: number, why: string) => {
    rowsDropped += rows;
    if (droppedByTable[table] !== undefined) droppedByTable[table] += rows;
    dropsSinceLog += rows;
    const now = nowMs();
    // One line per episode and then one per interval: a full buffer must not flood the log.
    if (now - lastDropLogMs >= DROP_LOG_INTERVAL_MS) {
      lastDropLogMs = now;
      log(
        'warn',
        `${new EvflexError('EVFLEX_TELEMETRY_UNAVAILABLE', `dropped ${dropsSinceLog} telemetry rows (${why}); control continues`).message}; total dropped ${rowsDropped}`,
      );
      dropsSinceLog = 0;
    }
  };

  const markUnavailable = (error: unknown) => {
    if (!available) return;
    available = false;
    unavailableSinceMs = nowMs();
    const reason = error instanceof Error ? error.message : String(error);
    log(
      'warn',
      `${new EvflexError('EVFLEX_TELEMETRY_UNAVAILABLE', `ClickHouse insert failed, buffering up to ${maxBufferedRows} rows and retrying: ${reason}`).message}`,
    );
  };

  const markAvailable = () => {
    backoffMs = retryMinMs;
    if (available) return;
    available = true;
    log(
      'info',
      `telemetry: ClickHouse inserts resumed after ${nowMs() - unavailableSinceMs} ms; ${rowsBuffered} rows buffered, ${rowsDelayed} delayed and ${rowsDropped} dropped so far`,
    );
  };

  const scheduleRetry = () => {
    if (retryTimer || closed) return;
    const delayMs = backoffMs;
    backoffMs = Math.min(retryMaxMs, backoffMs * 2);
    retryTimer = setTimeout(() => {
      retryTimer = null;
      pump();
    }, delayMs);
    retryTimer.unref();
  };

  const ensureMigrated = () => {
    if (migrated || migrating) return;
    migrating = migrateTelemetrySchema(client, database)
      .then(() => {
        migrated = true;
        readyResolve();
        markAvailable();
      })
      .catch((error) => {
        insertErrors++;
        markUnavailable(error);
        scheduleRetry();
      })
      .finally(() => {
        migrating = null;
        notifySettled();
        if (migrated) pump();
      });
  };

  const takeBatch = (queue: TableQueue, partial: boolean): Batch | null => {
    const retried = queue.retry.shift();
    if (retried) return retried;
    const pending = queue.rows.pendingRows;
    if (pending === 0 || (!partial && pending < batchRows)) return null;
    const { chunks, rows, bytes } = queue.rows.take(batchRows, partial);
    return rows === 0 ? null : { table: queue.table, chunks, rows, bytes, attempts: 0 };
  };

  const send = (batch: Batch) => {
    inFlight++;
    insertBatches++;
    inserter
      .insert(`INSERT INTO ${database}.${batch.table} FORMAT RowBinary`, batch.chunks)
      .then(
        (chunks) => {
          for (const c of chunks) pool.release(c.buffer as ArrayBuffer);
          rowsWritten += batch.rows;
          rowsBuffered -= batch.rows;
          bytesBuffered -= batch.bytes;
          if (batch.attempts > 0) rowsDelayed += batch.rows;
          markAvailable();
        },
        (error: unknown) => {
          insertErrors++;
          const insertError =
            error instanceof TelemetryInsertError
              ? error
              : new TelemetryInsertError(String(error), '', batch.chunks);
          const code = insertError.serverCode;
          if (insertError.chunks.length === 0 && batch.chunks.length > 0) {
            // The insert thread died holding the rows' bytes: they are gone, count them.
            rowsBuffered -= batch.rows;
            bytesBuffered -= batch.bytes;
            drop(batch.table, batch.rows, insertError.message);
            return;
          }
          batch.chunks = insertError.chunks;
          if (DATA_ERROR_CODES.has(code)) {
            rowsBuffered -= batch.rows;
            bytesBuffered -= batch.bytes;
            log(
              'error',
              `telemetry: ClickHouse rejected ${batch.rows} rows of ${batch.table}: ${(error as Error).message}`,
            );
            drop(batch.table, batch.rows, 'rejected by the server');
            return;
          }
          if (MISSING_SCHEMA_CODES.has(code)) migrated = false;
          batch.attempts++;
          queues.get(batch.table)!.retry.unshift(batch);
          markUnavailable(error);
          scheduleRetry();
        },
      )
      .finally(() => {
        inFlight--;
        notifySettled();
        pump();
      });
  };

  const hasPending = () => {
    for (const q of queues.values()) if (q.rows.pendingRows > 0 || q.retry.length > 0) return true;
    return false;
  };

  function pump(): void {
    pumpScheduled = false;
    if (retryTimer) return;
    if (!migrated) {
      ensureMigrated();
      return;
    }
    // While the server is failing, only one probe insert at a time.
    const limit = available ? maxInFlight : 1;
    let progressed = true;
    while (inFlight < limit && progressed) {
      progressed = false;
      for (const queue of queues.values()) {
        if (inFlight >= limit) break;
        const batch = takeBatch(queue, drainRequested || closed);
        if (batch) {
          send(batch);
          progressed = true;
        }
      }
    }
    if (!hasPending()) drainRequested = false;
  }

  const schedulePump = () => {
    if (pumpScheduled) return;
    pumpScheduled = true;
    // Never insert on the caller's stack: record() returns at once, I/O starts on a later turn.
    setImmediate(pump);
  };

  const flushTimer = setInterval(() => {
    drainRequested = true;
    schedulePump();
  }, flushIntervalMs);
  flushTimer.unref();

  ensureMigrated();

  const record = (row: TelemetryRow) => {
    const queue = queues.get(row.table);
    if (!queue || closed) {
      drop(row.table, 1, closed ? 'sink closed' : 'unknown table');
      return;
    }
    if (rowsBuffered >= maxBufferedRows || bytesBuffered >= maxBufferedBytes) {
      drop(row.table, 1, `buffer full at ${rowsBuffered} rows, ${bytesBuffered} bytes`);
      return;
    }
    const rows = queue.rows;
    const bytesBefore = rows.pendingBytes;
    try {
      ROW_BINARY_ENCODERS[row.table](rows, row);
    } catch {
      rows.abortRow();
      drop(row.table, 1, 'row could not be encoded');
      return;
    }
    rowsBuffered++;
    bytesBuffered += rows.pendingBytes - bytesBefore;
    rowsAccepted++;
    if (rows.pendingRows >= batchRows) schedulePump();
  };

  /** Sends everything pending; resolves when it is written or an attempt failed (rows stay buffered). */
  const flush = async () => {
    const errorsBefore = insertErrors;
    drainRequested = true;
    for (;;) {
      pump();
      if (inFlight === 0 && !migrating && !hasPending()) return;
      if (insertErrors > errorsBefore && inFlight === 0 && !migrating) return;
      await nextSettle();
    }
  };

  const close = async () => {
    if (closed) return;
    clearInterval(flushTimer);
    const deadline = nowMs() + closeTimeoutMs;
    while (rowsBuffered > 0 && nowMs() < deadline) {
      await flush();
      if (rowsBuffered > 0 && inFlight === 0) {
        // Retry promptly on close instead of waiting for the backoff timer.
        if (retryTimer) {
          clearTimeout(retryTimer);
          retryTimer = null;
        }
        await new Promise((resolve) =>
          setTimeout(resolve, Math.min(backoffMs, Math.max(0, deadline - nowMs()))),
        );
      }
    }
    closed = true;
    if (retryTimer) clearTimeout(retryTimer);
    while (inFlight > 0) await nextSettle();
    for (const queue of queues.values()) {
      const left =
        queue.rows.take(Number.MAX_SAFE_INTEGER, true).rows + queue.retry.reduce((n, b) => n + b.rows, 0);
      queue.retry = [];
      if (left > 0) {
        rowsBuffered -= left;
        lastDropLogMs = Number.NEGATIVE_INFINITY;
        drop(queue.table, left, 'still buffered when the sink closed');
      }
    }
    bytesBuffered = 0;
    readyResolve();
    await inserter.close();
    if (ownsClient) await client.close();
  };

  return {
    record,
    flush,
    close,
    ready: () => readyPromise,
    stats: () => ({
      rowsAccepted,
      rowsWritten,
      rowsDropped,
      rowsBuffered,
      insertErrors,
      rowsDelayed,
      insertBatches,
      droppedByTable: { ...droppedByTable },
      available,
    }),
  };
}
