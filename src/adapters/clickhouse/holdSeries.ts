export interface TimedValue {
  tMs: number;
  value: number;
}

/**
 * Resamples `samples` (sorted by time) onto the grid fromMs, fromMs + stepMs, … < toMs. Each
 * sample holds until the next one but at most `maxHoldMs`, because meters report on change or
 * every few seconds; beyond that the value is unknown (NaN) rather than invented.
 */
export function holdSeries(
  samples: readonly TimedValue[],
  fromMs: number,
  toMs: number,
  stepMs: number,
  maxHoldMs: number,
): Float64Array {
  const n = Math.max(0, Math.ceil((toMs - fromMs) / stepMs));
  const out = new Float64Array(n).fill(Number.NaN);
  let i = 0;
  let last: TimedValue | null = null;
  for (let k = 0; k < n; k++) {
    const tMs = fromMs + k * stepMs;
    while (i < samples.length && samples[i].tMs <= tMs) last = samples[i++];
    if (last && tMs - last.tMs <= maxHoldMs) out[k] = last.value;
  }
  return out;
}
