/**
 * Recycles the fixed-size buffers telemetry rows are encoded into. Each chunk owns its whole
 * buffer. With `shared`, the buffers are SharedArrayBuffers: the insert worker reads them in
 * place (nothing is transferred or copied, and no MessagePort is involved per insert). Reusing
 * them keeps the control thread from allocating (and the GC from tracking) megabytes of
 * external memory per second.
 */
export class ChunkPool {
  private readonly free: ArrayBufferLike[] = [];
  readonly chunkBytes: number;
  readonly shared: boolean;
  private readonly maxFree: number;

  constructor(chunkBytes = 64 * 1024, maxFree = 256, shared = false) {
    this.chunkBytes = chunkBytes;
    this.maxFree = maxFree;
    this.shared = shared;
  }

  /** A buffer of at least `minBytes` (a pooled one when it fits in a chunk). */
  acquire(minBytes = 0): ArrayBufferLike {
    if (minBytes > this.chunkBytes) return this.allocate(minBytes);
    return this.free.pop() ?? this.allocate(this.chunkBytes);
  }

  release(buffer: ArrayBufferLike): void {
    // Oversized (one huge row) and detached buffers are left to the GC.
    if (
      buffer.byteLength === this.chunkBytes &&
      buffer instanceof SharedArrayBuffer === this.shared &&
      this.free.length < this.maxFree
    )
      this.free.push(buffer);
  }

  private allocate(bytes: number): ArrayBufferLike {
    return this.shared ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes);
  }
}
