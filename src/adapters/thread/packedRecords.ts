import type { InputTopic } from '../../../models/topics';
import type { InboundRecord } from '../../core/ports/records';

/**
 * One partition batch of input records packed for another thread: keys and values back to back
 * in one buffer of their own (transferred, not copied), so the receiving thread turns bytes into
 * strings and the thread that read them from the network does no per-record string work.
 */
export interface PackedRecords {
  topic: InputTopic;
  partition: number;
  receivedMs: number;
  count: number;
  /** Keys and values, UTF-8, back to back. */
  bytes: Uint8Array;
  /** Per record: key start, key end (−1: no key), value end; the value starts at the key end. */
  bounds: Int32Array;
  /**
   * Per record its offset: as numbers when every one is below 2^53 (all real ones; one array,
   * transferred), else as decimal strings (each string would be cloned across, one by one).
   */
  offsets: Float64Array | string[];
  /** Records of the partition still unread when the batch was fetched, when the bus knows. */
  behindRecords?: number;
}

/** A record as a client library hands it over: raw bytes and a decimal offset. */
export interface RawRecord {
  key: Uint8Array | null;
  value: Uint8Array | null;
  offset: string;
}

/**
 * A record that says where its key and value lie in a buffer it shares with others (−1: null),
 * e.g. `LeanRecord` over a whole fetch: packed from there, with no view made per record.
 */
export interface LocatedRecord extends RawRecord {
  bytes: Uint8Array;
  keyStart: number;
  keyEnd: number;
  valueStart: number;
  valueEnd: number;
}

function isLocated(record: RawRecord): record is LocatedRecord {
  return (record as Partial<LocatedRecord>).keyStart !== undefined;
}

export function packRecords(
  topic: InputTopic,
  partition: number,
  receivedMs: number,
  records: readonly RawRecord[],
): PackedRecords {
  const count = records.length;
  let total = 0;
  for (let i = 0; i < count; i++) {
    const r = records[i] as RawRecord;
    total += isLocated(r)
      ? Math.max(0, r.keyEnd - r.keyStart) + Math.max(0, r.valueEnd - r.valueStart)
      : (r.key?.byteLength ?? 0) + (r.value?.byteLength ?? 0);
  }
  // Its own ArrayBuffer (not a pooled slice), so it can be transferred; not zeroed first, since
  // every byte is written below (a fetch's worth is ~10 MiB to clear for nothing).
  const bytes: Uint8Array = Buffer.allocUnsafeSlow(total);
  const bounds = new Int32Array(count * 3);
  let at = 0;
  for (let i = 0; i < count; i++) {
    const r = records[i] as RawRecord;
    bounds[i * 3] = at;
    if (isLocated(r)) {
      const from = r.bytes;
      if (r.keyStart >= 0) {
        // Keys are short (a site id): a loop beats making a view to copy from.
        for (let k = r.keyStart; k < r.keyEnd; k++) bytes[at++] = from[k] as number;
        bounds[i * 3 + 1] = at;
      } else bounds[i * 3 + 1] = -1;
      if (r.valueStart >= 0) {
        bytes.set(from.subarray(r.valueStart, r.valueEnd), at);
        at += r.valueEnd - r.valueStart;
      }
    } else {
      if (r.key) {
        bytes.set(r.key, at);
        at += r.key.byteLength;
        bounds[i * 3 + 1] = at;
      } else bounds[i * 3 + 1] = -1;
      if (r.value) {
        bytes.set(r.value, at);
        at += r.value.byteLength;
      }
    }
    bounds[i * 3 + 2] = at;
  }
  return { topic, partition, receivedMs, count, bytes, bounds, offsets: offsetsFor(records) };
}

/** The records' offsets: numbers when all are exact as numbers (decimal strings shorter than 16 digits). */
function offsetsFor(records: readonly RawRecord[]): Float64Array | string[] {
  const count = records.length;
  const numbers = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    const offset = (records[i] as RawRecord).offset;
    if (offset.length >= 16) return records.map((r) => r.offset);
    numbers[i] = Number(offset);
  }
  return numbers;
}

/** The buffers to hand to postMessage's transfer list. */
export function transferablesOf(packed: PackedRecords): ArrayBuffer[] {
  const buffers = [packed.bytes.buffer as ArrayBuffer, packed.bounds.buffer as ArrayBuffer];
  if (packed.offsets instanceof Float64Array) buffers.push(packed.offsets.buffer as ArrayBuffer);
  return buffers;
}

export function unpackRecords(packed: PackedRecords): InboundRecord[] {
  const { bytes, bounds, offsets, count } = packed;
  const numeric = offsets instanceof Float64Array;
  const decoder = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: InboundRecord[] = new Array(count);
  // Records are keyed by site, so runs of one key are the rule: its string is decoded once.
  let lastKey: string | null = null;
  let lastKeyStart = 0;
  let lastKeyEnd = 0;
  for (let i = 0; i < count; i++) {
    const start = bounds[i * 3] as number;
    const keyEnd = bounds[i * 3 + 1] as number;
    const valueEnd = bounds[i * 3 + 2] as number;
    const valueStart = keyEnd < 0 ? start : keyEnd;
    let key: string | null = null;
    if (keyEnd >= 0) {
      if (lastKey === null || !sameBytes(bytes, lastKeyStart, lastKeyEnd, start, keyEnd)) {
        lastKey = decoder.toString('utf8', start, keyEnd);
        lastKeyStart = start;
        lastKeyEnd = keyEnd;
      }
      key = lastKey;
    }
    out[i] = {
      topic: packed.topic,
      key,
      value: decoder.toString('utf8', valueStart, valueEnd),
      partition: packed.partition,
      offset: numeric ? String(offsets[i]) : (offsets[i] as string),
      receivedMs: packed.receivedMs,
    };
  }
  return out;
}

function sameBytes(bytes: Uint8Array, aStart: number, aEnd: number, bStart: number, bEnd: number): boolean {
  if (aEnd - aStart !== bEnd - bStart) return false;
  for (let i = 0; i < aEnd - aStart; i++) if (bytes[aStart + i] !== bytes[bStart + i]) return false;
  return true;
}
