import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { TelemetryInsertError, type TelemetryInserter } from './telemetryInserter';

export interface WorkerInserterConfig {
  url: string;
  username: string;
  password: string;
  requestTimeoutMs: number;
  maxOpenConnections: number;
  /** Nice value of the insert thread (0–19); telemetry should yield to control. */
  niceness?: number;
}

interface Pending {
  resolve: (chunks: Buffer[]) => void;
  reject: (error: TelemetryInsertError) => void;
  lengths: number[];
}

/*
 * The worker is plain JavaScript run with `eval: true`, so it starts the same way under tsx,
 * vitest and plain node (a .ts worker file would need each runner's loader). It only moves
 * bytes: the control thread encodes rows, this thread does HTTP, so socket writes, response
 * parsing and the client's promise churn never sit between two control steps.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { Readable } = require('node:stream');
const { createClient, ClickHouseError, ClickHouseLogLevel } = require(workerData.clientPath);
// On Linux nice is per thread: this lowers only the insert thread, so under CPU contention
// the control thread runs first and telemetry waits (it is buffered anyway).
try { require('node:os').setPriority(workerData.niceness); } catch {}
const client = createClient({
  url: workerData.url,
  username: workerData.username,
  password: workerData.password,
  request_timeout: workerData.requestTimeoutMs,
  max_open_connections: workerData.maxOpenConnections,
  application: 'evflex',
  compression: { request: false, response: false },
  log: { level: ClickHouseLogLevel.OFF },
});
const fs = require('node:fs');
const fsp = require('node:fs/promises');
const describe = (e) => ({
  message: String(e && e.message ? e.message : e),
  code: e instanceof ClickHouseError ? String(e.code) : String((e && e.code) || ''),
});
async function exec(query, values) {
  const result = await client.exec({ query, values });
  await new Promise((resolve, reject) => {
    result.stream.once('end', resolve);
    result.stream.once('error', reject);
    result.stream.resume();
  });
}
// Same steps as writeSpillFile in spillFiles.ts: temp file, fsync, rename.
async function writeSpill(path, chunks) {
  const tmp = path + '.tmp';
  const file = await fsp.open(tmp, 'w');
  try {
    for (const chunk of chunks) {
      let offset = 0;
      while (offset < chunk.length) offset += (await file.write(chunk, offset, chunk.length - offset)).bytesWritten;
    }
    await file.sync();
  } catch (e) {
    await file.close().catch(() => {});
    await fsp.rm(tmp, { force: true });
    throw e;
  }
  await file.close();
  await fsp.rename(tmp, path);
}
parentPort.on('message', async (msg) => {
  if (msg.type === 'close') {
    await client.close().catch(() => {});
    parentPort.postMessage({ type: 'closed' });
    return;
  }
  let error = null;
  if (msg.type === 'insertFile') {
    try {
      await exec(msg.query, fs.createReadStream(msg.path, { highWaterMark: 1 << 20 }));
      // The rows are in: a failure to delete must not turn into a retry (a duplicate).
      await fsp.unlink(msg.path).catch(() => {});
    } catch (e) {
      error = describe(e);
    }
    parentPort.postMessage({ type: 'done', id: msg.id, error, buffers: [] });
    return;
  }
  const chunks = msg.buffers.map((b, i) => Buffer.from(b, 0, msg.lengths[i]));
  try {
    if (msg.type === 'spill') await writeSpill(msg.path, chunks);
    else await exec(msg.query, Readable.from(chunks, { objectMode: false }));
  } catch (e) {
    error = describe(e);
  }
  // The buffers go back either way: for the pool, or for a retry.
  parentPort.postMessage({ type: 'done', id: msg.id, error, buffers: msg.buffers }, msg.buffers);
});
`;

/** Inserts on a worker thread; chunk buffers are transferred there and back, never copied. */
export function workerThreadInserter(config: WorkerInserterConfig): TelemetryInserter {
  const clientPath = createRequire(import.meta.url).resolve('@clickhouse/client');
  const pending = new Map<number, Pending>();
  let nextId = 1;
  let worker: Worker | null = null;
  let closedResolve: (() => void) | null = null;

  const failAll = (message: string) => {
    for (const [id, p] of pending) {
      pending.delete(id);
      // The buffers were lost with the worker; the rows can't be retried.
      p.reject(new TelemetryInsertError(message, 'WORKER_LOST', []));
    }
  };

  const start = (): Worker => {
    const w = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { niceness: 10, ...config, clientPath },
    });
    w.unref();
    w.on(
      'message',
      (msg: {
        type: string;
        id: number;
        error: { message: string; code: string } | null;
        buffers: ArrayBuffer[];
      }) => {
        if (msg.type === 'closed') {
          closedResolve?.();
          return;
        }
        const p = pending.get(msg.id);
        if (!p) return;
        pending.delete(msg.id);
        if (pending.size === 0) w.unref();
        const chunks = msg.buffers.map((b, i) => Buffer.from(b, 0, p.lengths[i]));
        if (msg.error) p.reject(new TelemetryInsertError(msg.error.message, msg.error.code, chunks));
        else p.resolve(chunks);
      },
    );
    w.on('error', (error) => failAll(`telemetry insert worker failed: ${error.message}`));
    w.on('exit', () => {
      if (worker === w) worker = null;
      failAll('telemetry insert worker exited');
    });
    return w;
  };

  /** Sends one job to the worker; chunk buffers are transferred with it and come back in the answer. */
  const post = (message: { type: string; query?: string; path?: string }, chunks: Buffer[]) =>
    new Promise<Buffer[]>((resolve, reject) => {
      worker ??= start();
      const id = nextId++;
      const buffers: ArrayBuffer[] = [];
      for (const c of chunks) {
        // Chunks own their ArrayBuffer from offset 0 (see RowBinaryBuffer); anything else is copied.
        const whole =
          c.byteOffset === 0 && c.buffer instanceof ArrayBuffer ? c.buffer : new Uint8Array(c).buffer;
        buffers.push(whole as ArrayBuffer);
      }
      pending.set(id, { resolve, reject, lengths: chunks.map((c) => c.length) });
      // Referenced only while jobs are in flight: an idle sink must not keep the process alive,
      // but a script awaiting close() must not exit with its rows still on the wire.
      worker.ref();
      worker.postMessage({ ...message, id, buffers, lengths: chunks.map((c) => c.length) }, buffers);
    });

  return {
    insert: (query, chunks) => post({ type: 'insert', query }, chunks),
    // Disk writes happen on the worker too, so a slow disk never stalls the control thread.
    spill: (path, chunks) => post({ type: 'spill', path }, chunks),
    insertFile: async (query, path) => {
      await post({ type: 'insertFile', query, path }, []);
    },
    close: async () => {
      const w = worker;
      if (!w) return;
      await new Promise<void>((resolve) => {
        closedResolve = resolve;
        w.postMessage({ type: 'close' });
        setTimeout(resolve, 2_000).unref();
      });
      worker = null;
      await w.terminate();
    },
  };
}
