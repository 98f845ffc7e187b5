/**
 * The telemetry insert thread (started by workerThreadInserter.ts). It only moves bytes: the
 * control thread encodes rows, this thread does HTTP, so socket writes, response parsing and
 * the client's promise churn never sit between two control steps.
 *
 * Inserts come and go through two SharedRings (see sharedRing.ts) and the rows are read in
 * place from SharedArrayBuffer chunks: a job is [id, queryId, chunkCount, (chunkId, offset,
 * length)…], a completion is [id]. Messages carry only what is rare: a new chunk or query
 * (registered once), an error with its text, spill files, inserts too big for the ring, close.
 */
import { createReadStream } from 'node:fs';
import { unlink } from 'node:fs/promises';
import { setPriority } from 'node:os';
import { Readable } from 'node:stream';
import { parentPort, workerData } from 'node:worker_threads';
import { ClickHouseError, ClickHouseLogLevel, createClient } from '@clickhouse/client';
import { SharedRing } from './sharedRing';
import { writeSpillFile } from './spillFiles';

/** What the control thread hands this thread at start. */
export interface InsertWorkerData {
  url: string;
  username: string;
  password: string;
  requestTimeoutMs: number;
  maxOpenConnections: number;
  niceness: number;
  jobPollMs: number;
  idlePollMs: number;
  jobRing: SharedArrayBuffer;
  completionRing: SharedArrayBuffer;
}

/** Messages from the control thread (rare paths; the common insert goes through the job ring). */
export type ToInsertWorker =
  | { type: 'chunks'; chunks: Array<[number, SharedArrayBuffer]> }
  | { type: 'forget'; id: number }
  | { type: 'query'; id: number; query: string }
  | { type: 'close' }
  | ({ id: number; buffers: SharedArrayBuffer[]; offsets: number[]; lengths: number[] } & (
      | { type: 'insert'; query: string }
      | { type: 'spill'; path: string }
      | { type: 'insertFile'; query: string; path: string }
    ));

const port = parentPort!;
const data = workerData as InsertWorkerData;
// On Linux nice is per thread: this lowers only the insert thread, so under CPU contention
// the control thread runs first and telemetry waits (it is buffered anyway).
try {
  setPriority(data.niceness);
} catch {
  // Not permitted here: the thread runs at the process's priority.
}
const client = createClient({
  url: data.url,
  username: data.username,
  password: data.password,
  request_timeout: data.requestTimeoutMs,
  max_open_connections: data.maxOpenConnections,
  application: 'evflex',
  compression: { request: false, response: false },
  log: { level: ClickHouseLogLevel.OFF },
});
const jobs = new SharedRing(data.jobRing);
const completions = new SharedRing(data.completionRing);
const chunks = new Map<number, SharedArrayBuffer>();
const queries = new Map<number, string>();
const unsentCompletions: number[] = [];
const completion = new Int32Array(1);

const describe = (e: unknown) => ({
  message: String(e instanceof Error ? e.message : e),
  code: e instanceof ClickHouseError ? String(e.code) : String((e as { code?: unknown } | null)?.code ?? ''),
});

async function exec(query: string, values: Readable): Promise<void> {
  const result = await client.exec({ query, values });
  await new Promise((resolve, reject) => {
    result.stream.once('end', resolve);
    result.stream.once('error', reject);
    result.stream.resume();
  });
}

function sendCompletions() {
  while (unsentCompletions.length > 0) {
    completion[0] = unsentCompletions[0] as number;
    if (!completions.tryWrite(completion)) return;
    unsentCompletions.shift();
  }
}

async function insertFromRing(id: number, query: string, body: Buffer[]) {
  try {
    await exec(query, Readable.from(body, { objectMode: false }));
  } catch (e) {
    // Errors are rare and carry text: they go by message.
    port.postMessage({ type: 'done', id, error: describe(e) });
    return;
  }
  unsentCompletions.push(id);
  sendCompletions();
}

function takeJob(job: Int32Array): boolean {
  const query = queries.get(job[1] as number);
  if (query === undefined) return false;
  const body: Buffer[] = [];
  for (let i = 0; i < (job[2] as number); i++) {
    const chunk = chunks.get(job[3 + 3 * i] as number);
    // Registered by a message posted before the job was written; not delivered yet.
    if (chunk === undefined) return false;
    body.push(Buffer.from(chunk, job[4 + 3 * i], job[5 + 3 * i]));
  }
  void insertFromRing(job[0] as number, query, body);
  return true;
}

// Polled: the control thread never calls Atomics.notify (see sharedRing.ts), and a timer,
// unlike Atomics.wait, leaves this thread's own socket I/O running between polls. After a
// second without work the poll slows down, so an idle sink costs next to nothing.
let idlePolls = 0;
function poll() {
  sendCompletions();
  const taken = jobs.read(takeJob);
  const waiting = jobs.usedWords > 0 || unsentCompletions.length > 0;
  idlePolls = taken > 0 || waiting ? 0 : idlePolls + 1;
  setTimeout(poll, idlePolls * data.jobPollMs >= 1000 ? data.idlePollMs : data.jobPollMs);
}
poll();

const views = (msg: { buffers: SharedArrayBuffer[]; offsets: number[]; lengths: number[] }) =>
  msg.buffers.map((b, i) => Buffer.from(b, msg.offsets[i], msg.lengths[i]));

port.on('message', async (msg: ToInsertWorker) => {
  switch (msg.type) {
    case 'chunks':
      for (const [id, buffer] of msg.chunks) chunks.set(id, buffer);
      return;
    case 'forget':
      chunks.delete(msg.id);
      return;
    case 'query':
      queries.set(msg.id, msg.query);
      return;
    case 'close':
      await client.close().catch(() => {});
      port.postMessage({ type: 'closed' });
      return;
  }
  let error: { message: string; code: string } | null = null;
  try {
    if (msg.type === 'insertFile') {
      await exec(msg.query, createReadStream(msg.path, { highWaterMark: 1 << 20 }));
      // The rows are in: a failure to delete must not turn into a retry (a duplicate).
      await unlink(msg.path).catch(() => {});
    } else if (msg.type === 'spill') await writeSpillFile(msg.path, views(msg));
    else await exec(msg.query, Readable.from(views(msg), { objectMode: false }));
  } catch (e) {
    error = describe(e);
  }
  port.postMessage({ type: 'done', id: msg.id, error });
});
