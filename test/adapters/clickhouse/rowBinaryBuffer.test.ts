import { describe, expect, it } from 'vitest';
import { ChunkPool } from '../../../src/adapters/clickhouse/chunkPool';
import { RowBinaryBuffer } from '../../../src/adapters/clickhouse/rowBinaryBuffer';
import { ROW_BINARY_ENCODERS } from '../../../src/adapters/clickhouse/rowBinaryEncoders';

/** Minimal RowBinary reader for the checks below. */
function reader(bytes: Buffer) {
  let p = 0;
  return {
    get done() {
      return p >= bytes.length;
    },
    uint64() {
      const lo = bytes.readUInt32LE(p);
      const hi = bytes.readUInt32LE(p + 4);
      p += 8;
      return hi * 2 ** 32 + lo;
    },
    uint32() {
      const v = bytes.readUInt32LE(p);
      p += 4;
      return v;
    },
    float64() {
      const v = bytes.readDoubleLE(p);
      p += 8;
      return v;
    },
    string() {
      let len = 0;
      let shift = 0;
      for (;;) {
        const b = bytes[p++];
        len += (b & 0x7f) * 2 ** shift;
        if (b < 0x80) break;
        shift += 7;
      }
      const s = bytes.toString('utf8', p, p + len);
      p += len;
      return s;
    },
  };
}

function writeOne(write: (w: RowBinaryBuffer) => void): Buffer {
  const w = new RowBinaryBuffer(new ChunkPool(1024));
  // Room for the longest sample; the table encoders size this from the row itself.
  w.beginRow(300_000);
  write(w);
  w.endRow();
  return Buffer.concat(w.take(Number.MAX_SAFE_INTEGER, true).chunks);
}

describe('RowBinaryBuffer', () => {
  it('writes UInt64 milliseconds exactly up to 2^53 − 1 and clamps what ClickHouse would reject', () => {
    for (const v of [0, 1, 2 ** 32 - 1, 2 ** 32, Date.UTC(2026, 0, 1, 0, 0, 0, 1), 2 ** 53 - 1]) {
      expect(reader(writeOne((w) => w.uint64(v))).uint64()).toBe(v);
    }
    for (const bad of [-1, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 60]) {
      expect(reader(writeOne((w) => w.uint64(bad))).uint64()).toBe(0);
    }
    expect(reader(writeOne((w) => w.uint64(12.9))).uint64()).toBe(12);
  });

  it('clamps UInt32 into range', () => {
    expect(reader(writeOne((w) => w.uint32(4_000_000_000))).uint32()).toBe(4_000_000_000);
    expect(reader(writeOne((w) => w.uint32(2 ** 40))).uint32()).toBe(2 ** 32 - 1);
    expect(reader(writeOne((w) => w.uint32(-3))).uint32()).toBe(0);
  });

  it('writes strings as LEB128 length + UTF-8, ASCII fast path or not', () => {
    const samples = [
      '',
      'evse-1',
      'ünïcödé ⚡ 🚗',
      'x'.repeat(127),
      'y'.repeat(128),
      'z'.repeat(70_000),
      'tab\tnl\n\\\0',
    ];
    for (const s of samples) expect(reader(writeOne((w) => w.string(s))).string()).toBe(s);
  });

  it('keeps floats bit-exact, NaN and infinities included', () => {
    for (const v of [0, -0, 7.4, -11.000000000000002, 1e-300, Number.NaN, Number.NEGATIVE_INFINITY]) {
      expect(Object.is(reader(writeOne((w) => w.float64(v))).float64(), v)).toBe(true);
    }
  });

  it('cuts chunks on whole rows only, and take() respects the row budget', () => {
    const w = new RowBinaryBuffer(new ChunkPool(64));
    for (let i = 0; i < 50; i++)
      ROW_BINARY_ENCODERS.frequency(w, { table: 'frequency', tsMs: i, siteId: 's', meterId: 'm', hz: 50 });
    expect(w.pendingRows).toBe(50);
    const first = w.take(10, false);
    expect(first.rows).toBeGreaterThan(0);
    expect(first.rows).toBeLessThanOrEqual(10);
    const rest = w.take(Number.MAX_SAFE_INTEGER, true);
    expect(first.rows + rest.rows).toBe(50);
    expect(w.pendingRows).toBe(0);
    const r = reader(Buffer.concat([...first.chunks, ...rest.chunks]));
    for (let i = 0; i < 50; i++) {
      expect(r.uint64()).toBe(i);
      expect(r.string()).toBe('s');
      expect(r.string()).toBe('m');
      expect(r.float64()).toBe(50);
    }
    expect(r.done).toBe(true);
  });

  it('abortRow forgets a half-written row', () => {
    const w = new RowBinaryBuffer(new ChunkPool(1024));
    w.beginRow(100);
    w.uint64(1);
    w.endRow();
    w.beginRow(100);
    w.uint64(2);
    w.abortRow();
    const { rows, chunks } = w.take(10, true);
    expect(rows).toBe(1);
    expect(Buffer.concat(chunks).length).toBe(8);
  });
});
