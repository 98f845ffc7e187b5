import { KafkaMessageBus } from '../adapters/kafka/kafkaMessageBus';
import { KafkaSnapshotStore } from '../adapters/kafka/kafkaSnapshotStore';
import { partitionForKey } from '../adapters/kafka/partitionForKey';
import type { EvflexConfig } from '../config/configSchema';
import type { Engine } from '../core/engine';
import { EvflexError } from '../core/evflexError';
import type { Clock } from '../core/ports/clock';
import type { InboundRecord } from '../core/ports/records';
import { emptySiteState } from '../core/siteRuntime';
import { systemClock } from '../core/systemClock';
import { compose } from './compose';

const CHECKPOINT_SLICE_SITES = 25;

export interface KafkaServiceOptions {
  clock?: Clock;
  /** How often the engine's timer work runs (re-plans that are due, expiries). Default 1 s. */
  tickIntervalMs?: number;
  /** How often changed sites are snapshotted and the inputs they cover committed. Default 5 s. */
  checkpointIntervalMs?: number;
  /** Consumer group session timeout: how fast a killed instance's sites move (default 30 s). */
  sessionTimeoutMs?: number;
  log?: (line: string) => void;
  /** Called when the service can no longer run (consumer crashed, a rebalance hook failed). */
  onFatal?: (error: Error) => void;
}

export interface KafkaService {
  engine: Engine;
  bus: KafkaMessageBus;
  /** Input partitions owned right now. */
  ownedPartitions(): number[];
  /** Resolves once this instance has been assigned partitions and loaded their sites. */
  assigned: Promise<void>;
  /** Snapshot changed sites and commit the inputs they cover. */
  checkpoint(): Promise<void>;
  /** Graceful: stop consuming, finish the batch in flight, snapshot and release every site, leave the group. */
  stop(): Promise<void>;
}

/**
 * The engine as a long-lived Kafka service: one member of the consumer group.
 *
 * Recovery model: a site's snapshot on `state.snapshots` is always at least as new as the
 * committed input offsets of its partition (inputs are committed only at checkpoints, after
 * the snapshots covering them are acked). On assignment an instance loads the snapshots of its
 * partitions and consumes from the committed offsets; records a snapshot already reflects
 * (its `inputOffsets`) are skipped, so nothing is skipped and nothing is applied twice.
 * Setpoint versions continue from the snapshot and never go backwards.
 */
export async function startKafkaService(
  config: EvflexConfig,
  options: KafkaServiceOptions = {},
): Promise<KafkaService> {
  if (!config.kafka) throw new EvflexError('EVFLEX_CONFIG_INVALID', 'service mode needs kafka.brokers');
  const clock = options.clock ?? systemClock;
  const log = options.log ?? ((line: string) => console.error(line));
  const fatal = (error: Error) => {
    log(`evflex: fatal: ${error.message}${error.cause ? ` (${String(error.cause)})` : ''}`);
    options.onFatal?.(error);
  };
  const {
    engine,
    bus: composedBus,
    telemetry,
  } = await compose(config, {
    clock,
    log,
    kafkaOptions: { commitMode: 'checkpoint', sessionTimeoutMs: options.sessionTimeoutMs, onFatal: fatal },
  });
  if (!(composedBus instanceof KafkaMessageBus))
    throw new EvflexError('EVFLEX_CONFIG_INVALID', 'compose did not pick Kafka');
  const bus = composedBus;
  const store = new KafkaSnapshotStore(config, {
    onInvalid: (siteId, reason) => log(`evflex: skipping unreadable snapshot of ${siteId}: ${reason}`),
  });
  const partitionCount = await store.inputPartitionCount();
  const configTopologies = new Map(config.sites.map((t) => [t.siteId, t]));
  const owned = new Set<number>();
  const ownsSite = (siteId: string) => owned.has(partitionForKey(siteId, partitionCount));
  /** Sites whose state changed since the last checkpoint. */
  const dirty = new Set<string>();
  let assignedOnce = false;
  let resolveAssigned: () => void = () => {};
  const assigned = new Promise<void>((resolve) => {
    resolveAssigned = resolve;
  });
  // Checkpoints and rebalance hooks never interleave.
  let exclusive: Promise<unknown> = Promise.resolve();
  const serialized = <T>(task: () => Promise<T>): Promise<T> => {
    const run = exclusive.then(task, task);
    exclusive = run.catch(() => {});
    return run;
  };
  /** Lets work already queued in the engine finish, so no batch is half-applied. */
  const drain = () => engine.handleBatch([]);

  const sitesIn = (partitions: readonly number[]) => {
    const set = new Set(partitions);
    return [...engine.sites().keys()].filter((siteId) => set.has(partitionForKey(siteId, partitionCount)));
  };

  const checkpoint = () =>
    serialized(async () => {
      const captured = bus.handledPositions();
      await drain();
      const ids = [...dirty];
      dirty.clear();
      // Snapshots are big (a 50-EVSE site is tens of kB): serialise and send them in slices,
      // yielding in between, so a checkpoint never stalls the latency path for long. A slice
      // taken later may be newer than `captured`; snapshots ahead of commits are fine.
      for (let i = 0; i < ids.length; i += CHECKPOINT_SLICE_SITES) {
        const slice = ids.slice(i, i + CHECKPOINT_SLICE_SITES).filter((id) => engine.sites().has(id));
        if (slice.length > 0) await bus.publish(engine.snapshotRecords(slice));
        await new Promise((r) => setImmediate(r));
      }
      await bus.commitPositions(captured);
    });

  const skipApplied = (records: InboundRecord[]): InboundRecord[] => {
    const sites = engine.sites();
    let kept: InboundRecord[] | null = null;
    for (let i = 0; i < records.length; i++) {
      const r = records[i] as InboundRecord;
      const next =
        r.key === null ? undefined : sites.get(r.key)?.state.inputOffsets[`${r.topic}:${r.partition}`];
      const applied = next !== undefined && BigInt(r.offset) < BigInt(next);
      if (applied && kept === null) kept = records.slice(0, i);
      else if (!applied && kept !== null) kept.push(r);
      if (!applied && r.key !== null) dirty.add(r.key);
    }
    return kept ?? records;
  };

  await bus.start({
    onBatch: async (records) => {
      const fresh = skipApplied(records);
      await engine.handleBatch(fresh);
      // Marked only once applied: a checkpoint must never clear a site whose batch is still queued.
      for (const r of fresh) if (r.key !== null) dirty.add(r.key);
    },
    onAssigned: (partitions) =>
      serialized(async () => {
        const states = await store.loadPartitions(partitions);
        await drain();
        for (const p of partitions) owned.add(p);
        const restored = [...states.values()];
        // Sites configured up front but never snapshotted start from their configured topology.
        for (const [siteId, topology] of configTopologies) {
          if (!states.has(siteId) && ownsSite(siteId) && !engine.sites().has(siteId)) {
            restored.push({ ...emptySiteState(siteId, clock.nowMs()), topology });
          }
        }
        engine.restore(restored);
        // The engine may hold sites it does not own (seeded from config): drop them unsnapshotted.
        const foreign = [...engine.sites().keys()].filter((id) => !ownsSite(id));
        if (foreign.length > 0) engine.release(foreign);
        log(`evflex: assigned partitions [${partitions.join(',')}], ${states.size} sites restored`);
        assignedOnce = true;
        resolveAssigned();
      }),
    onRevoked: (partitions) =>
      serialized(async () => {
        await drain();
        const ids = sitesIn(partitions);
        for (const p of partitions) owned.delete(p);
        const records = engine.release(ids);
        for (const id of ids) dirty.delete(id);
        if (records.length > 0) await bus.publish(records);
        log(
          `evflex: revoked partitions [${partitions.join(',')}], ${ids.length} sites snapshotted and released`,
        );
      }),
    onLost: (partitions) =>
      serialized(async () => {
        await drain();
        const ids = sitesIn(partitions);
        for (const p of partitions) owned.delete(p);
        engine.release(ids);
        for (const id of ids) dirty.delete(id);
        log(`evflex: lost partitions [${partitions.join(',')}], ${ids.length} sites dropped`);
      }),
  });

  let ticking = false;
  const tickTimer = setInterval(() => {
    if (!assignedOnce || ticking) return;
    ticking = true;
    engine
      .tick()
      .catch((error: unknown) => log(`evflex: tick failed: ${String(error)}`))
      .finally(() => {
        ticking = false;
      });
  }, options.tickIntervalMs ?? 1_000);
  const checkpointTimer = setInterval(() => {
    checkpoint().catch((error: unknown) => log(`evflex: checkpoint failed: ${String(error)}`));
  }, options.checkpointIntervalMs ?? 5_000);

  let stopped: Promise<void> | null = null;
  return {
    engine,
    bus,
    assigned,
    ownedPartitions: () => [...owned].sort((a, b) => a - b),
    checkpoint,
    stop() {
      stopped ??= (async () => {
        clearInterval(tickTimer);
        clearInterval(checkpointTimer);
        await exclusive;
        // bus.stop revokes everything: onRevoked snapshots and releases, then positions are committed.
        await engine.stop();
        await telemetry?.close();
      })();
      return stopped;
    },
  };
}
