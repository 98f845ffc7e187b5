import { join } from 'node:path';
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
import { type SpillFile, scanSpillDir, setSpillFileAside, spillFileName } from './spillFiles';
import { mainThreadInserter, TelemetryInsertError, type TelemetryInserter } from './telemetryInserter';
import { TELEMETRY_TABLE_NAMES } from './telemetryTables';
import { workerThreadInserter } from './workerThreadInserter';

export type TelemetryLogLevel = 'info' | 'warn' | 'error';

export interface ClickHouseTelemetrySinkOptions {
  url: string;
  database?: string;
  username?: string;
  password?: string;
  /**
   * Bound on rows held in memory (pending, in flight and awaiting retry); beyond it rows are
   * spilled to `spillDir` when set, dropped otherwise.
   */
  maxBufferedRows?: number;
  /**
   * Directory for spill files (one per batch, RowBinary as it would be inserted). Off when
   * unset. Files left by an earlier run are inserted, oldest first, once the server answers.
   * One sink (one engine process) per directory.
   */
  spillDir?: string;
  /** Bound on bytes in `spillDir`; past it (and the memory bound) rows are dropped. */
  maxSpillBytes?: number;
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
  /** Where inserts and spill writes go (tests); the sink closes it. */
  inserter?: TelemetryInserter;
}

export interface ClickHouseTelemetryStats extends TelemetryStats {
  /** Rows moved from memory to spill files (cumulative). */
  rowsSpilled: number;
  /** Rows now in spill files (or being written to one), including files of an earlier run. */
  spillRows: number;
  spillBytes: number;
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
const BUSY_RETRY_MS = 10;

const defaultLog = (level: TelemetryLogLevel, message: string) => {
  if (level === 'info') console.info(message);
  else console.warn(message);
};

/**
 * Telemetry sink writing to ClickHouse. `record` is synchronous and O(1): it encodes the row
 * as RowBinary into a bounded in-memory buffer; inserts happen later,
 * in batches, off the caller's stack. When ClickHouse is slow or down, the buffer holds rows up
 * to `maxBufferedRows` and retries with backoff; past the bound, the oldest batches go to spill
 * files (when `spillDir` is set, up to `maxSpillBytes`) and past that new rows are dropped; both
 * are counted and logged. Spill files are written and inserted by the insert thread and deleted
 * once inserted. Nothing here ever throws into the control path.
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
  const spillDir = opts.spillDir;
  const maxSpillBytes = opts.maxSpillBytes ?? 1024 * 1024 * 1024;
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

  const onWorker = !opts.inserter && !opts.client && opts.insertThread !== 'main';
  const inserter: TelemetryInserter =
    opts.inserter ??
    (!onWorker
      ? mainThreadInserter(client)
      : workerThreadInserter({
          url: opts.url,
          username: opts.username ?? 'default',
          password: opts.password ?? '',
          requestTimeoutMs,
          maxOpenConnections: maxInFlight + 1,
        }));
  // Shared memory for the worker to read rows in place: no transfer, no message per insert.
  const pool = new ChunkPool(chunkBytes, 256, onWorker);

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
  let busyTimer: NodeJS.Timeout | null = null;
  let pumpScheduled = false;
  let drainRequested = false;
  let closed = false;
  let dropsSinceLog = 0;
  let lastDropLogMs = Number.NEGATIVE_INFINITY;
  let settleWaiters: Array<() => void> = [];

  /** Spill files on disk, oldest first; the head is the one being inserted when `replaying`. */
  const spillFiles: SpillFile[] = spillDir ? scanSpillDir(spillDir) : [];
  let spillSeq = (spillFiles.at(-1)?.seq ?? 0) + 1;
  let spillRows = spillFiles.reduce((n, f) => n + f.rows, 0);
  let spillBytes = spillFiles.reduce((n, f) => n + f.bytes, 0);
  let spillWritesInFlight = 0;
  let replaying = false;
  let rowsSpilled = 0;
  let spillsSinceLog = 0;
  let lastSpillLogMs = Number.NEGATIVE_INFINITY;
  if (spillFiles.length > 0) {
    log(
      'info',
      `telemetry: ${spillRows} rows in ${spillFiles.length} spill files from an earlier run in ${spillDir}; inserting them once ClickHouse answers`,
    );
  }

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

  /** Disk writes queued on the insert thread; past this the disk is not keeping up. */
  const MAX_SPILL_WRITES_IN_FLIGHT = 8;

  const spillFull = () => spillBytes >= maxSpillBytes || spillWritesInFlight >= MAX_SPILL_WRITES_IN_FLIGHT;

  /** The oldest batch in memory: one that failed before, else pending rows of the fullest table. */
  const takeOldestBatch = (): Batch | null => {
    for (const q of queues.values()) {
      const retried = q.retry.shift();
      if (retried) return retried;
    }
    let fullest: TableQueue | null = null;
    for (const q of queues.values()) if (q.rows.pendingRows > (fullest?.rows.pendingRows ?? 0)) fullest = q;
    if (!fullest) return null;
    const { chunks, rows, bytes } = fullest.rows.take(batchRows, true);
    return rows === 0 ? null : { table: fullest.table, chunks, rows, bytes, attempts: 0 };
  };

  /**
   * Moves one batch from memory to a spill file (written on the insert thread) so a new row
   * fits. The rows leave the memory count at once; their buffers return to the pool when the
   * write is done. False when there is nothing to move or the spill is full.
   */
  const spillOneBatch = (): boolean => {
    if (!spillDir || spillFull()) return false;
    const batch = takeOldestBatch();
    if (!batch) return false;
    const file: SpillFile = {
      seq: spillSeq++,
      table: batch.table,
      rows: batch.rows,
      bytes: batch.bytes,
      path: '',
    };
    file.path = join(spillDir, spillFileName(file.seq, file.table, file.rows));
    rowsBuffered -= batch.rows;
    bytesBuffered -= batch.bytes;
    spillRows += batch.rows;
    spillBytes += batch.bytes;
    rowsSpilled += batch.rows;
    spillWritesInFlight++;
    noteSpill(batch.rows);
    inserter
      .spill(file.path, batch.chunks)
      .then(
        (chunks) => {
          for (const c of chunks) pool.release(c.buffer as ArrayBuffer);
          // Writes may finish out of order; replay goes by sequence number.
          let i = spillFiles.length;
          while (i > (replaying ? 1 : 0) && spillFiles[i - 1].seq > file.seq) i--;
          spillFiles.splice(i, 0, file);
        },
        (error: unknown) => {
          // The disk failed us (full, read-only): these rows are lost, count them.
          spillRows -= batch.rows;
          spillBytes -= batch.bytes;
          rowsSpilled -= batch.rows;
          log('error', `telemetry: could not write spill file ${file.path}: ${(error as Error).message}`);
          drop(batch.table, batch.rows, 'spill file could not be written');
        },
      )
      .finally(() => {
        spillWritesInFlight--;
        notifySettled();
        schedulePump();
      });
    return true;
  };

  const noteSpill = (rows: number) => {
    spillsSinceLog += rows;
    const now = nowMs();
    if (now - lastSpillLogMs >= DROP_LOG_INTERVAL_MS) {
      lastSpillLogMs = now;
      log(
        'warn',
        `${new EvflexError('EVFLEX_TELEMETRY_UNAVAILABLE', `memory buffer full, spilled ${spillsSinceLog} telemetry rows to ${spillDir}; control continues`).message}; ${spillRows} rows (${spillBytes} bytes) in spill files, ${rowsSpilled} spilled in total`,
      );
      spillsSinceLog = 0;
    }
  };

  /** Inserts the oldest spill file; the insert thread deletes it once the server has the rows. */
  const replayOldestSpill = () => {
    const file = spillFiles[0];
    replaying = true;
    inFlight++;
    insertBatches++;
    inserter
      .insertFile(`INSERT INTO ${database}.${file.table} FORMAT RowBinary`, file.path)
      .then(
        () => {
          spillFiles.shift();
          spillRows -= file.rows;
          spillBytes -= file.bytes;
          rowsWritten += file.rows;
          rowsDelayed += file.rows;
          markAvailable();
        },
        (error: unknown) => {
          insertErrors++;
          const code = error instanceof TelemetryInsertError ? error.serverCode : '';
          if (DATA_ERROR_CODES.has(code)) {
            // Kept on disk under another name for a post-mortem; never retried.
            spillFiles.shift();
            spillRows -= file.rows;
            spillBytes -= file.bytes;
            void setSpillFileAside(file.path);
            log(
              'error',
              `telemetry: ClickHouse rejected spill file ${file.path} (${file.rows} rows of ${file.table}): ${(error as Error).message}`,
            );
            drop(file.table, file.rows, 'rejected by the server');
            return;
          }
          if (MISSING_SCHEMA_CODES.has(code)) migrated = false;
          markUnavailable(error);
          scheduleRetry();
        },
      )
      .finally(() => {
        replaying = false;
        inFlight--;
        notifySettled();
        pump();
      });
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

  /** Tries again shortly after the inserter was busy (a completion usually comes first). */
  const busyRetry = () => {
    if (busyTimer || closed) return;
    busyTimer = setTimeout(() => {
      busyTimer = null;
      notifySettled();
      pump();
    }, BUSY_RETRY_MS);
    busyTimer.unref();
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

  /** Starts the insert; false when the inserter cannot take it now (the batch stays with the caller). */
  const send = (batch: Batch): boolean => {
    const inserting = inserter.insert(
      `INSERT INTO ${database}.${batch.table} FORMAT RowBinary`,
      batch.chunks,
    );
    if (!inserting) return false;
    inFlight++;
    insertBatches++;
    inserting
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
    return true;
  };

  const hasPending = () => {
    if (spillFiles.length > 0 || spillWritesInFlight > 0) return true;
    for (const q of queues.values()) if (q.rows.pendingRows > 0 || q.retry.length > 0) return true;
    return false;
  };

  function pump(): void {
    pumpScheduled = false;
    if (retryTimer || closed) return;
    if (!migrated) {
      ensureMigrated();
      return;
    }
    // While the server is failing, only one probe insert at a time.
    const limit = available ? maxInFlight : 1;
    // Spilled rows are the oldest: one file at a time goes ahead of memory (one slot, so the
    // memory buffer keeps draining and does not spill again while the backlog is replayed).
    if (spillFiles.length > 0 && !replaying && inFlight < limit) replayOldestSpill();
    let progressed = true;
    while (inFlight < limit && progressed) {
      progressed = false;
      for (const queue of queues.values()) {
        if (inFlight >= limit) break;
        const batch = takeBatch(queue, drainRequested || closed);
        if (!batch) continue;
        if (!send(batch)) {
          // The insert thread's queue is full: keep the batch (first in line) and try on the
          // next flush or completion; never wait here.
          queue.retry.unshift(batch);
          busyRetry();
          return;
        }
        progressed = true;
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
    while (rowsBuffered >= maxBufferedRows || bytesBuffered >= maxBufferedBytes) {
      if (spillOneBatch()) continue;
      drop(
        row.table,
        1,
        spillDir
          ? `buffer full at ${rowsBuffered} rows and spill full at ${spillBytes} bytes`
          : `buffer full at ${rowsBuffered} rows, ${bytesBuffered} bytes`,
      );
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
    const unsent = () => rowsBuffered > 0 || spillFiles.length > 0;
    while (unsent() && nowMs() < deadline) {
      await flush();
      if (unsent() && inFlight === 0) {
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
    if (busyTimer) clearTimeout(busyTimer);
    while (inFlight > 0) await nextSettle();
    if (spillDir) {
      // What is left goes to disk for the next start instead of being dropped.
      lastSpillLogMs = Number.NEGATIVE_INFINITY;
      for (;;) {
        if (spillOneBatch()) continue;
        if (spillWritesInFlight > 0 && rowsBuffered > 0 && spillBytes < maxSpillBytes) {
          await nextSettle();
          continue;
        }
        break;
      }
      while (spillWritesInFlight > 0) await nextSettle();
    }
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
    if (spillFiles.length > 0) {
      log(
        'warn',
        `telemetry: ${spillRows} rows left in ${spillFiles.length} spill files in ${spillDir}; the next start inserts them`,
      );
    }
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
      rowsSpilled,
      spillRows,
      spillBytes,
      insertBatches,
      droppedByTable: { ...droppedByTable },
      available,
    }),
  };
}
