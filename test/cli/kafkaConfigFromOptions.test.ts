import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { kafkaConfigFromOptions } from '../../src/cli/kafkaConfigFromOptions';

describe('kafkaConfigFromOptions', () => {
  it('takes brokers from --kafka and defaults from the schema', () => {
    const config = kafkaConfigFromOptions({ kafka: '127.0.0.1:9092, 127.0.0.1:9093' });
    expect(config.kafka).toMatchObject({
      brokers: ['127.0.0.1:9092', '127.0.0.1:9093'],
      groupId: 'evflex-engine',
    });
  });

  it('lets flags override the config file', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'evflex-cfg-')), 'c.json');
    writeFileSync(
      file,
      JSON.stringify({ topicsPrefix: 'file.', kafka: { brokers: ['x:1'], partitions: 3, groupId: 'g1' } }),
    );
    const config = kafkaConfigFromOptions({ kafka: 'y:2', config: file, groupId: 'g2', instanceId: 'i-7' });
    expect(config.topicsPrefix).toBe('file.');
    expect(config.instanceId).toBe('i-7');
    expect(config.kafka).toMatchObject({ brokers: ['y:2'], partitions: 3, groupId: 'g2' });
  });
});
