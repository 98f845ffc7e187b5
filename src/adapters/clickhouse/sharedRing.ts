/** Word offsets in the ring's Int32Array: read counter, write counter, then the data words. */
export const RING_HEAD = 0;
export const RING_TAIL = 1;
export const RING_HEADER_WORDS = 2;

/**
 * A single-producer, single-consumer queue of int32 records in a SharedArrayBuffer, so two
 * threads exchange small descriptors without a lock: no MessagePort (whose mutex the control
 * thread would wait on while a preempted insert thread holds it) and no `Atomics.notify`
 * (V8's futex emulation takes a process-wide mutex). The consumer polls.
 *
 * Layout: `[head, tail, data…]`; head and tail count the words read and written since
 * creation, modulo 2^32; data has a power-of-two number of words, so a record may wrap around
 * its end. A record is its length followed by its words. The producer writes the words, then
 * publishes them with `Atomics.store` of the tail; the consumer reads the tail with
 * `Atomics.load` (which orders the words, and the chunk bytes written before them), then frees
 * the space with `Atomics.store` of the head. Each thread has its own `SharedRing` over the
 * same buffer (`create` on one side, the constructor on the other).
 */
export class SharedRing {
  readonly buffer: SharedArrayBuffer;
  readonly capacityWords: number;
  private readonly words: Int32Array;
  private readonly mask: number;
  private scratch = new Int32Array(16);

  /** A ring of `capacityWords` data words (rounded up to a power of two, at least 16). */
  static create(capacityWords: number): SharedRing {
    let words = 16;
    while (words < capacityWords) words *= 2;
    return new SharedRing(new SharedArrayBuffer((RING_HEADER_WORDS + words) * 4));
  }

  /** A view of a ring created elsewhere (the other thread's side). */
  constructor(buffer: SharedArrayBuffer) {
    this.buffer = buffer;
    this.words = new Int32Array(buffer);
    this.capacityWords = this.words.length - RING_HEADER_WORDS;
    this.mask = this.capacityWords - 1;
  }

  /** Words written and not yet read. */
  get usedWords(): number {
    return (Atomics.load(this.words, RING_TAIL) - Atomics.load(this.words, RING_HEAD)) | 0;
  }

  /** Whether a record of `length` words could ever fit (it needs one more for its length). */
  fits(length: number): boolean {
    return length + 1 <= this.capacityWords;
  }

  /**
   * Appends `record[0..length)`; false, with nothing written, when it does not fit now. Never
   * waits: the caller keeps the work and offers it again later.
   */
  tryWrite(record: ArrayLike<number>, length = record.length): boolean {
    const w = this.words;
    const head = Atomics.load(w, RING_HEAD);
    const tail = w[RING_TAIL]; // only this producer writes it
    if (length + 1 > this.capacityWords - ((tail - head) | 0)) return false;
    w[RING_HEADER_WORDS + (tail & this.mask)] = length;
    for (let i = 0; i < length; i++) w[RING_HEADER_WORDS + ((tail + 1 + i) & this.mask)] = record[i];
    Atomics.store(w, RING_TAIL, (tail + length + 1) | 0);
    return true;
  }

  /**
   * Hands each record written since the last read to `onRecord`, oldest first, and frees its
   * space. `onRecord` may return false to leave that record (and the ones after it) for a later
   * read. The array is reused: valid only during the call. Returns the number of records read.
   */
  read(onRecord: (record: Int32Array, length: number) => boolean | undefined): number {
    const w = this.words;
    const tail = Atomics.load(w, RING_TAIL);
    let head = w[RING_HEAD]; // only this consumer writes it
    let n = 0;
    while (head !== tail) {
      const length = w[RING_HEADER_WORDS + (head & this.mask)];
      if (this.scratch.length < length) this.scratch = new Int32Array(length * 2);
      const record = this.scratch;
      for (let i = 0; i < length; i++) record[i] = w[RING_HEADER_WORDS + ((head + 1 + i) & this.mask)];
      if (onRecord(record, length) === false) break;
      head = (head + length + 1) | 0;
      Atomics.store(w, RING_HEAD, head);
      n++;
    }
    return n;
  }
}
