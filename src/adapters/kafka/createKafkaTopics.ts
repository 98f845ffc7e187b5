import { INPUT_TOPICS, OUTPUT_TOPICS, type TopicName } from '../../../models/topics';
import type { EvflexConfig } from '../../config/configSchema';
import { EvflexError } from '../../core/evflexError';
import { awaitTopicLeaders } from './awaitTopicLeaders';
import { kafkaClient } from './kafkaClient';
import { kafkaTopicNames } from './kafkaTopicNames';

/** Per-topic settings beyond the partition count. */
const TOPIC_CONFIGS: Partial<Record<TopicName, Record<string, string>>> = {
  // Latest snapshot per site wins; snapshots of big sites exceed the 1 MB default.
  'state.snapshots': {
    'cleanup.policy': 'compact',
    'min.cleanable.dirty.ratio': '0.1',
    'segment.ms': String(60 * 60 * 1000),
    'max.message.bytes': String(16 * 1024 * 1024),
  },
  deadletter: { 'max.message.bytes': String(4 * 1024 * 1024) },
};

export interface TopicCreation {
  created: string[];
  existing: string[];
}

/**
 * Creates every input and output topic with the configured partition count and replication
 * factor (all share one count so a site's snapshot partition matches its inputs' partition).
 * Topics that already exist are left alone and reported.
 */
export async function createKafkaTopics(config: EvflexConfig): Promise<TopicCreation> {
  const kafka = config.kafka;
  if (!kafka) throw new EvflexError('EVFLEX_CONFIG_INVALID', 'kafka is not configured');
  const names = kafkaTopicNames(config.topicsPrefix);
  const admin = kafkaClient(kafka).admin();
  try {
    await admin.connect();
    const existingTopics = new Set(await admin.listTopics());
    const wanted = [...INPUT_TOPICS, ...OUTPUT_TOPICS].map((logical) => ({
      logical,
      topic: names.physical(logical),
    }));
    const missing = wanted.filter((t) => !existingTopics.has(t.topic));
    if (missing.length > 0) {
      await admin.createTopics({
        waitForLeaders: false,
        topics: missing.map(({ logical, topic }) => ({
          topic,
          numPartitions: kafka.partitions,
          replicationFactor: kafka.replicationFactor,
          configEntries: Object.entries(TOPIC_CONFIGS[logical] ?? {}).map(([name, value]) => ({
            name,
            value,
          })),
        })),
      });
    }
    await awaitTopicLeaders(
      admin,
      wanted.map((t) => t.topic),
    );
    return {
      created: missing.map((t) => t.topic),
      existing: wanted.filter((t) => existingTopics.has(t.topic)).map((t) => t.topic),
    };
  } catch (error) {
    if (error instanceof EvflexError) throw error;
    throw new EvflexError(
      'EVFLEX_BROKER_UNAVAILABLE',
      `could not create topics on ${kafka.brokers.join(',')}`,
      {
        cause: error,
      },
    );
  } finally {
    await admin.disconnect().catch(() => {});
  }
}
