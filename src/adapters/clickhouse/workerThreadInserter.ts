import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { RING_HEAD, RING_TAIL, SHARED_RING_JS, SharedRing } from './sharedRing';
import { TelemetryInsertError, type TelemetryInserter } from './telemetryInserter';

export interface WorkerInserterConfig {
  url: string;
  username: string;
  password: string;
  requestTimeoutMs: number;
  maxOpenConnections: number;
  /** Nice value of the insert thread (0–19); telemetry should yield to control. */
  niceness?: number;
  /** Words in the job ring (3 per chunk + 4 per insert); an insert too big for it goes by message. */
  jobRingWords?: number;
  /** How often the control thread looks for finished inserts while some are in flight. */
  completionPollMs?: number;
  /** How often the insert thread looks for new jobs. */
  jobPollMs?: number;
  /** The same once it has had no work for a second. */
  idlePollMs?: number;
}

interface Pending {
  resolve: (chunks: Buffer[]) => void;
  reject: (error: TelemetryInsertError) => void;
  /** The caller's chunks: they never leave this thread, so they go back as they are. */
  chunks: Buffer[];
  /** The shared memory the worker reads (the same buffers unless they had to be copied). */
  shared: Buffer[];
  viaRing: boolean;
}

interface WorkerReply {
  type: 'done' | 'closed';
  id: number;
  error: { message: string; code: string } | null;
}

/*
 * The worker is plain JavaScript run with `eval: true`, so it starts the same way under tsx,
 * vitest and plain node (a .ts worker file would need each runner's loader). It only moves
 * bytes: the control thread encodes rows, this thread does HTTP, so socket writes, response
 * parsing and the client's promise churn never sit between two control steps.
 *
 * Inserts come and go through two SharedRings (see sharedRing.ts) and the rows are read in
 * place from SharedArrayBuffer chunks: a job is [id, queryId, chunkCount, (chunkId, offset,
 * length)…], a completion is [id]. Messages carry only what is rare: a new chunk or query
 * (registered once), an error with its text, spill files, inserts too big for the ring, close.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { Readable } = require('node:stream');
const { createClient, ClickHouseError, ClickHouseLogLevel } = require(workerData.clientPath);
${SHARED_RING_JS}
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
const jobs = new Int32Array(workerData.jobRing);
const completions = new Int32Array(workerData.completionRing);
const chunks = new Map();
const queries = new Map();
const unsentCompletions = [];
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
const views = (msg) => msg.buffers.map((b, i) => Buffer.from(b, msg.offsets[i], msg.lengths[i]));
function sendCompletions() {
  while (unsentCompletions.length > 0 && ringWrite(completions, [unsentCompletions[0]])) unsentCompletions.shift();
}
async function insertFromRing(id, query, body) {
  try {
    await exec(query, Readable.from(body, { objectMode: false }));
  } catch (e) {
    // Errors are rare and carry text: they go by message.
    parentPort.postMessage({ type: 'done', id, error: describe(e) });
    return;
  }
  unsentCompletions.push(id);
  sendCompletions();
}
function takeJob(job) {
  const query = queries.get(job[1]);
  if (query === undefined) return false;
  const body = [];
  for (let i = 0; i < job[2]; i++) {
    const chunk = chunks.get(job[3 + 3 * i]);
    // Registered by a message posted before the job was written; not delivered yet.
    if (chunk === undefined) return false;
    body.push(Buffer.from(chunk, job[4 + 3 * i], job[5 + 3 * i]));
  }
  void insertFromRing(job[0], query, body);
  return true;
}
// Polled: the control thread never calls Atomics.notify (see sharedRing.ts), and a timer,
// unlike Atomics.wait, leaves this thread's own socket I/O running between polls. After a
// second without work the poll slows down, so an idle sink costs next to nothing.
let idlePolls = 0;
function poll() {
  sendCompletions();
  const taken = ringRead(jobs, takeJob);
  const waiting = Atomics.load(jobs, ${RING_TAIL}) !== jobs[${RING_HEAD}] || unsentCompletions.length > 0;
  idlePolls = taken > 0 || waiting ? 0 : idlePolls + 1;
  setTimeout(poll, idlePolls * workerData.jobPollMs >= 1000 ? workerData.idlePollMs : workerData.jobPollMs);
}
poll();
parentPort.on('message', async (msg) => {
  if (msg.type === 'chunks') {
    for (const [id, buffer] of msg.chunks) chunks.set(id, buffer);
    return;
  }
  if (msg.type === 'forget') {
    chunks.delete(msg.id);
    return;
  }
  if (msg.type === 'query') {
    queries.set(msg.id, msg.query);
    return;
  }
  if (msg.type === 'close') {
    await client.close().catch(() => {});
    parentPort.postMessage({ type: 'closed' });
    return;
  }
  let error = null;
  try {
    if (msg.type === 'insertFile') {
      await exec(msg.query, fs.createReadStream(msg.path, { highWaterMark: 1 << 20 }));
      // The rows are in: a failure to delete must not turn into a retry (a duplicate).
      await fsp.unlink(msg.path).catch(() => {});
    } else if (msg.type === 'spill') await writeSpill(msg.path, views(msg));
    else await exec(msg.query, Readable.from(views(msg), { objectMode: false }));
  } catch (e) {
    error = describe(e);
  }
  parentPort.postMessage({ type: 'done', id: msg.id, error });
});
`;

/**
 * Inserts on a worker thread. Chunks are SharedArrayBuffers the worker reads in place; inserts
 * and their completions travel through shared rings, so in steady state the control thread
 * takes no lock the insert thread may hold (see sharedRing.ts). Chunks that are not shared are
 * copied into shared memory first.
 */
export function workerThreadInserter(config: WorkerInserterConfig): TelemetryInserter {
  const clientPath = createRequire(import.meta.url).resolve('@clickhouse/client');
  const jobRingWords = config.jobRingWords ?? 16_384;
  const completionPollMs = config.completionPollMs ?? 2;
  const pending = new Map<number, Pending>();
  let nextId = 1;
  let nextChunkId = 1;
  let nextQueryId = 1;
  let worker: Worker | null = null;
  // Per worker: a restarted worker starts with fresh rings and registers chunks again.
  let jobRing = SharedRing.create(jobRingWords);
  let completionRing = SharedRing.create(1024);
  let chunkIds = new WeakMap<SharedArrayBuffer, number>();
  let queryIds = new Map<string, number>();
  let ringJobs = 0;
  let pollTimer: NodeJS.Timeout | null = null;
  let closedResolve: (() => void) | null = null;
  let job = new Int32Array(64);
  // A chunk the pool lets go is forgotten by the worker too, so its memory can be freed.
  const forgetChunk = new FinalizationRegistry<{ owner: Worker; id: number }>(({ owner, id }) => {
    if (owner === worker) owner.postMessage({ type: 'forget', id });
  });

  const settle = (id: number, error: TelemetryInsertError | null) => {
    const p = pending.get(id);
    if (!p) return;
    pending.delete(id);
    if (p.viaRing) ringJobs--;
    if (ringJobs === 0 && pollTimer) {
      clearInterval(pollTimer);
      pollTimer = null;
    }
    if (pending.size === 0) worker?.unref();
    if (error) p.reject(error);
    else p.resolve(p.chunks);
  };

  const onCompletion = (record: Int32Array) => {
    settle(record[0], null);
    return true;
  };
  const pollCompletions = () => {
    completionRing.read(onCompletion);
  };

  const failAll = (message: string) => {
    // The rows are still in this thread's chunks: the sink retries them on a new worker.
    for (const [id, p] of pending) settle(id, new TelemetryInsertError(message, 'WORKER_LOST', p.chunks));
  };

  const start = (): Worker => {
    jobRing = SharedRing.create(jobRingWords);
    completionRing = SharedRing.create(1024);
    chunkIds = new WeakMap();
    queryIds = new Map();
    const w = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: {
        ...config,
        niceness: config.niceness ?? 10,
        jobPollMs: config.jobPollMs ?? 1,
        idlePollMs: config.idlePollMs ?? 20,
        clientPath,
        jobRing: jobRing.buffer,
        completionRing: completionRing.buffer,
      },
    });
    w.unref();
    w.on('message', (msg: WorkerReply) => {
      if (msg.type === 'closed') {
        closedResolve?.();
        return;
      }
      const p = pending.get(msg.id);
      if (!p) return;
      if (msg.error) settle(msg.id, new TelemetryInsertError(msg.error.message, msg.error.code, p.chunks));
      else settle(msg.id, null);
    });
    w.on('error', (error) => failAll(`telemetry insert worker failed: ${error.message}`));
    w.on('exit', () => {
      if (worker === w) worker = null;
      failAll('telemetry insert worker exited');
    });
    return w;
  };

  /** The chunks as views of shared memory (copied there when they are not). */
  const toShared = (chunks: Buffer[]): Buffer[] => {
    if (chunks.every((c) => c.buffer instanceof SharedArrayBuffer)) return chunks;
    return chunks.map((c) => {
      if (c.buffer instanceof SharedArrayBuffer) return c;
      const view = Buffer.from(new SharedArrayBuffer(c.length));
      c.copy(view);
      return view;
    });
  };

  /** Tells the worker (by one message) about the chunks it has not seen; pool reuse makes it rare. */
  const register = (w: Worker, shared: Buffer[]) => {
    const fresh: Array<[number, SharedArrayBuffer]> = [];
    for (const c of shared) {
      const buffer = c.buffer as SharedArrayBuffer;
      if (chunkIds.has(buffer)) continue;
      const id = nextChunkId++;
      chunkIds.set(buffer, id);
      forgetChunk.register(buffer, { owner: w, id });
      fresh.push([id, buffer]);
    }
    if (fresh.length > 0) w.postMessage({ type: 'chunks', chunks: fresh });
  };

  const queryId = (w: Worker, query: string): number => {
    let id = queryIds.get(query);
    if (id === undefined) {
      id = nextQueryId++;
      queryIds.set(query, id);
      w.postMessage({ type: 'query', id, query });
    }
    return id;
  };

  const track = (w: Worker, id: number, chunks: Buffer[], shared: Buffer[], viaRing: boolean) =>
    new Promise<Buffer[]>((resolve, reject) => {
      pending.set(id, { resolve, reject, chunks, shared, viaRing });
      // Referenced only while jobs are in flight: an idle sink must not keep the process alive,
      // but a script awaiting close() must not exit with its rows still on the wire.
      w.ref();
    });

  /** A job by message (rare paths): SharedArrayBuffers are shared with it, not copied. */
  const post = (message: { type: string; query?: string; path?: string }, chunks: Buffer[]) => {
    worker ??= start();
    const w = worker;
    const id = nextId++;
    const shared = toShared(chunks);
    const promise = track(w, id, chunks, shared, false);
    w.postMessage({
      ...message,
      id,
      buffers: shared.map((c) => c.buffer),
      offsets: shared.map((c) => c.byteOffset),
      lengths: shared.map((c) => c.length),
    });
    return promise;
  };

  const insert = (query: string, chunks: Buffer[]): Promise<Buffer[]> | null => {
    const length = 3 + 3 * chunks.length;
    if (!jobRing.fits(length) || worker === null) {
      // Too big for the ring (huge rows), or the first insert, which starts the worker.
      return post({ type: 'insert', query }, chunks);
    }
    const w = worker;
    // Checked before anything is registered, so a full ring costs nothing.
    if (jobRing.capacityWords - jobRing.usedWords < length + 1) return null;
    const shared = toShared(chunks);
    register(w, shared);
    if (job.length < length) job = new Int32Array(length * 2);
    const id = nextId++;
    job[0] = id;
    job[1] = queryId(w, query);
    job[2] = shared.length;
    for (let i = 0; i < shared.length; i++) {
      job[3 + 3 * i] = chunkIds.get(shared[i].buffer as SharedArrayBuffer)!;
      job[4 + 3 * i] = shared[i].byteOffset;
      job[5 + 3 * i] = shared[i].length;
    }
    // Only this thread writes the ring and it had the room: this cannot fail.
    jobRing.tryWrite(job, length);
    ringJobs++;
    pollTimer ??= setInterval(pollCompletions, completionPollMs);
    return track(w, id, chunks, shared, true);
  };

  return {
    insert,
    // Disk writes happen on the worker too, so a slow disk never stalls the control thread.
    spill: (path, chunks) => post({ type: 'spill', path }, chunks),
    insertFile: async (query, path) => {
      await post({ type: 'insertFile', query, path }, []);
    },
    close: async () => {
      if (pollTimer) clearInterval(pollTimer);
      pollTimer = null;
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
