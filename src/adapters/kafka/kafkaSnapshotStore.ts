import { randomBytes } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import { type SiteState, stateSnapshotMessageSchema } from '../../../models/stateSnapshot';
import type { EvflexConfig } from '../../config/configSchema';
import { EvflexError } from '../../core/evflexError';
import type { SnapshotStore } from '../../core/ports/snapshotStore';
import { installFetchDecoder } from './installFetchDecoder';
import { kafkaClient } from './kafkaClient';
import { kafkaTopicNames } from './kafkaTopicNames';
import { partitionForKey } from './partitionForKey';

export interface KafkaSnapshotStoreOptions {
  /** Give up reading the snapshot topic after this long (default 120 s). */
  timeoutMs?: number;
  /** Called for a snapshot record that does not parse (it is skipped). */
  onInvalid?: (siteId: string, reason: string) => void;
}

/**
 * SnapshotStore over the compacted `state.snapshots` topic: reads it from the beginning to the
 * high watermarks taken at the start of the call, and keeps the latest snapshot per site (a
 * null value is a tombstone). kafkajs has no manual partition assignment, so each read uses a
 * throwaway consumer group that never commits and is deleted afterwards.
 */
export class KafkaSnapshotStore implements SnapshotStore {
  private readonly kafka: Kafka;
  private readonly snapshotTopic: string;
  private readonly inputTopic: string;

  constructor(
    private readonly config: EvflexConfig,
    private readonly options: KafkaSnapshotStoreOptions = {},
  ) {
    if (!config.kafka) throw new EvflexError('EVFLEX_CONFIG_INVALID', 'kafka is not configured');
    if (config.kafka.fetchDecoder === 'evflex') installFetchDecoder();
    this.kafka = kafkaClient({ ...config.kafka, clientId: `${config.kafka.clientId}-snapshots` });
    const names = kafkaTopicNames(config.topicsPrefix);
    this.snapshotTopic = names.physical('state.snapshots');
    this.inputTopic = names.physical('fleet.state');
  }

  /** How many partitions the input topics have (sites map onto them by murmur2 of the site id). */
  async inputPartitionCount(): Promise<number> {
    const admin = this.kafka.admin();
    try {
      await admin.connect();
      const { topics } = await admin.fetchTopicMetadata({ topics: [this.inputTopic] });
      return topics[0]?.partitions.length ?? 0;
    } catch (error) {
      throw new EvflexError('EVFLEX_BROKER_UNAVAILABLE', `cannot read partitions of ${this.inputTopic}`, {
        cause: error,
      });
    } finally {
      await admin.disconnect().catch(() => {});
    }
  }

  async load(siteIds?: readonly string[]): Promise<Map<string, SiteState>> {
    const all = await this.read(null);
    if (!siteIds) return all;
    const wanted = new Map<string, SiteState>();
    for (const siteId of siteIds) {
      const state = all.get(siteId);
      if (state) wanted.set(siteId, state);
    }
    return wanted;
  }

  /**
   * Latest snapshots of the sites whose inputs are keyed into the given input partitions
   * (what an instance needs when the group hands it those partitions).
   */
  async loadPartitions(partitions: readonly number[]): Promise<Map<string, SiteState>> {
    if (partitions.length === 0) return new Map();
    return this.read(new Set(partitions));
  }

  private async read(inputPartitions: ReadonlySet<number> | null): Promise<Map<string, SiteState>> {
    const admin = this.kafka.admin();
    const result = new Map<string, SiteState>();
    let targets: Map<number, bigint>;
    let inputPartitionCount = 0;
    let samePartitioning = false;
    try {
      await admin.connect();
      const [snapshotOffsets, inputOffsets] = await Promise.all([
        retried(() => admin.fetchTopicOffsets(this.snapshotTopic)),
        retried(() => admin.fetchTopicOffsets(this.inputTopic)),
      ]);
      inputPartitionCount = inputOffsets.length;
      samePartitioning = inputPartitionCount === snapshotOffsets.length;
      targets = new Map();
      for (const { partition, high, low } of snapshotOffsets) {
        if (BigInt(high) <= BigInt(low)) continue;
        // With equal partition counts a site's snapshot sits in its inputs' partition number.
        if (inputPartitions && samePartitioning && !inputPartitions.has(partition)) continue;
        targets.set(partition, BigInt(high) - 1n);
      }
    } catch (error) {
      throw new EvflexError('EVFLEX_BROKER_UNAVAILABLE', `cannot read offsets of ${this.snapshotTopic}`, {
        cause: error,
      });
    } finally {
      await admin.disconnect().catch(() => {});
    }
    if (targets.size === 0) return result;

    const groupId = `${this.config.kafka?.groupId}.snapshot-reader.${randomBytes(6).toString('hex')}`;
    const consumer = this.kafka.consumer({
      groupId,
      maxBytesPerPartition: 16 * 1024 * 1024,
      maxWaitTimeInMs: 100,
    });
    const remaining = new Set(targets.keys());
    let finish: () => void = () => {};
    const done = new Promise<void>((resolve) => {
      finish = resolve;
    });
    try {
      await consumer.connect();
      await consumer.subscribe({ topic: this.snapshotTopic, fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachBatch: async ({ batch }) => {
          const target = targets.get(batch.partition);
          if (target === undefined || !remaining.has(batch.partition)) return;
          for (const message of batch.messages) {
            if (BigInt(message.offset) > target) break;
            const siteId = message.key?.toString('utf8');
            if (!siteId) continue;
            if (!message.value) {
              result.delete(siteId);
              continue;
            }
            const parsed = parseSnapshot(message.value.toString('utf8'));
            if (typeof parsed === 'string') {
              this.options.onInvalid?.(siteId, parsed);
              continue;
            }
            result.set(siteId, parsed);
          }
          if (BigInt(batch.lastOffset()) >= target) {
            remaining.delete(batch.partition);
            if (remaining.size === 0) finish();
          }
        },
      });
      const timeoutMs = this.options.timeoutMs ?? 120_000;
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () =>
            reject(
              new EvflexError(
                'EVFLEX_BROKER_UNAVAILABLE',
                `reading ${this.snapshotTopic} took over ${timeoutMs} ms`,
              ),
            ),
          timeoutMs,
        );
      });
      try {
        await Promise.race([done, timeout]);
      } finally {
        clearTimeout(timer);
      }
    } catch (error) {
      if (error instanceof EvflexError) throw error;
      throw new EvflexError('EVFLEX_BROKER_UNAVAILABLE', `cannot read ${this.snapshotTopic}`, {
        cause: error,
      });
    } finally {
      await consumer.disconnect().catch(() => {});
      await this.deleteGroup(groupId);
    }

    if (inputPartitions && !samePartitioning) {
      for (const siteId of [...result.keys()]) {
        if (!inputPartitions.has(partitionForKey(siteId, inputPartitionCount))) result.delete(siteId);
      }
    }
    return result;
  }

  private async deleteGroup(groupId: string): Promise<void> {
    const admin = this.kafka.admin();
    try {
      await admin.connect();
      await admin.deleteGroups([groupId]);
    } catch {
      // A leftover empty group is harmless; the broker expires it.
    } finally {
      await admin.disconnect().catch(() => {});
    }
  }
}

function parseSnapshot(value: string): SiteState | string {
  let json: unknown;
  try {
    json = JSON.parse(value);
  } catch (error) {
    return `not JSON: ${String(error)}`;
  }
  const parsed = stateSnapshotMessageSchema.safeParse(json);
  return parsed.success ? parsed.data.state : parsed.error.message.slice(0, 500);
}

/** Leadership moves briefly after topic creation; kafkajs's admin does not retry ListOffsets for it. */
async function retried<T>(task: () => Promise<T>, attempts = 20): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await task();
    } catch (error) {
      if (i >= attempts || (error as { retriable?: boolean }).retriable !== true) throw error;
      await new Promise((r) => setTimeout(r, 100 * Math.min(i, 5)));
    }
  }
}
