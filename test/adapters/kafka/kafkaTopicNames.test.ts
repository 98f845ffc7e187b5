import { describe, expect, it } from 'vitest';
import { kafkaTopicNames } from '../../../src/adapters/kafka/kafkaTopicNames';

describe('kafkaTopicNames', () => {
  it('prefixes logical names and maps input topics back', () => {
    const names = kafkaTopicNames('prod.');
    expect(names.physical('state.snapshots')).toBe('prod.state.snapshots');
    expect(names.inputOf('prod.dso.power-variation')).toBe('dso.power-variation');
    expect(names.inputOf('prod.setpoints')).toBeNull();
    expect(names.inputs).toContain('prod.grid.frequency');
  });
});
