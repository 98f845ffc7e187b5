import {
  CompressionTypes,
  type Consumer,
  type EachBatchPayload,
  type Kafka,
  Partitioners,
  type Producer,
  type TopicMessages,
} from 'kafkajs';
import type { InputTopic } from '../../../models/topics';
import type { EvflexConfig } from '../../config/configSchema';
import { EvflexError } from '../../core/evflexError';
import type { Clock } from '../../core/ports/clock';
import type { BusHandlers, MessageBus } from '../../core/ports/messageBus';
import type { InboundRecord, OutboundRecord } from '../../core/ports/records';
import { type PackedRecords, packRecords } from '../thread/packedRecords';
import { coalesceLatestPerKey } from './coalesceLatestPerKey';
import { coPartitionedAssigner } from './coPartitionedAssigner';
import { installFetchDecoder } from './installFetchDecoder';
import { kafkaClient } from './kafkaClient';
import { type KafkaTopicNames, kafkaTopicNames } from './kafkaTopicNames';

export interface KafkaMessageBusOptions {
  /**
   * Input topics whose records are coalesced per key within a batch, latest wins (default: none).
   * Off by default: a coalesced-away record is never validated, so a bad one would not reach the
   * dead-letter topic, and its measurement would not reach telemetry.
   */
  coalesceTopics?: readonly InputTopic[];
  /** Consumer group session timeout; a SIGKILLed instance's partitions move after this (default 30 s). */
  sessionTimeoutMs?: number;
  heartbeatIntervalMs?: number;
  /** Where a group with no committed offset starts (default: the beginning, so no input is skipped). */
  fromBeginning?: boolean;
  /** Called when the consumer crashes for good or a rebalance hook fails; the service should exit. */
  onFatal?: (error: Error) => void;
  /**
   * `batch` (default): commit offset + 1 after each batch's outputs are acked.
   * `checkpoint`: only record handled positions; the owner commits them with `commitPositions`
   * after publishing a snapshot that covers them (state + inputs after it = exact recovery).
   */
  commitMode?: 'batch' | 'checkpoint';
}

/** Next offset to read per physical input topic and partition, for batches already handled. */
export type InputPositions = Map<string, Map<number, string>>;

/** Kafka-specific extension of the port's handlers. */
export interface KafkaBusHandlers extends BusHandlers {
  /**
   * Partitions found gone without an orderly revocation (session expired, the group moved on):
   * drop their sites without publishing snapshots, which could be staler than the new owner's.
   * Falls back to onRevoked when absent.
   */
  onLost?(partitions: number[]): Promise<void>;
  /**
   * When present, batches are handed over packed (raw bytes, see `packRecords`) instead of as
   * strings, for an engine on another thread; `onBatch` is then used only for coalesced topics.
   */
  onPackedBatch?(batch: PackedRecords): Promise<void>;
}

/** Packed batches handed over but not yet done, at most (pipelining, checkpoint mode). */
const MAX_PIPELINED_BATCHES = 8;
const MAX_PIPELINED_RECORDS = 50_000;

const REBALANCE_ERRORS = new Set([
  'REBALANCE_IN_PROGRESS',
  'NOT_COORDINATOR_FOR_GROUP',
  'ILLEGAL_GENERATION',
]);

function isRebalancing(error: unknown): boolean {
  return REBALANCE_ERRORS.has((error as { type?: string })?.type ?? '');
}

const GROUP_MOVED_ON = new Set([...REBALANCE_ERRORS, 'UNKNOWN_MEMBER_ID', 'FENCED_INSTANCE_ID']);

/**
 * The commit was refused because the group has a newer generation or forgot this member.
 * kafkajs wraps the protocol error (type lost) once its retries are spent, hence the message test.
 */
function groupMovedOn(error: unknown): boolean {
  const e = error as { type?: string; cause?: { type?: string }; message?: string } | null;
  if (GROUP_MOVED_ON.has(e?.type ?? '') || GROUP_MOVED_ON.has(e?.cause?.type ?? '')) return true;
  return /generation id is not valid|rebalanc|member id/i.test(e?.message ?? '');
}

/**
 * The MessageBus port over Kafka (kafkajs). One consumer group reads every input topic; each
 * instance owns the same partition numbers of all input topics (co-partitioned assignment), so
 * it is the only writer for the sites keyed there. A batch's offset + 1 is committed only after
 * the handler's promise resolves, i.e. after every output it caused was acked by the broker
 * (acks = all). Partitions are consumed one batch at a time, which keeps per-site order and
 * means no batch is in flight when the group rebalances.
 *
 * kafkajs has eager rebalancing only: every rebalance takes all partitions away. The bus calls
 * `onRevoked(all owned)` as soon as it learns of a rebalance (before re-joining when it learns
 * it inside a batch) and `onAssigned(new set)` after the join, before the next batch.
 */
export class KafkaMessageBus implements MessageBus {
  private readonly kafka: Kafka;
  private readonly names: KafkaTopicNames;
  private readonly coalesce: ReadonlySet<InputTopic>;
  private producer: Producer | null = null;
  private snapshotProducer: Producer | null = null;
  private consumer: Consumer | null = null;
  private handlers: KafkaBusHandlers | null = null;
  private owned: number[] = [];
  private memberId: string | null = null;
  /** Bumped on every (re)assignment; positions captured under an older one are not committed. */
  private assignmentEpoch = 0;
  private readonly handled: InputPositions = new Map();
  /** Rebalance hooks run in order; batches wait for it. */
  private hooks: Promise<void> = Promise.resolve();
  private inFlight: Promise<void> = Promise.resolve();
  /**
   * Packed batches handed to the engine and not yet done, oldest first. In checkpoint mode the
   * bus does not wait for a batch before fetching the next: the engine (on its own thread)
   * works on one while the next is read. Positions are recorded in hand-over order as batches
   * complete; a batch that fails is fatal (no later position is recorded after it, and a
   * restart replays from the last checkpoint, which the snapshots make exact).
   */
  private pipelined: { done: Promise<void>; records: number }[] = [];
  private pipelinedRecords = 0;
  private pipelineTail: Promise<void> = Promise.resolve();
  private stopping = false;
  private fatal: Error | null = null;

  constructor(
    private readonly config: EvflexConfig,
    private readonly clock: Clock,
    private readonly options: KafkaMessageBusOptions = {},
  ) {
    if (!config.kafka) throw new EvflexError('EVFLEX_CONFIG_INVALID', 'kafka is not configured');
    if (config.kafka.fetchDecoder === 'evflex') installFetchDecoder();
    this.kafka = kafkaClient(config.kafka);
    this.names = kafkaTopicNames(config.topicsPrefix);
    this.coalesce = new Set(options.coalesceTopics ?? []);
  }

  /** Input partition numbers this instance owns right now. */
  assignedPartitions(): number[] {
    return [...this.owned];
  }

  /** Positions of handled batches (checkpoint mode), optionally only for some partitions. */
  handledPositions(partitions?: readonly number[]): { epoch: number; positions: InputPositions } {
    const only = partitions ? new Set(partitions) : null;
    const positions: InputPositions = new Map();
    for (const [topic, byPartition] of this.handled) {
      const copy = new Map<number, string>();
      for (const [partition, offset] of byPartition)
        if (!only || only.has(partition)) copy.set(partition, offset);
      if (copy.size > 0) positions.set(topic, copy);
    }
    return { epoch: this.assignmentEpoch, positions };
  }

  /**
   * Commits positions captured by `handledPositions`, only for partitions still owned under the
   * same assignment: a commit for a partition that moved on would overwrite the new owner's.
   */
  async commitPositions(captured: { epoch: number; positions: InputPositions }): Promise<void> {
    await this.commitCaptured(captured, new Set(this.owned));
  }

  private async commitCaptured(
    captured: { epoch: number; positions: InputPositions },
    owned: ReadonlySet<number>,
  ): Promise<void> {
    const consumer = this.consumer;
    if (!consumer || captured.epoch !== this.assignmentEpoch) return;
    const offsets: { topic: string; partition: number; offset: string }[] = [];
    for (const [topic, byPartition] of captured.positions)
      for (const [partition, offset] of byPartition)
        if (owned.has(partition)) offsets.push({ topic, partition, offset });
    if (offsets.length === 0) return;
    try {
      await consumer.commitOffsets(offsets);
    } catch (error) {
      // The group moved on: the next owner replays from the previous commit, and the snapshot
      // (always ahead of commits) lets it skip what was already applied.
      if (!groupMovedOn(error)) throw error;
    }
  }

  async start(handlers: KafkaBusHandlers): Promise<void> {
    const kafkaConfig = this.config.kafka;
    if (!kafkaConfig) throw new EvflexError('EVFLEX_CONFIG_INVALID', 'kafka is not configured');
    this.handlers = handlers;
    const producer = this.kafka.producer({
      allowAutoTopicCreation: false,
      idempotent: false,
      // One request in flight per broker: a retried send can never overtake a later one, so
      // setpoint versions reach a partition in order.
      maxInFlightRequests: 1,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    const consumer = this.kafka.consumer({
      groupId: kafkaConfig.groupId,
      partitionAssigners: [coPartitionedAssigner],
      sessionTimeout: this.options.sessionTimeoutMs ?? 30_000,
      heartbeatInterval:
        this.options.heartbeatIntervalMs ?? Math.min(3_000, (this.options.sessionTimeoutMs ?? 30_000) / 4),
      rebalanceTimeout: 60_000,
      allowAutoTopicCreation: false,
      maxWaitTimeInMs: 500,
      maxBytesPerPartition: kafkaConfig.fetchMaxBytesPerPartition,
      maxBytes: kafkaConfig.fetchMaxBytes,
      retry: { retries: 8, initialRetryTime: 100 },
    });
    // Snapshots travel on their own connection, so setpoints and acks never queue behind them.
    const snapshotProducer = this.kafka.producer({
      allowAutoTopicCreation: false,
      idempotent: false,
      maxInFlightRequests: 1,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    this.producer = producer;
    this.snapshotProducer = snapshotProducer;
    this.consumer = consumer;
    try {
      await producer.connect();
      await snapshotProducer.connect();
      await consumer.connect();
      await consumer.subscribe({
        topics: this.names.inputs,
        fromBeginning: this.options.fromBeginning ?? true,
      });
    } catch (error) {
      throw new EvflexError(
        'EVFLEX_BROKER_UNAVAILABLE',
        `cannot reach Kafka at ${kafkaConfig.brokers.join(',')}`,
        {
          cause: error,
        },
      );
    }

    // Once stopping, group events are the consumer winding down: stop() revokes by itself, and
    // a late join must not hand sites to an engine that is shutting down.
    consumer.on(consumer.events.REBALANCING, () => {
      if (!this.stopping) this.revokeAll();
    });
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      if (this.stopping) return;
      const partitions = new Set<number>();
      for (const topic of this.names.inputs)
        for (const p of payload.memberAssignment[topic] ?? []) partitions.add(p);
      this.assign(
        [...partitions].sort((a, b) => a - b),
        payload.memberId,
      );
    });
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      if (!payload.restart) this.fail(payload.error);
    });

    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: 1,
      eachBatch: (payload) => {
        const run = this.handleBatch(payload);
        this.inFlight = run.catch(() => {});
        return run;
      },
    });
  }

  async publish(records: OutboundRecord[]): Promise<void> {
    const producer = this.producer;
    if (!producer) throw new EvflexError('EVFLEX_BROKER_UNAVAILABLE', 'bus is not started');
    if (records.length === 0) return;
    const plain = new Map<string, TopicMessages>();
    const snapshots: TopicMessages = { topic: this.names.physical('state.snapshots'), messages: [] };
    for (const record of records) {
      if (record.topic === 'state.snapshots') {
        snapshots.messages.push({ key: record.key, value: record.value });
        continue;
      }
      const topic = this.names.physical(record.topic);
      let group = plain.get(topic);
      if (!group) {
        group = { topic, messages: [] };
        plain.set(topic, group);
      }
      group.messages.push({ key: record.key, value: record.value });
    }
    try {
      const sends: Promise<unknown>[] = [];
      if (plain.size > 0) sends.push(producer.sendBatch({ topicMessages: [...plain.values()], acks: -1 }));
      // Snapshots are large and repetitive: gzip them (kafkajs ships gzip without extra codecs).
      if (snapshots.messages.length > 0) {
        const snapshotProducer = this.snapshotProducer ?? producer;
        sends.push(
          snapshotProducer.sendBatch({
            topicMessages: [snapshots],
            acks: -1,
            compression: CompressionTypes.GZIP,
          }),
        );
      }
      await Promise.all(sends);
    } catch (error) {
      throw new EvflexError('EVFLEX_BROKER_UNAVAILABLE', `publish of ${records.length} records failed`, {
        cause: error,
      });
    }
  }

  /** Stops consuming, lets the batch in flight finish, revokes (the engine snapshots), leaves the group. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    const consumer = this.consumer;
    if (consumer) {
      consumer.pause(this.names.inputs.map((topic) => ({ topic })));
      await this.inFlight;
      this.revokeAll();
      await this.hooks.catch(() => {});
      await consumer.disconnect().catch(() => {});
    }
    await this.producer?.disconnect().catch(() => {});
    await this.snapshotProducer?.disconnect().catch(() => {});
    this.consumer = null;
    this.producer = null;
    this.snapshotProducer = null;
  }

  private async handleBatch({
    batch,
    resolveOffset,
    heartbeat,
    commitOffsetsIfNecessary,
    isRunning,
    isStale,
  }: EachBatchPayload) {
    if (this.stopping || !isRunning() || isStale()) return;
    await this.hooks;
    if (this.fatal) throw this.fatal;
    if (this.stopping || batch.messages.length === 0) return;
    // A heartbeat inside an earlier batch of the same fetch may have learned of a rebalance and
    // revoked everything; kafkajs still hands over the fetch's remaining batches. Their sites are
    // snapshotted and released: applying them would dead-letter valid inputs (unknown site) and
    // rebuild sites from a partial replay. Left unresolved, they are read again by whoever owns
    // the partition next, from its committed offset.
    if (!this.owned.includes(batch.partition)) return;
    const logical = this.names.inputOf(batch.topic);
    const last = batch.messages[batch.messages.length - 1]?.offset as string;
    const handlers = this.handlers as KafkaBusHandlers;
    const next = (BigInt(last) + 1n).toString();
    if (logical && handlers.onPackedBatch && !this.coalesce.has(logical)) {
      const packed = packRecords(logical, batch.partition, this.clock.nowMs(), batch.messages);
      // What was still unread in the partition when this was fetched: the engine reads a backlog
      // before it plans on it (planner.backlogRecords).
      packed.behindRecords = Math.max(0, Number(batch.highWatermark) - Number(next));
      if (this.options.commitMode === 'checkpoint') {
        this.pipeline(handlers.onPackedBatch(packed), batch.topic, batch.partition, next, packed.count);
        resolveOffset(last);
        await this.pipelineRoom();
        await this.heartbeatOrRevoke(heartbeat);
        return;
      }
      await handlers.onPackedBatch(packed);
    } else if (logical) {
      const receivedMs = this.clock.nowMs();
      let records: InboundRecord[] = new Array(batch.messages.length);
      for (let i = 0; i < batch.messages.length; i++) {
        const m = batch.messages[i] as (typeof batch.messages)[number];
        records[i] = {
          topic: logical,
          key: m.key ? m.key.toString('utf8') : null,
          value: m.value ? m.value.toString('utf8') : '',
          partition: batch.partition,
          offset: m.offset,
          receivedMs,
        };
      }
      if (this.coalesce.has(logical)) records = coalesceLatestPerKey(records);
      await handlers.onBatch(records);
    }
    resolveOffset(last);
    if (this.options.commitMode === 'checkpoint') {
      // After batches handed over earlier: positions are recorded in order.
      await this.pipelineTail;
      this.recordHandled(batch.topic, batch.partition, next);
    } else {
      await commitOffsetsIfNecessary({
        topics: [{ topic: batch.topic, partitions: [{ partition: batch.partition, offset: next }] }],
      });
    }
    await this.heartbeatOrRevoke(heartbeat);
  }

  private recordHandled(topic: string, partition: number, next: string): void {
    let byPartition = this.handled.get(topic);
    if (!byPartition) {
      byPartition = new Map();
      this.handled.set(topic, byPartition);
    }
    byPartition.set(partition, next);
  }

  private pipeline(done: Promise<void>, topic: string, partition: number, next: string, records: number) {
    const epoch = this.assignmentEpoch;
    const entry = { done, records };
    this.pipelined.push(entry);
    this.pipelinedRecords += records;
    this.pipelineTail = this.pipelineTail
      .then(() => done)
      .then(
        () => {
          // A position from an earlier assignment is not this one's to record.
          if (epoch === this.assignmentEpoch) this.recordHandled(topic, partition, next);
        },
        (error: unknown) => {
          this.fail(
            new EvflexError('EVFLEX_ENGINE_FAILED', `batch ${topic}[${partition}] before ${next} failed`, {
              cause: error,
            }),
          );
          throw error;
        },
      )
      .finally(() => {
        this.pipelined.splice(this.pipelined.indexOf(entry), 1);
        this.pipelinedRecords -= records;
      });
    this.inFlight = this.pipelineTail.catch(() => {});
  }

  /** Waits while too much is handed over and not yet done (bounded memory, bounded lag). */
  private async pipelineRoom(): Promise<void> {
    while (
      this.pipelined.length > MAX_PIPELINED_BATCHES ||
      (this.pipelined.length > 1 && this.pipelinedRecords > MAX_PIPELINED_RECORDS)
    ) {
      await (this.pipelined[0] as { done: Promise<void> }).done.catch(() => {});
      if (this.fatal) throw this.fatal;
    }
  }

  private async heartbeatOrRevoke(heartbeat: () => Promise<void>): Promise<void> {
    try {
      await heartbeat();
    } catch (error) {
      // Learned of a rebalance inside a batch: release everything before kafkajs re-joins.
      if (isRebalancing(error)) {
        this.revokeAll();
        await this.hooks;
      }
      throw error;
    }
  }

  private revokeAll(): void {
    const revoked = this.owned;
    if (revoked.length === 0) return;
    // Captured now: in checkpoint mode onRevoked publishes snapshots covering these positions,
    // then they are committed (unless the group already moved on).
    const captured = this.handledPositions(revoked);
    this.owned = [];
    const onRevoked = this.handlers?.onRevoked;
    this.chain(async () => {
      if (onRevoked) await onRevoked.call(this.handlers, revoked);
      // Best effort: if it fails the next owner replays a little more and skips what the
      // snapshots already hold. It must never make the revocation itself fail.
      if (this.options.commitMode === 'checkpoint')
        await this.commitCaptured(captured, new Set(revoked)).catch(() => {});
    }, 'onRevoked');
  }

  private assign(partitions: number[], memberId: string): void {
    // kafkajs re-runs join+sync when a step after it fails (e.g. ListOffsets while leadership
    // settles after topic creation). Same member, same partitions, no revocation in between:
    // nothing changed hands, so the hooks are not called again.
    const sameMember = memberId === this.memberId;
    this.memberId = memberId;
    if (
      sameMember &&
      partitions.length === this.owned.length &&
      partitions.every((p, i) => p === this.owned[i])
    )
      return;
    // Normally everything was revoked before the re-join. Partitions still held here were taken
    // without notice (session expired): others may have processed them meanwhile, so they are
    // dropped unsnapshotted and, if handed back, reloaded like any gained partition.
    const lost = this.owned;
    this.owned = partitions;
    this.assignmentEpoch++;
    this.handled.clear();
    const { onRevoked, onAssigned, onLost } = this.handlers ?? {};
    const drop = onLost ?? onRevoked;
    if (lost.length > 0 && drop) this.chain(() => drop.call(this.handlers, lost), 'onLost');
    if (partitions.length > 0 && onAssigned)
      this.chain(() => onAssigned.call(this.handlers, partitions), 'onAssigned');
  }

  private chain(hook: () => Promise<void>, name: string): void {
    this.hooks = this.hooks.then(hook).catch((error: unknown) => {
      this.fail(new EvflexError('EVFLEX_BROKER_UNAVAILABLE', `${name} failed`, { cause: error }));
    });
  }

  private fail(error: Error): void {
    if (this.fatal) return;
    this.fatal = error;
    this.options.onFatal?.(error);
  }
}
