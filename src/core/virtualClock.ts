import type { Clock } from './ports/clock';

/** A clock that only moves when told to: tests and the demo replay a day in seconds, identically. */
export class VirtualClock implements Clock {
  private currentMs: number;

  constructor(startMs: number) {
    this.currentMs = startMs;
  }

  nowMs(): number {
    return this.currentMs;
  }

  advanceTo(tsMs: number): void {
    if (tsMs < this.currentMs)
      throw new RangeError(`virtual time cannot go back from ${this.currentMs} to ${tsMs}`);
    this.currentMs = tsMs;
  }
}
