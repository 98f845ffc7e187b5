import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { type Admin, type Consumer, Partitioners, type Producer } from 'kafkajs';
import type { TopicName } from '../../../models/topics';
import { kafkaClient } from '../../../src/adapters/kafka/kafkaClient';
import type { EvflexConfig, EvflexConfigInput } from '../../../src/config/configSchema';
import { parseConfig } from '../../../src/config/loadConfig';

/** The broker for integration tests: vitest's provided value, else EVFLEX_TEST_KAFKA. */
export function testBrokers(provided?: string): string {
  const brokers = provided ?? process.env.EVFLEX_TEST_KAFKA;
  if (!brokers)
    throw new Error('no Kafka broker: run through the integration project or set EVFLEX_TEST_KAFKA');
  return brokers;
}

/** A config with its own topic prefix and group, so tests never see each other's records. */
export function aKafkaConfig(brokers: string, overrides: Partial<EvflexConfigInput> = {}): EvflexConfig {
  const id = randomBytes(4).toString('hex');
  return parseConfig({
    instanceId: `test-${id}`,
    topicsPrefix: `t${id}.`,
    ...overrides,
    kafka: { brokers: [brokers], groupId: `g-${id}`, partitions: 4, ...(overrides.kafka ?? {}) },
  });
}

export interface TestProducer {
  send(topic: TopicName, messages: { key: string | null; value: string }[]): Promise<void>;
  close(): Promise<void>;
}

export async function aProducer(config: EvflexConfig): Promise<TestProducer> {
  const producer: Producer = kafkaClient({
    brokers: config.kafka?.brokers ?? [],
    clientId: 'test-producer',
  }).producer({
    createPartitioner: Partitioners.DefaultPartitioner,
    allowAutoTopicCreation: false,
  });
  await producer.connect();
  return {
    send: async (topic, messages) => {
      await producer.send({ topic: `${config.topicsPrefix}${topic}`, messages, acks: -1 });
    },
    close: () => producer.disconnect(),
  };
}

export interface ReceivedRecord {
  key: string | null;
  value: string;
  partition: number;
  offset: string;
  receivedMs: number;
}

/** A separate consumer (as a CSMS would run) collecting everything on some output topics. */
export interface Collector {
  records: Map<TopicName, ReceivedRecord[]>;
  of(topic: TopicName): ReceivedRecord[];
  waitFor(predicate: () => boolean, timeoutMs?: number, what?: string): Promise<void>;
  close(): Promise<void>;
}

export async function aCollector(config: EvflexConfig, topics: TopicName[]): Promise<Collector> {
  const consumer: Consumer = kafkaClient({
    brokers: config.kafka?.brokers ?? [],
    clientId: 'test-collector',
  }).consumer({ groupId: `collector-${randomBytes(4).toString('hex')}`, maxWaitTimeInMs: 100 });
  const records = new Map<TopicName, ReceivedRecord[]>(topics.map((t) => [t, []]));
  const byPhysical = new Map(topics.map((t) => [`${config.topicsPrefix}${t}`, t]));
  await consumer.connect();
  await consumer.subscribe({ topics: [...byPhysical.keys()], fromBeginning: true });
  await consumer.run({
    eachBatch: async ({ batch }) => {
      const list = records.get(byPhysical.get(batch.topic) as TopicName) as ReceivedRecord[];
      const receivedMs = Date.now();
      for (const m of batch.messages) {
        list.push({
          key: m.key?.toString() ?? null,
          value: m.value?.toString() ?? '',
          partition: batch.partition,
          offset: m.offset,
          receivedMs,
        });
      }
    },
  });
  return {
    records,
    of: (topic) => records.get(topic) ?? [],
    waitFor: (predicate, timeoutMs = 60_000, what = 'condition') => waitFor(predicate, timeoutMs, what),
    close: () => consumer.disconnect(),
  };
}

export async function waitFor(
  predicate: () => boolean,
  timeoutMs = 60_000,
  what = 'condition',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Runs `use` with an admin client of the config's broker, disconnected afterwards even when `use` throws. */
async function withAdmin<T>(config: EvflexConfig, use: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = kafkaClient({ brokers: config.kafka?.brokers ?? [], clientId: 'test-admin' }).admin();
  await admin.connect();
  try {
    return await use(admin);
  } finally {
    await admin.disconnect();
  }
}

/** Committed offsets of a group per physical topic and partition. */
export function committedOffsets(
  config: EvflexConfig,
  logicalTopic: TopicName,
): Promise<Map<number, string>> {
  return withAdmin(config, async (admin) => {
    const [topic] = await admin.fetchOffsets({
      groupId: config.kafka?.groupId ?? '',
      topics: [`${config.topicsPrefix}${logicalTopic}`],
    });
    return new Map((topic?.partitions ?? []).map((p) => [p.partition, p.offset]));
  });
}

export function highWatermarks(config: EvflexConfig, logicalTopic: TopicName): Promise<Map<number, string>> {
  return withAdmin(config, async (admin) => {
    const offsets = await admin.fetchTopicOffsets(`${config.topicsPrefix}${logicalTopic}`);
    return new Map(offsets.map((p) => [p.partition, p.high]));
  });
}

const execFileAsync = promisify(execFile);

/**
 * Produces keyed records with kcat, a client that is not ours, to check interoperability; its murmur2_random
 * partitioner is the Java client's default (and `partitionForKey`'s).
 */
export async function produceWithKcat(
  config: EvflexConfig,
  topic: TopicName,
  records: { key: string; value: string }[],
): Promise<void> {
  const kcat = execFileAsync('kcat', [
    '-P',
    '-b',
    (config.kafka?.brokers ?? []).join(','),
    '-t',
    `${config.topicsPrefix}${topic}`,
    '-K',
    '\t',
    '-X',
    'partitioner=murmur2_random',
  ]);
  kcat.child.stdin?.end(`${records.map((r) => `${r.key}\t${r.value}`).join('\n')}\n`);
  await kcat;
}
