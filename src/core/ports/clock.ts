/** Time is injected: the engine never reads Date.now() itself. */
export interface Clock {
  nowMs(): number;
}
