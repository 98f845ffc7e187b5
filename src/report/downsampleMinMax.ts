/**
 * Shrinks a long time series to at most about `maxPoints` points, keeping the minimum and
 * maximum of every bucket (in time order), so spikes such as a 49.8 Hz dip survive.
 * For report.json: a 1 s trace of a day is 86,400 points; charts need a few thousand.
 */
export function downsampleMinMax(
  tsMs: ArrayLike<number>,
  values: ArrayLike<number>,
  maxPoints: number,
): { tsMs: number[]; values: number[] } {
  const n = Math.min(tsMs.length, values.length);
  if (n <= maxPoints || maxPoints < 4) {
    return {
      tsMs: Array.from({ length: n }, (_, i) => tsMs[i]),
      values: Array.from({ length: n }, (_, i) => values[i]),
    };
  }
  const buckets = Math.floor(maxPoints / 2);
  const outTs: number[] = [];
  const outValues: number[] = [];
  for (let b = 0; b < buckets; b++) {
    const from = Math.floor((b * n) / buckets);
    const to = Math.floor(((b + 1) * n) / buckets);
    let lo = from;
    let hi = from;
    for (let i = from + 1; i < to; i++) {
      if (values[i] < values[lo]) lo = i;
      if (values[i] > values[hi]) hi = i;
    }
    const first = Math.min(lo, hi);
    const second = Math.max(lo, hi);
    outTs.push(tsMs[first]);
    outValues.push(values[first]);
    if (second !== first) {
      outTs.push(tsMs[second]);
      outValues.push(values[second]);
    }
  }
  return { tsMs: outTs, values: outValues };
}
