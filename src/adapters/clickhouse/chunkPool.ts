/**
 * Recycles the fixed-size ArrayBuffers telemetry rows are encoded into. Each chunk owns its
 * whole ArrayBuffer, so it can be transferred to the insert worker and back without a copy;
 * reusing them keeps the control thread from allocating (and the GC from tracking) megabytes
 * of external memory per second.
 */
export class ChunkPool {
  private readonly free: ArrayBuffer[] = [];
  readonly chunkBytes: number;
  private readonly maxFree: number;

  constructor(chunkBytes = 64 * 1024, maxFree = 256) {
    this.chunkBytes = chunkBytes;
    this.maxFree = maxFree;
  }

  /** A buffer of at least `minBytes` (a pooled one when it fits in a chunk). */
  acquire(minBytes = 0): ArrayBuffer {
    if (minBytes > this.chunkBytes) return new ArrayBuffer(minBytes);
    return this.free.pop() ?? new ArrayBuffer(this.chunkBytes);
  }

  release(buffer: ArrayBuffer): void {
    // Oversized (one huge row) and detached buffers are left to the GC.
    if (buffer.byteLength === this.chunkBytes && this.free.length < this.maxFree) this.free.push(buffer);
  }
}
