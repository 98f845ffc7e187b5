import { Worker } from 'node:worker_threads';
import type { InsertWorkerData } from './insertWorkerMain';
import { SharedRing } from './sharedRing';
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

/**
 * Inserts on a worker thread. Chunks are SharedArrayBuffers the worker reads in place; inserts
 * and their completions travel through shared rings, so in steady state the control thread
 * takes no lock the insert thread may hold (see sharedRing.ts). Chunks that are not shared are
 * copied into shared memory first.
 */
export function workerThreadInserter(config: WorkerInserterConfig): TelemetryInserter {
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
    const data: InsertWorkerData & { entry: string } = {
      // The insert thread's code (insertWorkerMain.ts), loaded the way the engine thread is.
      entry: new URL('./insertWorkerMain.ts', import.meta.url).href,
      ...config,
      niceness: config.niceness ?? 10,
      jobPollMs: config.jobPollMs ?? 1,
      idlePollMs: config.idlePollMs ?? 20,
      jobRing: jobRing.buffer,
      completionRing: completionRing.buffer,
    };
    const w = new Worker(new URL('../thread/tsWorkerBootstrap.mjs', import.meta.url), { workerData: data });
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
