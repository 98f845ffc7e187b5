import { describe, expect, it } from 'vitest';
import { partitionForKey } from '../../../src/adapters/kafka/partitionForKey';

describe('partitionForKey', () => {
  // Agreement with a murmur2 client that is not ours (kcat) is checked against the real broker.
  it('is deterministic and spreads keys over every partition', () => {
    expect(partitionForKey('site-1', 12)).toBe(partitionForKey('site-1', 12));
    expect(new Set(Array.from({ length: 200 }, (_, i) => partitionForKey(`site-${i}`, 12))).size).toBe(12);
  });

  it('stays within the partition count', () => {
    for (let i = 0; i < 100; i++) {
      const p = partitionForKey(`s${i}`, 7);
      expect(p).toBeGreaterThanOrEqual(0);
      expect(p).toBeLessThan(7);
    }
  });
});
