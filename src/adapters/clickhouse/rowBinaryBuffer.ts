const TWO_POW_32 = 4_294_967_296;

import { ChunkPool } from './chunkPool';

/**
 * Append-only RowBinary writer for one table: rows are encoded into chunk buffers (whole rows
 * only) that become the HTTP body of an insert. Binary, because formatting numbers as text
 * costs several hundred ns per field and telemetry runs at hundreds of thousands of rows per
 * second on the control thread. Every chunk owns its buffer from offset 0 (a SharedArrayBuffer
 * when the insert worker reads it in place), recycled through the pool.
 */
export class RowBinaryBuffer {
  private buf: Buffer;
  private pos = 0;
  private rowStart = 0;
  private rowsInChunk = 0;
  private readonly pool: ChunkPool;
  private readonly sealed: Buffer[] = [];
  private readonly sealedRows: number[] = [];
  private sealedRowCount = 0;
  private sealedByteCount = 0;

  constructor(pool: ChunkPool = new ChunkPool()) {
    this.pool = pool;
    this.buf = Buffer.from(pool.acquire());
  }

  /** Rows written and not yet taken. */
  get pendingRows(): number {
    return this.sealedRowCount + this.rowsInChunk;
  }

  get pendingBytes(): number {
    return this.sealedByteCount + this.pos;
  }

  /** Starts a row of at most `maxBytes`; when the chunk can't hold it, writing moves to a fresh one. */
  beginRow(maxBytes: number): void {
    if (this.pos + maxBytes > this.buf.length) {
      this.seal();
      if (maxBytes > this.buf.length) this.buf = Buffer.from(this.pool.acquire(maxBytes));
    }
    this.rowStart = this.pos;
  }

  endRow(): void {
    this.rowsInChunk++;
  }

  /** Forgets a half-written row, so one bad row can't corrupt the stream. */
  abortRow(): void {
    this.pos = this.rowStart;
  }

  /**
   * Takes whole chunks up to `maxRows` (at least one chunk); with `partial`, also the rows of
   * the chunk still being written.
   */
  take(maxRows: number, partial: boolean): { chunks: Buffer[]; rows: number; bytes: number } {
    const chunks: Buffer[] = [];
    let rows = 0;
    let bytes = 0;
    const takeSealed = () => {
      while (this.sealed.length > 0 && (chunks.length === 0 || rows + this.sealedRows[0] <= maxRows)) {
        const chunk = this.sealed.shift()!;
        const n = this.sealedRows.shift()!;
        chunks.push(chunk);
        rows += n;
        bytes += chunk.length;
        this.sealedRowCount -= n;
        this.sealedByteCount -= chunk.length;
      }
    };
    takeSealed();
    if (
      partial &&
      this.sealed.length === 0 &&
      this.rowsInChunk > 0 &&
      (chunks.length === 0 || rows + this.rowsInChunk <= maxRows)
    ) {
      this.seal();
      takeSealed();
    }
    return { chunks, rows, bytes };
  }

  /** Closes the current chunk (if it has rows) and continues in a fresh pooled buffer. */
  private seal(): void {
    if (this.rowsInChunk === 0) return;
    const chunk = Buffer.from(this.buf.buffer, 0, this.pos);
    this.sealed.push(chunk);
    this.sealedRows.push(this.rowsInChunk);
    this.sealedRowCount += this.rowsInChunk;
    this.sealedByteCount += chunk.length;
    this.rowsInChunk = 0;
    this.pos = 0;
    this.buf = Buffer.from(this.pool.acquire());
  }

  /** UInt64 from a non-negative safe integer; anything else is written as 0 (see `uint32`). */
  uint64(value: number): void {
    const v = value > 0 && value <= Number.MAX_SAFE_INTEGER ? Math.trunc(value) : 0;
    const lo = v >>> 0;
    const hi = (v / TWO_POW_32) >>> 0;
    const b = this.buf;
    let p = this.pos;
    b[p++] = lo;
    b[p++] = lo >>> 8;
    b[p++] = lo >>> 16;
    b[p++] = lo >>> 24;
    b[p++] = hi;
    b[p++] = hi >>> 8;
    b[p++] = hi >>> 16;
    b[p++] = hi >>> 24;
    this.pos = p;
  }

  /**
   * UInt32. Out-of-range values are clamped rather than rejected: the row is still worth
   * keeping, and a throw here would land in the control path.
   */
  uint32(value: number): void {
    const v = value > 0 ? (value >= TWO_POW_32 ? TWO_POW_32 - 1 : Math.trunc(value)) : 0;
    const b = this.buf;
    let p = this.pos;
    b[p++] = v;
    b[p++] = v >>> 8;
    b[p++] = v >>> 16;
    b[p++] = v >>> 24;
    this.pos = p;
  }

  float64(value: number): void {
    this.buf.writeDoubleLE(typeof value === 'number' ? value : Number(value), this.pos);
    this.pos += 8;
  }

  /** String as LEB128 byte length + UTF-8 bytes; short ASCII strings take a copy loop, no C++ call. */
  string(value: string): void {
    const s = typeof value === 'string' ? value : value === undefined || value === null ? '' : String(value);
    const len = s.length;
    const b = this.buf;
    if (len < 128) {
      let p = this.pos + 1;
      let ascii = true;
      for (let i = 0; i < len; i++) {
        const c = s.charCodeAt(i);
        if (c > 127) {
          ascii = false;
          break;
        }
        b[p++] = c;
      }
      if (ascii) {
        b[this.pos] = len;
        this.pos = p;
        return;
      }
    }
    const bytes = Buffer.byteLength(s, 'utf8');
    let n = bytes;
    let p = this.pos;
    while (n >= 0x80) {
      b[p++] = (n & 0x7f) | 0x80;
      n >>>= 7;
    }
    b[p++] = n;
    this.pos = p + b.write(s, p, 'utf8');
  }
}

/** Upper bound of a string's RowBinary size: 3 UTF-8 bytes per UTF-16 unit plus the length prefix. */
export function maxStringBytes(value: unknown): number {
  return (typeof value === 'string' ? value.length : String(value ?? '').length) * 3 + 5;
}
