import { ConfigResourceTypes } from 'kafkajs';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { INPUT_TOPICS, OUTPUT_TOPICS } from '../../../models/topics';
import { createKafkaTopics } from '../../../src/adapters/kafka/createKafkaTopics';
import { kafkaClient } from '../../../src/adapters/kafka/kafkaClient';
import { KafkaMessageBus } from '../../../src/adapters/kafka/kafkaMessageBus';
import { partitionForKey } from '../../../src/adapters/kafka/partitionForKey';
import { unpackRecords } from '../../../src/adapters/thread/packedRecords';
import type { InboundRecord } from '../../../src/core/ports/records';
import {
  aCollector,
  aKafkaConfig,
  aProducer,
  committedOffsets,
  highWatermarks,
  produceWithKcat,
  testBrokers,
  waitFor,
} from './kafkaTestKit';

const clock = { nowMs: () => Date.now() };

/** An engine stand-in: echoes every input to `setpoints` keyed like the input, tagged with the instance. */
function echoHandlers(
  bus: KafkaMessageBus,
  instance: string,
  seen: InboundRecord[],
  gate?: () => Promise<void>,
) {
  return {
    onBatch: async (batch: InboundRecord[]) => {
      if (gate) await gate();
      seen.push(...batch);
      await bus.publish(
        batch.map((r) => ({
          topic: 'setpoints' as const,
          key: r.key ?? 'none',
          value: JSON.stringify({ instance, topic: r.topic, offset: r.offset, value: r.value }),
        })),
      );
    },
  };
}

describe('Kafka message bus against a real broker', () => {
  let brokers: string;
  beforeAll(() => {
    brokers = testBrokers(inject('kafkaBrokers'));
  });

  it('creates every topic with the configured partitions, state.snapshots compacted, and is idempotent', async () => {
    const config = aKafkaConfig(brokers, { kafka: { brokers: [brokers], partitions: 3 } });
    const first = await createKafkaTopics(config);
    expect(first.created).toHaveLength(INPUT_TOPICS.length + OUTPUT_TOPICS.length);
    const second = await createKafkaTopics(config);
    expect(second.created).toEqual([]);
    const admin = kafkaClient({ brokers: [brokers], clientId: 'test' }).admin();
    await admin.connect();
    try {
      const { topics } = await admin.fetchTopicMetadata({ topics: first.created });
      for (const t of topics) expect(t.partitions).toHaveLength(3);
      const described = await admin.describeConfigs({
        includeSynonyms: false,
        resources: [{ type: ConfigResourceTypes.TOPIC, name: `${config.topicsPrefix}state.snapshots` }],
      });
      const policy = described.resources[0]?.configEntries.find((e) => e.configName === 'cleanup.policy');
      expect(policy?.configValue).toBe('compact');
    } finally {
      await admin.disconnect();
    }
  });

  it('commits offset + 1 only after the outputs a batch caused are acked', async () => {
    const config = aKafkaConfig(brokers);
    await createKafkaTopics(config);
    const producer = await aProducer(config);
    const collector = await aCollector(config, ['setpoints']);
    const bus = new KafkaMessageBus(config, clock, { sessionTimeoutMs: 10_000 });
    const seen: InboundRecord[] = [];
    let open = false;
    const gate = async () => waitFor(() => open, 60_000, 'gate');
    try {
      await bus.start(echoHandlers(bus, 'a', seen, gate));
      const messages = Array.from({ length: 200 }, (_, i) => ({
        key: `site-${i % 20}`,
        value: JSON.stringify({ i }),
      }));
      await producer.send('fleet.state', messages.slice(0, 100));
      await producer.send('dso.power-variation', messages.slice(100));
      // The handler is blocked: nothing may be committed yet.
      await new Promise((r) => setTimeout(r, 1500));
      const blocked = await committedOffsets(config, 'fleet.state');
      for (const offset of blocked.values()) expect(offset).toBe('-1');
      open = true;
      await collector.waitFor(() => collector.of('setpoints').length >= 200, 60_000, '200 echoes');
      await waitFor(() => seen.length >= 200, 10_000, 'all inputs');
      for (const topic of ['fleet.state', 'dso.power-variation'] as const) {
        const high = await highWatermarks(config, topic);
        await waitFor(() => true);
        const committed = await committedOffsets(config, topic);
        for (const [partition, offset] of high) {
          if (offset === '0') continue;
          expect(committed.get(partition), `${topic}[${partition}]`).toBe(offset);
        }
      }
      // Every input arrives with its logical topic, key, and the partition the default partitioner chose.
      for (const record of seen) {
        expect(['fleet.state', 'dso.power-variation']).toContain(record.topic);
        expect(record.partition).toBe(partitionForKey(record.key as string, 4));
      }
    } finally {
      open = true;
      await bus.stop();
      await collector.close();
      await producer.close();
    }
  });

  it('redelivers a batch whose handler failed, without committing past it', async () => {
    const config = aKafkaConfig(brokers);
    await createKafkaTopics(config);
    const producer = await aProducer(config);
    const bus = new KafkaMessageBus(config, clock, { sessionTimeoutMs: 10_000 });
    const attempts = new Map<string, number>();
    const done = new Set<string>();
    try {
      await bus.start({
        onBatch: async (batch) => {
          for (const r of batch) {
            const n = (attempts.get(r.value) ?? 0) + 1;
            attempts.set(r.value, n);
            if (r.value === 'poison' && n < 3) throw new Error('transient failure');
          }
          for (const r of batch) done.add(r.value);
        },
      });
      await producer.send('rm.signals', [
        { key: 'site-1', value: 'a' },
        { key: 'site-1', value: 'poison' },
        { key: 'site-1', value: 'b' },
      ]);
      await waitFor(() => done.has('b'), 60_000, 'batch after retries');
      expect(attempts.get('poison')).toBe(3);
      expect([...done].sort()).toEqual(['a', 'b', 'poison']);
    } finally {
      await bus.stop();
      await producer.close();
    }
  });

  it('pipelines packed batches in checkpoint mode: positions recorded in order, only once done; a failure is fatal', async () => {
    const config = aKafkaConfig(brokers, { kafka: { brokers: [brokers], partitions: 1 } });
    await createKafkaTopics(config);
    const producer = await aProducer(config);
    let fatal: Error | null = null;
    const bus = new KafkaMessageBus(config, clock, {
      sessionTimeoutMs: 10_000,
      commitMode: 'checkpoint',
      onFatal: (error) => {
        fatal = error;
      },
    });
    // The "engine" finishes batches only when told to: the bus keeps fetching meanwhile.
    const handedOver: { values: string[]; behindRecords?: number; finish(ok: boolean): void }[] = [];
    const physical = `${config.topicsPrefix}fleet.state`;
    const position = () => bus.handledPositions().positions.get(physical)?.get(0);
    try {
      await bus.start({
        onBatch: async () => {
          throw new Error('strings path not expected');
        },
        onPackedBatch: (batch) =>
          new Promise<void>((resolve, reject) => {
            const values = unpackRecords(batch).map((r) => r.value);
            handedOver.push({
              values,
              behindRecords: batch.behindRecords,
              finish: (ok) => (ok ? resolve() : reject(new Error('engine failed'))),
            });
          }),
      });
      await waitFor(() => bus.assignedPartitions().length === 1, 30_000, 'assignment');
      await producer.send('fleet.state', [{ key: 'site-1', value: 'a' }]);
      await waitFor(() => handedOver.length === 1, 30_000, 'first batch');
      // Fetched at the head of the partition: nothing left unread (the engine's backlog signal).
      expect(handedOver[0]?.behindRecords).toBe(0);
      await producer.send('fleet.state', [{ key: 'site-1', value: 'b' }]);
      await waitFor(() => handedOver.length === 2, 30_000, 'second batch, first not done');
      expect(position()).toBeUndefined();
      handedOver[1]?.finish(true);
      await new Promise((r) => setTimeout(r, 100));
      expect(position()).toBeUndefined(); // in order: the second waits for the first
      handedOver[0]?.finish(true);
      await waitFor(() => position() === '2', 10_000, 'both positions recorded');

      await producer.send('fleet.state', [{ key: 'site-1', value: 'c' }]);
      await waitFor(() => handedOver.length === 3, 30_000, 'third batch');
      await producer.send('fleet.state', [{ key: 'site-1', value: 'd' }]);
      await waitFor(() => handedOver.length === 4, 30_000, 'fourth batch');
      handedOver[3]?.finish(true);
      handedOver[2]?.finish(false);
      await waitFor(() => fatal !== null, 10_000, 'fatal');
      expect((fatal as unknown as { code: string }).code).toBe('EVFLEX_ENGINE_FAILED');
      await new Promise((r) => setTimeout(r, 100));
      expect(position()).toBe('2'); // nothing after the failed batch is recorded
      expect(handedOver.flatMap((h) => h.values)).toEqual(['a', 'b', 'c', 'd']);
    } finally {
      await bus.stop();
      await producer.close();
    }
  });

  it('two instances in one group own disjoint partition numbers, the same ones on every input topic', async () => {
    const config = aKafkaConfig(brokers, { kafka: { brokers: [brokers], partitions: 6 } });
    await createKafkaTopics(config);
    const producer = await aProducer(config);
    const busA = new KafkaMessageBus(config, clock, { sessionTimeoutMs: 10_000 });
    const busB = new KafkaMessageBus({ ...config, instanceId: 'b' }, clock, { sessionTimeoutMs: 10_000 });
    const seenA: InboundRecord[] = [];
    const seenB: InboundRecord[] = [];
    const assignedA: number[][] = [];
    const assignedB: number[][] = [];
    try {
      await busA.start({
        ...echoHandlers(busA, 'a', seenA),
        onAssigned: async (p) => void assignedA.push(p),
      });
      await waitFor(() => busA.assignedPartitions().length === 6, 30_000, 'A owns all');
      await busB.start({
        ...echoHandlers(busB, 'b', seenB),
        onAssigned: async (p) => void assignedB.push(p),
      });
      await waitFor(
        () => busA.assignedPartitions().length === 3 && busB.assignedPartitions().length === 3,
        60_000,
        'split 3/3',
      );
      const union = [...busA.assignedPartitions(), ...busB.assignedPartitions()].sort();
      expect(union).toEqual([0, 1, 2, 3, 4, 5]);
      const sites = Array.from({ length: 30 }, (_, i) => `site-${i}`);
      for (const topic of INPUT_TOPICS) {
        await producer.send(
          topic,
          sites.map((s) => ({ key: s, value: topic })),
        );
      }
      // Every input of every site, counted once (a redelivered record must not make up for a missing one).
      const delivered = () => new Set([...seenA, ...seenB].map((r) => `${r.topic}/${r.key}`)).size;
      await waitFor(
        () => delivered() === sites.length * INPUT_TOPICS.length,
        60_000,
        'every input of every site',
      );
      const owner = new Map<string, Set<string>>();
      for (const [name, seen] of [
        ['a', seenA],
        ['b', seenB],
      ] as const) {
        for (const r of seen) {
          const set = owner.get(r.key as string) ?? new Set();
          set.add(name);
          owner.set(r.key as string, set);
        }
      }
      for (const site of sites) expect(owner.get(site)?.size, site).toBe(1);
      expect(new Set([...owner.values()].map((s) => [...s][0])).size).toBe(2);
      // Each hand-over gives B three partition numbers (a further rebalance may repeat one).
      expect(assignedB.length).toBeGreaterThan(0);
      for (const partitions of assignedB) expect(partitions).toHaveLength(3);
    } finally {
      await busB.stop();
      await busA.stop();
      await producer.close();
    }
  });

  it('consumes a record produced by kcat (a client that is not ours)', async () => {
    const config = aKafkaConfig(brokers);
    await createKafkaTopics(config);
    const bus = new KafkaMessageBus(config, clock, { sessionTimeoutMs: 10_000 });
    const seen: InboundRecord[] = [];
    try {
      await bus.start({ onBatch: async (b) => void seen.push(...b) });
      const value = JSON.stringify({ hello: 'from kcat', tsMs: 1 });
      await produceWithKcat(config, 'fleet.state', [{ key: 'site-kcat', value }]);
      await waitFor(() => seen.length === 1, 30_000, 'kcat record');
      expect(seen[0]).toMatchObject({ topic: 'fleet.state', key: 'site-kcat', value });
      expect(seen[0]?.partition).toBe(partitionForKey('site-kcat', 4));
    } finally {
      await bus.stop();
    }
  });
});
