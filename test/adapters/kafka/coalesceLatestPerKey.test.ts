import { describe, expect, it } from 'vitest';
import { coalesceLatestPerKey } from '../../../src/adapters/kafka/coalesceLatestPerKey';
import type { InboundRecord } from '../../../src/core/ports/records';

const aFrequencyRecord = (key: string | null, offset: number): InboundRecord => ({
  topic: 'grid.frequency',
  key,
  value: `{"hz":${50 + offset / 1000}}`,
  partition: 0,
  offset: String(offset),
  receivedMs: 0,
});

describe('coalesceLatestPerKey', () => {
  it('keeps the latest record per site, in offset order', () => {
    const batch = [
      aFrequencyRecord('a', 1),
      aFrequencyRecord('b', 2),
      aFrequencyRecord('a', 3),
      aFrequencyRecord(null, 4),
      aFrequencyRecord('b', 5),
    ];
    expect(coalesceLatestPerKey(batch).map((r) => r.offset)).toEqual(['3', '4', '5']);
  });

  it('returns the batch itself when every key is distinct', () => {
    const batch = [aFrequencyRecord('a', 1), aFrequencyRecord('b', 2)];
    expect(coalesceLatestPerKey(batch)).toBe(batch);
  });
});
