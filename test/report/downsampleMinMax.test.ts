import { describe, expect, it } from 'vitest';
import { downsampleMinMax } from '../../src/report/downsampleMinMax';

describe('downsampleMinMax', () => {
  it('keeps short series as they are', () => {
    expect(downsampleMinMax([1, 2, 3], [4, 5, 6], 10)).toEqual({ tsMs: [1, 2, 3], values: [4, 5, 6] });
  });

  it('shrinks a day at 1 s to the budget and keeps the extremes in time order', () => {
    const n = 86_400;
    const ts = Float64Array.from({ length: n }, (_, i) => i * 1000);
    const hz = Float64Array.from({ length: n }, (_, i) => (i === 50_000 ? 49.8 : i === 70_000 ? 50.1 : 50));
    const out = downsampleMinMax(ts, hz, 2000);
    expect(out.tsMs.length).toBeLessThanOrEqual(2000);
    expect(Math.min(...out.values)).toBe(49.8);
    expect(Math.max(...out.values)).toBe(50.1);
    for (let i = 1; i < out.tsMs.length; i++) expect(out.tsMs[i]).toBeGreaterThan(out.tsMs[i - 1]);
  });
});
