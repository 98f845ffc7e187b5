/**
 * A Fetch response (version 11, the one kafkajs 2.2.4 speaks to Kafka 2.4 and later) decoded
 * into the shape kafkajs's consumer expects, with records that cost almost nothing until read.
 *
 * Why: kafkajs decodes every record into ~15 objects (a decoder, three buffer views, four
 * 64-bit integers, two strings, a headers object built by a reduce), all of them alive until the
 * whole fetch (up to 10 MiB, ~20,000 records) has been handed over. On the Kafka thread of the
 * service that is a third of the CPU it spends per record, and most of the young-generation
 * copying. Here a record is one small object over the fetch's bytes: its offset string, and
 * where its key, value and headers lie; buffers are made only when read (`key`, `value`,
 * `headers`), and `packRecords` copies the bytes straight from the fetch.
 *
 * Layout (Kafka protocol guide, "Fetch API" and "Record Batch"): a record batch is
 *   baseOffset int64, batchLength int32, partitionLeaderEpoch int32, magic int8, crc int32,
 *   attributes int16, lastOffsetDelta int32, baseTimestamp int64, maxTimestamp int64,
 *   producerId int64, producerEpoch int16, baseSequence int32, records [Record]
 * and a record is
 *   length varint, attributes int8, timestampDelta varlong, offsetDelta varint,
 *   key (varint length, −1 = null), value (same), headers [varint count; key string, value bytes].
 * Batches that are compressed, or in a message format older than magic 2, are decoded by the
 * caller's fallback (kafkajs's own decoder), record batch by record batch.
 */

/** kafkajs's TimestampTypes. */
const LOG_APPEND_TIME = 1;
const CREATE_TIME = 0;
const COMPRESSION_MASK = 0x07;
const TIMESTAMP_TYPE_MASK = 0x08;
const TRANSACTIONAL_MASK = 0x10;
const CONTROL_MASK = 0x20;
/** Bytes of a record batch up to its records' count; a shorter tail is a partial batch. */
const RECORD_BATCH_OVERHEAD = 49;
/** The magic byte's position in a record batch (and in the legacy message set). */
const MAGIC_OFFSET = 16;

export interface BatchContext {
  firstOffset: string;
  firstTimestamp: string;
  partitionLeaderEpoch: number;
  inTransaction: boolean;
  isControlBatch: boolean;
  lastOffsetDelta: number;
  producerId: string;
  producerEpoch: number;
  firstSequence: number;
  maxTimestamp: string;
  timestampType: number;
  magicByte: number;
}

/**
 * One record over the fetch's bytes. `key`, `value` and `headers` are made on first read (as
 * kafkajs makes them: buffer views, null for a null key or value); `keyStart`…`valueEnd` say
 * where the bytes are (−1: null), for readers that copy them instead.
 */
export class LeanRecord {
  readonly magicByte = 2;
  readonly attributes: number;
  readonly isControlRecord: boolean;
  private timestampDelta: number;
  private cachedTimestamp: string | null = null;
  private cachedHeaders: Record<string, Buffer | Buffer[]> | null = null;

  constructor(
    readonly bytes: Buffer,
    readonly offset: string,
    readonly batchContext: BatchContext,
    attributes: number,
    timestampDelta: number,
    readonly keyStart: number,
    readonly keyEnd: number,
    readonly valueStart: number,
    readonly valueEnd: number,
    private readonly headersStart: number,
  ) {
    this.attributes = attributes;
    this.isControlRecord = batchContext.isControlBatch;
    this.timestampDelta = timestampDelta;
  }

  get key(): Buffer | null {
    return this.keyStart < 0 ? null : this.bytes.subarray(this.keyStart, this.keyEnd);
  }

  get value(): Buffer | null {
    return this.valueStart < 0 ? null : this.bytes.subarray(this.valueStart, this.valueEnd);
  }

  get timestamp(): string {
    if (this.cachedTimestamp === null) {
      const { timestampType, maxTimestamp, firstTimestamp } = this.batchContext;
      this.cachedTimestamp =
        timestampType === LOG_APPEND_TIME && maxTimestamp
          ? maxTimestamp
          : addToDecimal(firstTimestamp, this.timestampDelta);
    }
    return this.cachedTimestamp;
  }

  /** As kafkajs gives them: one Buffer per key, an array when a key repeats. */
  get headers(): Record<string, Buffer | Buffer[]> {
    if (this.cachedHeaders === null) this.cachedHeaders = readHeaders(this.bytes, this.headersStart);
    return this.cachedHeaders;
  }
}

/** What kafkajs's fetch decoder returns for one partition. */
export interface FetchPartition {
  partition: number;
  errorCode: number;
  highWatermark: string;
  lastStableOffset: string;
  lastStartOffset: string;
  abortedTransactions: { producerId: string; firstOffset: string }[];
  preferredReadReplica: number;
  messages: unknown[];
}

export interface FetchResponse {
  throttleTime: number;
  clientSideThrottleTime: number;
  errorCode: number;
  sessionId: number;
  responses: { topicName: string | null; partitions: FetchPartition[] }[];
}

/** Decodes bytes the fast path leaves alone into kafkajs's records (kafkajs's decoders behind it). */
export type RecordsFallback = (bytes: Buffer) => Promise<unknown[]>;

export interface FetchDecodeFallbacks {
  /** A partition's whole record set in a legacy message format (magic 0 or 1). */
  legacyRecordSet: RecordsFallback;
  /** One compressed record batch, from its first byte to its last. */
  compressedBatch: RecordsFallback;
}

/** A cursor over a Buffer: the response's fields in order. */
class Reader {
  at = 0;
  constructor(readonly bytes: Buffer) {}

  int16(): number {
    const v = this.bytes.readInt16BE(this.at);
    this.at += 2;
    return v;
  }

  int32(): number {
    const v = this.bytes.readInt32BE(this.at);
    this.at += 4;
    return v;
  }

  int64(): string {
    const v = this.bytes.readBigInt64BE(this.at);
    this.at += 8;
    return v.toString();
  }

  string(): string | null {
    const length = this.int16();
    if (length === -1) return null;
    const v = this.bytes.toString('utf8', this.at, this.at + length);
    this.at += length;
    return v;
  }
}

export async function decodeFetchResponse(
  raw: Buffer,
  fallbacks: FetchDecodeFallbacks,
): Promise<FetchResponse> {
  const r = new Reader(raw);
  const clientSideThrottleTime = r.int32();
  const errorCode = r.int16();
  const sessionId = r.int32();
  const topicCount = r.int32();
  const responses: FetchResponse['responses'] = [];
  for (let t = 0; t < topicCount; t++) {
    const topicName = r.string();
    const partitionCount = r.int32();
    const partitions: FetchPartition[] = [];
    for (let p = 0; p < partitionCount; p++) {
      const partition = r.int32();
      const partitionError = r.int16();
      const highWatermark = r.int64();
      const lastStableOffset = r.int64();
      const lastStartOffset = r.int64();
      const abortedCount = r.int32();
      const abortedTransactions: FetchPartition['abortedTransactions'] = [];
      for (let a = 0; a < abortedCount; a++)
        abortedTransactions.push({ producerId: r.int64(), firstOffset: r.int64() });
      const preferredReadReplica = r.int32();
      const recordSetBytes = r.int32();
      let messages: unknown[] = [];
      if (recordSetBytes > 0 && r.at + recordSetBytes <= raw.length) {
        messages = await decodeRecordSet(raw, r.at, r.at + recordSetBytes, fallbacks);
        r.at += recordSetBytes;
      }
      partitions.push({
        partition,
        errorCode: partitionError,
        highWatermark,
        lastStableOffset,
        lastStartOffset,
        abortedTransactions,
        preferredReadReplica,
        messages,
      });
    }
    responses.push({ topicName, partitions });
  }
  // As kafkajs reports it: the broker did not throttle; a client-side throttle is for the client.
  return { throttleTime: 0, clientSideThrottleTime, errorCode, sessionId, responses };
}

/** The record batches of one partition's record set [start, end); a partial last batch is dropped. */
async function decodeRecordSet(
  raw: Buffer,
  start: number,
  end: number,
  fallbacks: FetchDecodeFallbacks,
): Promise<unknown[]> {
  if (end - start > MAGIC_OFFSET && raw.readInt8(start + MAGIC_OFFSET) !== 2)
    return fallbacks.legacyRecordSet(raw.subarray(start, end));
  const records: unknown[] = [];
  let at = start;
  while (end - at >= RECORD_BATCH_OVERHEAD) {
    const batchLength = raw.readInt32BE(at + 8);
    const batchEnd = at + 12 + batchLength;
    // The broker may cut the last batch short at the fetch's size limit: it comes again whole.
    if (batchEnd > end) break;
    const attributes = raw.readInt16BE(at + 21);
    if ((attributes & COMPRESSION_MASK) !== 0) {
      for (const record of await fallbacks.compressedBatch(raw.subarray(at, batchEnd))) records.push(record);
    } else decodeRecordBatch(raw, at, batchEnd, attributes, records);
    at = batchEnd;
  }
  return records;
}

function decodeRecordBatch(raw: Buffer, at: number, batchEnd: number, attributes: number, out: unknown[]) {
  const firstOffsetBig = raw.readBigInt64BE(at);
  const context: BatchContext = {
    firstOffset: firstOffsetBig.toString(),
    firstTimestamp: raw.readBigInt64BE(at + 27).toString(),
    partitionLeaderEpoch: raw.readInt32BE(at + 12),
    inTransaction: (attributes & TRANSACTIONAL_MASK) > 0,
    isControlBatch: (attributes & CONTROL_MASK) > 0,
    lastOffsetDelta: raw.readInt32BE(at + 23),
    producerId: raw.readBigInt64BE(at + 43).toString(),
    producerEpoch: raw.readInt16BE(at + 51),
    firstSequence: raw.readInt32BE(at + 53),
    maxTimestamp: raw.readBigInt64BE(at + 35).toString(),
    timestampType: (attributes & TIMESTAMP_TYPE_MASK) > 0 ? LOG_APPEND_TIME : CREATE_TIME,
    magicByte: 2,
  };
  // Offsets below 2^53 (every real partition) add as numbers; beyond, as decimal strings.
  const firstOffset = Number(firstOffsetBig);
  const exact = Number.isSafeInteger(firstOffset + context.lastOffsetDelta);
  const count = raw.readInt32BE(at + 57);
  let p = at + 61;
  for (let i = 0; i < count && p < batchEnd; i++) {
    // Record length, then the record; the next one starts after `length` bytes whatever we read.
    let v = readVarint(raw, p);
    const length = varintValue;
    const next = v + length;
    const recordAttributes = raw.readInt8(v);
    v = readVarlong(raw, v + 1);
    const timestampDelta = varintValue;
    v = readVarint(raw, v);
    const offsetDelta = varintValue;
    v = readVarint(raw, v);
    const keyLength = varintValue;
    const keyStart = keyLength < 0 ? -1 : v;
    const keyEnd = keyLength < 0 ? -1 : v + keyLength;
    if (keyLength > 0) v += keyLength;
    v = readVarint(raw, v);
    const valueLength = varintValue;
    const valueStart = valueLength < 0 ? -1 : v;
    const valueEnd = valueLength < 0 ? -1 : v + valueLength;
    if (valueLength > 0) v += valueLength;
    out.push(
      new LeanRecord(
        raw,
        exact ? String(firstOffset + offsetDelta) : (firstOffsetBig + BigInt(offsetDelta)).toString(),
        context,
        recordAttributes,
        timestampDelta,
        keyStart,
        keyEnd,
        valueStart,
        valueEnd,
        v,
      ),
    );
    p = next;
  }
}

/** The value of the last varint read (module scope: no object per read on the hot path). */
let varintValue = 0;

/** Reads a zig-zag varint (≤ 32 bits) at `at` into `varintValue`; returns the position after it. */
function readVarint(bytes: Buffer, at: number): number {
  let result = 0;
  let shift = 0;
  let byte: number;
  do {
    byte = bytes[at++] as number;
    result |= (byte & 0x7f) << shift;
    shift += 7;
  } while (byte & 0x80 && shift < 35);
  varintValue = (result >>> 1) ^ -(result & 1);
  return at;
}

/** Reads a zig-zag varlong into `varintValue` as a number (exact below 2^53, where timestamps live). */
function readVarlong(bytes: Buffer, at: number): number {
  let result = 0;
  let scale = 1;
  let byte: number;
  do {
    byte = bytes[at++] as number;
    result += (byte & 0x7f) * scale;
    scale *= 128;
  } while (byte & 0x80 && scale < 2 ** 70);
  // Zig-zag: even → n / 2, odd → −(n + 1) / 2.
  varintValue = result % 2 === 0 ? result / 2 : -(result + 1) / 2;
  return at;
}

/** A decimal integer string plus a small number, exactly. */
function addToDecimal(decimal: string, delta: number): string {
  const n = Number(decimal);
  return Number.isSafeInteger(n) && Number.isSafeInteger(n + delta)
    ? String(n + delta)
    : (BigInt(decimal) + BigInt(delta)).toString();
}

function readHeaders(bytes: Buffer, at: number): Record<string, Buffer | Buffer[]> {
  const headers: Record<string, Buffer | Buffer[]> = {};
  let v = readVarint(bytes, at);
  const count = varintValue;
  for (let i = 0; i < count; i++) {
    v = readVarint(bytes, v);
    const keyLength = varintValue;
    const key = keyLength < 0 ? 'null' : bytes.toString('utf8', v, v + keyLength);
    if (keyLength > 0) v += keyLength;
    v = readVarint(bytes, v);
    const valueLength = varintValue;
    const value = (valueLength < 0 ? null : bytes.subarray(v, v + valueLength)) as Buffer;
    if (valueLength > 0) v += valueLength;
    const existing = headers[key];
    headers[key] =
      existing === undefined ? value : Array.isArray(existing) ? [...existing, value] : [existing, value];
  }
  return headers;
}
