import type { Clock } from './ports/clock';

/** Wall-clock time for service mode; only the composition root creates one. */
export const systemClock: Clock = { nowMs: () => Date.now() };
