import { createRequire } from 'node:module';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeFetchResponse, LeanRecord } from '../../../src/adapters/kafka/decodeFetchResponse';
import { kafkajsFallbacks, kafkajsFetchDecode } from '../../../src/adapters/kafka/installFetchDecoder';

// kafkajs's own encoders build the record batches, so the bytes are what a broker would send.
const require = createRequire(import.meta.url);
const { RecordBatch } = require('kafkajs/src/protocol/recordBatch/v0') as {
  RecordBatch: (opts: object) => Promise<{ buffer: Buffer }>;
};
const Record = require('kafkajs/src/protocol/recordBatch/record/v0') as (opts: object) => unknown;
const Long = require('kafkajs/src/utils/long') as { fromValue(v: string | number): unknown };
const { Types: Compression } = require('kafkajs/src/protocol/message/compression') as {
  Types: { None: number; GZIP: number };
};

interface RecordSpec {
  key: string | null;
  value: string | null;
  headers: Record<string, string | string[]>;
  timestampDelta: number;
}

interface BatchSpec {
  firstOffset: string;
  firstTimestamp: number;
  compressed: boolean;
  transactional: boolean;
  records: RecordSpec[];
}

const int16 = (n: number) => {
  const b = Buffer.alloc(2);
  b.writeInt16BE(n);
  return b;
};
const int32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
};
const int64 = (n: string) => {
  const b = Buffer.alloc(8);
  b.writeBigInt64BE(BigInt(n));
  return b;
};
const string16 = (s: string) => Buffer.concat([int16(Buffer.byteLength(s)), Buffer.from(s)]);

async function recordBatchBytes(spec: BatchSpec): Promise<Buffer> {
  const records = spec.records.map((r, i) =>
    Record({
      offsetDelta: i,
      timestampDelta: r.timestampDelta,
      key: r.key === null ? null : Buffer.from(r.key),
      value: r.value === null ? null : Buffer.from(r.value),
      headers: Object.fromEntries(
        Object.entries(r.headers).map(([k, v]) => [
          k,
          Array.isArray(v) ? v.map((x) => Buffer.from(x)) : Buffer.from(v),
        ]),
      ),
    }),
  );
  const batch = await RecordBatch({
    compression: spec.compressed ? Compression.GZIP : Compression.None,
    firstOffset: Long.fromValue(spec.firstOffset),
    firstTimestamp: spec.firstTimestamp,
    maxTimestamp: spec.firstTimestamp + 1_000,
    lastOffsetDelta: Math.max(0, spec.records.length - 1),
    transactional: spec.transactional,
    records,
  });
  // RecordBatch encodes it as on the wire: first offset, length, the batch.
  return batch.buffer;
}

/** A Fetch v11 response body (after the size and correlation id) with one topic. */
async function fetchResponse(
  topic: string,
  partitions: { partition: number; highWatermark: string; batches: BatchSpec[]; cutLastBytes?: number }[],
): Promise<Buffer> {
  const parts: Buffer[] = [int32(0), int16(0), int32(0), int32(1), string16(topic), int32(partitions.length)];
  for (const p of partitions) {
    let records = Buffer.concat(await Promise.all(p.batches.map(recordBatchBytes)));
    // The broker cuts the last batch short at the fetch's size limit.
    if (p.cutLastBytes) records = records.subarray(0, records.length - p.cutLastBytes);
    parts.push(
      int32(p.partition),
      int16(0),
      int64(p.highWatermark),
      int64(p.highWatermark),
      int64('0'),
      int32(0),
      int32(-1),
      int32(records.length),
      records,
    );
  }
  return Buffer.concat(parts);
}

/** Every field kafkajs's consumer or a user could read, as plain data. */
function plain(record: unknown) {
  const r = record as {
    magicByte: number;
    attributes: number;
    timestamp: string;
    offset: string;
    key: Buffer | null;
    value: Buffer | null;
    headers: Record<string, Buffer | Buffer[]>;
    isControlRecord: boolean;
    batchContext: object;
  };
  const text = (b: Buffer | null) => (b === null ? null : b.toString('utf8'));
  return {
    magicByte: r.magicByte,
    attributes: r.attributes,
    timestamp: r.timestamp,
    offset: r.offset,
    key: text(r.key),
    value: text(r.value),
    headers: Object.fromEntries(
      Object.entries(r.headers).map(([k, v]) => [k, Array.isArray(v) ? v.map(text) : text(v)]),
    ),
    isControlRecord: r.isControlRecord,
    batchContext: { ...r.batchContext },
  };
}

async function bothWays(raw: Buffer) {
  const ours = (await decodeFetchResponse(raw, kafkajsFallbacks())) as {
    responses: { partitions: { messages: unknown[] }[] }[];
  };
  const theirs = (await kafkajsFetchDecode()(raw)) as typeof ours;
  const flatten = (r: typeof ours) => ({
    ...r,
    responses: r.responses.map((t) => ({
      ...t,
      partitions: t.partitions.map((p) => ({ ...p, messages: p.messages.map(plain) })),
    })),
  });
  return { ours: flatten(ours), theirs: flatten(theirs), raw: ours };
}

const aRecord = (value: string, key: string | null = 'site-1'): RecordSpec => ({
  key,
  value,
  headers: {},
  timestampDelta: 0,
});

/** A plain record batch (uncompressed, not transactional) unless `more` says otherwise. */
const aBatch = (firstOffset: string, records: RecordSpec[], more: Partial<BatchSpec> = {}): BatchSpec => ({
  firstOffset,
  firstTimestamp: 1_765_000_000_000,
  compressed: false,
  transactional: false,
  records,
  ...more,
});

describe('decodeFetchResponse (evflex’s Fetch v11 decoder in place of kafkajs’s)', () => {
  it('reads a fleet-state fetch exactly as kafkajs does: offsets, keys, values, timestamps, batch context', async () => {
    const raw = await fetchResponse('evflex.fleet.state', [
      {
        partition: 3,
        highWatermark: '1250',
        batches: [
          aBatch('1000', [aRecord('{"kind":"evseState"}'), aRecord('{"kind":"topology"}', null)]),
          aBatch(
            '1002',
            [
              { key: 'site-ü', value: null, headers: { trace: 'a', hop: ['x', 'y'] }, timestampDelta: 17 },
              { key: '', value: '', headers: {}, timestampDelta: -3 },
            ],
            { firstTimestamp: 1_765_000_000_500 },
          ),
        ],
      },
      { partition: 4, highWatermark: '0', batches: [] },
    ]);
    const { ours, theirs, raw: decoded } = await bothWays(raw);
    expect(ours).toEqual(theirs);
    const messages = decoded.responses[0]?.partitions[0]?.messages ?? [];
    expect(messages.map((m) => (m as LeanRecord).offset)).toEqual(['1000', '1001', '1002', '1003']);
    expect(messages.every((m) => m instanceof LeanRecord)).toBe(true);
  });

  it('drops a last batch the broker cut short, as kafkajs does (it comes again whole)', async () => {
    const batch = (firstOffset: string) => aBatch(firstOffset, [aRecord('{"a":1}'), aRecord('{"b":2}')]);
    const raw = await fetchResponse('t', [
      { partition: 0, highWatermark: '9', batches: [batch('0'), batch('2')], cutLastBytes: 5 },
    ]);
    const { ours, theirs } = await bothWays(raw);
    expect(ours).toEqual(theirs);
    expect(ours.responses[0]?.partitions[0]?.messages.map((m) => m.offset)).toEqual(['0', '1']);
  });

  it('leaves compressed batches (snapshots are gzipped) to kafkajs and keeps their order among plain ones', async () => {
    const raw = await fetchResponse('evflex.state.snapshots', [
      {
        partition: 1,
        highWatermark: '7',
        batches: [
          aBatch('0', [aRecord('plain-0')], { firstTimestamp: 1 }),
          aBatch('1', [aRecord('gz-1'), aRecord('gz-2')], { firstTimestamp: 2, compressed: true }),
          aBatch('3', [aRecord('plain-3')], { firstTimestamp: 3, transactional: true }),
        ],
      },
    ]);
    const { ours, theirs } = await bothWays(raw);
    expect(ours).toEqual(theirs);
    expect(ours.responses[0]?.partitions[0]?.messages.map((m) => m.value)).toEqual([
      'plain-0',
      'gz-1',
      'gz-2',
      'plain-3',
    ]);
  });

  it('offsets beyond 2^53 are exact', async () => {
    const raw = await fetchResponse('t', [
      {
        partition: 0,
        highWatermark: '9007199254740999',
        batches: [
          aBatch('9007199254740991', [aRecord('a'), aRecord('b'), aRecord('c')], { firstTimestamp: 1 }),
        ],
      },
    ]);
    const { ours, theirs } = await bothWays(raw);
    expect(ours).toEqual(theirs);
    expect(ours.responses[0]?.partitions[0]?.messages.map((m) => m.offset)).toEqual([
      '9007199254740991',
      '9007199254740992',
      '9007199254740993',
    ]);
  });

  it('agrees with kafkajs on random record batches (keys, values, headers, timestamps, offsets)', async () => {
    const text = fc.string({ unit: 'binary', maxLength: 300 });
    const recordSpec = fc.record({
      key: fc.option(fc.string({ maxLength: 40 }), { nil: null }),
      value: fc.option(text, { nil: null }),
      headers: fc.dictionary(
        fc.string({ minLength: 1, maxLength: 8 }),
        fc.oneof(
          fc.string({ maxLength: 10 }),
          fc.array(fc.string({ maxLength: 10 }), { minLength: 2, maxLength: 3 }),
        ),
        { maxKeys: 3 },
      ),
      timestampDelta: fc.integer({ min: -100_000, max: 10_000_000 }),
    });
    const batchSpec = fc.record({
      firstOffset: fc.bigInt({ min: 0n, max: 2n ** 60n }).map(String),
      firstTimestamp: fc.integer({ min: 0, max: 2 ** 45 }),
      compressed: fc.boolean(),
      transactional: fc.boolean(),
      records: fc.array(recordSpec, { minLength: 1, maxLength: 6 }),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(batchSpec, { minLength: 1, maxLength: 4 }), async (batches) => {
        const raw = await fetchResponse('t', [{ partition: 2, highWatermark: '100', batches }]);
        const { ours, theirs } = await bothWays(raw);
        expect(ours).toEqual(theirs);
      }),
      { numRuns: 150 },
    );
  });
});
