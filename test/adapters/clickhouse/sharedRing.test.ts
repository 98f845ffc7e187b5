import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { SharedRing } from '../../../src/adapters/clickhouse/sharedRing';
import { workerThreadInserter } from '../../../src/adapters/clickhouse/workerThreadInserter';

const readAll = (ring: SharedRing): number[][] => {
  const out: number[][] = [];
  ring.read((record, length) => {
    out.push(Array.from(record.subarray(0, length)));
    return true;
  });
  return out;
};

/** Job-like records of varying length: [seq, seq + 1, …]. */
const aRecord = (seq: number) => Array.from({ length: 1 + (seq % 6) }, (_, i) => seq + i);

describe('SharedRing', () => {
  it('keeps records whole and in order across many wrap-arounds', () => {
    const ring = SharedRing.create(16);
    expect(ring.capacityWords).toBe(16);
    let written = 0;
    let read = 0;
    for (let round = 0; round < 500; round++) {
      // Write until full, then read a part: the records straddle the end of the data words.
      while (ring.tryWrite(aRecord(written))) written++;
      const got = readAll(ring);
      for (const record of got) expect(record).toEqual(aRecord(read++));
    }
    expect(read).toBe(written);
    expect(written).toBeGreaterThan(500);
    expect(ring.usedWords).toBe(0);
  });

  it('refuses a record that does not fit now, writes nothing, and takes it once there is room', () => {
    const ring = SharedRing.create(16);
    expect(ring.tryWrite([1, 2, 3, 4, 5, 6, 7])).toBe(true); // 8 words with its length
    expect(ring.tryWrite([8, 9, 10, 11, 12, 13])).toBe(true); // 7: 15 of 16 used
    expect(ring.tryWrite([14])).toBe(false); // needs 2
    expect(ring.usedWords).toBe(15);
    expect(ring.fits(15)).toBe(true);
    expect(ring.fits(16)).toBe(false);
    expect(readAll(ring)).toEqual([
      [1, 2, 3, 4, 5, 6, 7],
      [8, 9, 10, 11, 12, 13],
    ]);
    expect(ring.tryWrite([14])).toBe(true);
    expect(readAll(ring)).toEqual([[14]]);
  });

  it('leaves a record the consumer cannot take yet, and the ones after it', () => {
    const ring = SharedRing.create(16);
    ring.tryWrite([1]);
    ring.tryWrite([2]);
    ring.tryWrite([3]);
    const seen: number[] = [];
    const n = ring.read((record) => {
      if (record[0] === 2) return false;
      seen.push(record[0]);
      return true;
    });
    expect(n).toBe(1);
    expect(seen).toEqual([1]);
    expect(readAll(ring)).toEqual([[2], [3]]);
  });

  it('carries jobs one way and completions back between two views of the same buffers, wrap-around included', () => {
    const jobs = SharedRing.create(32);
    const completions = SharedRing.create(16);
    // The insert thread's side: its own SharedRing over each buffer, as insertWorkerMain builds them.
    const workerJobs = new SharedRing(jobs.buffer);
    const workerCompletions = new SharedRing(completions.buffer);
    const completed: number[] = [];
    for (let seq = 0; seq < 300; seq++) {
      expect(jobs.tryWrite(aRecord(seq))).toBe(true);
      workerJobs.read((record, length) => {
        expect(Array.from(record.subarray(0, length))).toEqual(aRecord(seq));
        return workerCompletions.tryWrite([record[0] as number]);
      });
      // Completions read every third job: several wait in the ring, in order.
      if (seq % 3 === 2) for (const [id] of readAll(completions)) completed.push(id as number);
    }
    for (const [id] of readAll(completions)) completed.push(id as number);
    expect(completed).toEqual(Array.from({ length: 300 }, (_, i) => i));
    // And the other side's producer refuses when full.
    while (workerCompletions.tryWrite([1, 2, 3])) {}
    expect(completions.usedWords).toBeGreaterThan(16 - 4);
  });
});

describe('worker-thread inserter over shared rings', () => {
  let server: Server | null = null;
  afterEach(() => {
    server?.close();
    server = null;
  });

  /** A stand-in ClickHouse HTTP endpoint: answers every insert, or fails it with a server error. */
  const anHttpServer = async (fail: (query: string) => boolean) => {
    const received: Array<{ query: string; bytes: number }> = [];
    server = createServer((req, res) => {
      let bytes = 0;
      req.on('data', (d: Buffer) => {
        bytes += d.length;
      });
      req.on('end', () => {
        const query = new URL(req.url ?? '/', 'http://x').searchParams.get('query') ?? '';
        if (fail(query)) {
          res.writeHead(500, { 'X-ClickHouse-Exception-Code': '27' });
          res.end(
            'Code: 27. DB::Exception: Cannot parse input. (CANNOT_PARSE_INPUT_ASSERTION_FAILED) (version 24.1.1.1)\n',
          );
          return;
        }
        received.push({ query, bytes });
        res.end();
      });
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    return { url: `http://127.0.0.1:${(server!.address() as AddressInfo).port}`, received };
  };

  const aChunk = (bytes: number, fill: number) => {
    const chunk = Buffer.from(new SharedArrayBuffer(bytes));
    chunk.fill(fill);
    return chunk;
  };

  it('sends every insert through a small ring, answers each with its own chunks, and says when the ring is full', async () => {
    const { url, received } = await anHttpServer((q) => q.includes('bad'));
    const inserter = workerThreadInserter({
      url,
      username: 'default',
      password: '',
      requestTimeoutMs: 5_000,
      maxOpenConnections: 4,
      jobRingWords: 16, // room for two 2-chunk jobs: wraps around every few inserts
    });
    try {
      const results: Array<Promise<Buffer[]>> = [];
      const sent: Buffer[][] = [];
      let refused = 0;
      for (let i = 0; results.length < 60; i++) {
        const chunks = [aChunk(100 + i, i), aChunk(7, i)];
        const inserting = inserter.insert(`INSERT INTO t${i % 3} FORMAT RowBinary`, chunks);
        if (!inserting) {
          // Full: the caller keeps its rows and offers them again later; nothing blocks.
          refused++;
          await new Promise((r) => setTimeout(r, 2));
          continue;
        }
        results.push(inserting);
        sent.push(chunks);
      }
      const answers = await Promise.all(results);
      for (const [i, chunks] of answers.entries()) expect(chunks).toBe(sent[i]);
      expect(refused).toBeGreaterThan(0);
      expect(received).toHaveLength(60);
      expect(received.reduce((n, r) => n + r.bytes, 0)).toBe(sent.reduce((n, c) => n + c[0].length + 7, 0));

      // A server error comes back with its code, and the chunks for a retry.
      const bad = [aChunk(10, 1)];
      const failed = await inserter.insert('INSERT INTO bad FORMAT RowBinary', bad)!.catch((e) => e);
      expect(failed).toMatchObject({ serverCode: '27', chunks: bad });
    } finally {
      await inserter.close();
    }
  });
});
