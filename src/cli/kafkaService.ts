import { join } from 'node:path';
import { KafkaMessageBus } from '../adapters/kafka/kafkaMessageBus';
import { KafkaSnapshotStore } from '../adapters/kafka/kafkaSnapshotStore';
import { partitionForKey } from '../adapters/kafka/partitionForKey';
import type { PackedRecords } from '../adapters/thread/packedRecords';
import type { EvflexConfig } from '../config/configSchema';
import { EvflexError } from '../core/evflexError';
import type { Clock } from '../core/ports/clock';
import { emptySiteState } from '../core/siteRuntime';
import { systemClock } from '../core/systemClock';
import { compose } from './compose';
import { type EngineHost, localEngineHost } from './engineHost';
import { shardedEngineHost } from './shardedEngineHost';
import { startThreadEngineHost } from './threadEngineHost';

/**
 * Sites snapshotted per slice of a checkpoint: a 50-EVSE site's snapshot is ~30 kB of JSON,
 * so a slice holds the engine for a few milliseconds at most before urgent input gets its turn.
 */
const CHECKPOINT_SLICE_SITES = 10;

export interface KafkaServiceOptions {
  clock?: Clock;
  /** How often the engine's timer work runs (re-plans that are due, expiries). Default 1 s. */
  tickIntervalMs?: number;
  /**
   * How often changed sites are snapshotted and the inputs they cover committed. Default 30 s:
   * a site is snapshotted at most once per interval however busy it is, and recovery replays at
   * most this much input (tens of thousands of records per second).
   */
  checkpointIntervalMs?: number;
  /** Consumer group session timeout: how fast a killed instance's sites move (default 30 s). */
  sessionTimeoutMs?: number;
  log?: (line: string) => void;
  /** Called when the service can no longer run (consumer crashed, a rebalance hook failed). */
  onFatal?: (error: Error) => void;
  /**
   * Run the engine on a thread of its own (default), so Kafka I/O and the engine's work run
   * side by side; false keeps it on this thread (a virtual clock needs that: it is not shared).
   */
  engineThread?: boolean;
}

export interface KafkaService {
  engine: EngineHost;
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
 * One engine thread's config: the configured sites of its shard only (each site has one
 * writer), and a spill directory of its own for its telemetry sink.
 */
function shardConfig(
  config: EvflexConfig,
  shard: number,
  shardOfSite: (siteId: string) => number,
): EvflexConfig {
  const clickhouse = config.clickhouse;
  return {
    ...config,
    sites: config.sites.filter((site) => shardOfSite(site.siteId) === shard),
    clickhouse: clickhouse && {
      ...clickhouse,
      spillDir: clickhouse.spillDir ? join(clickhouse.spillDir, `shard-${shard}`) : null,
    },
  };
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
  const kafkaOptions = {
    commitMode: 'checkpoint' as const,
    sessionTimeoutMs: options.sessionTimeoutMs,
    onFatal: fatal,
  };
  let bus: KafkaMessageBus;
  let engine: EngineHost;
  const threaded = options.engineThread !== false && !options.clock;
  const store = new KafkaSnapshotStore(config, {
    onInvalid: (siteId, reason) => log(`evflex: skipping unreadable snapshot of ${siteId}: ${reason}`),
  });
  const partitionCount = await store.inputPartitionCount();
  if (threaded) {
    bus = new KafkaMessageBus(config, clock, kafkaOptions);
    const threads = Math.max(1, Math.min(config.kafka.engineThreads, partitionCount));
    if (threads === 1) engine = await startThreadEngineHost(config, { bus, log, onFatal: fatal });
    else {
      const shardOfSite = (siteId: string) => partitionForKey(siteId, partitionCount) % threads;
      const shards = await Promise.all(
        Array.from({ length: threads }, (_, shard) =>
          startThreadEngineHost(shardConfig(config, shard, shardOfSite), { bus, log, onFatal: fatal }),
        ),
      );
      engine = shardedEngineHost(shards, shardOfSite);
    }
  } else {
    const composed = await compose(config, { clock, log, kafkaOptions });
    if (!(composed.bus instanceof KafkaMessageBus))
      throw new EvflexError('EVFLEX_CONFIG_INVALID', 'compose did not pick Kafka');
    bus = composed.bus;
    engine = localEngineHost(composed.engine);
  }
  const configTopologies = new Map(config.sites.map((t) => [t.siteId, t]));
  const owned = new Set<number>();
  const ownsSite = (siteId: string) => owned.has(partitionForKey(siteId, partitionCount));
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

  const sitesIn = async (partitions: readonly number[]) => {
    const set = new Set(partitions);
    return (await engine.siteIds()).filter((siteId) => set.has(partitionForKey(siteId, partitionCount)));
  };

  const checkpoint = () =>
    serialized(async () => {
      const captured = bus.handledPositions();
      await drain();
      const ids = await engine.takeDirty();
      // Snapshots are big (a 50-EVSE site is tens of kB): serialise and send them in slices,
      // yielding in between, so a checkpoint never stalls the latency path for long. A slice
      // taken later may be newer than `captured`; snapshots ahead of commits are fine.
      for (let i = 0; i < ids.length; i += CHECKPOINT_SLICE_SITES) {
        const records = await engine.snapshotRecords(ids.slice(i, i + CHECKPOINT_SLICE_SITES));
        if (records.length > 0) await bus.publish(records);
        await new Promise((r) => setImmediate(r));
      }
      await bus.commitPositions(captured);
    });

  await bus.start({
    onBatch: (records) => engine.handleBatch(records),
    ...(threaded ? { onPackedBatch: (batch: PackedRecords) => engine.handlePacked(batch) } : {}),
    onAssigned: (partitions) =>
      serialized(async () => {
        const states = await store.loadPartitions(partitions);
        await drain();
        for (const p of partitions) owned.add(p);
        const restored = [...states.values()];
        const held = new Set(await engine.siteIds());
        // Sites configured up front but never snapshotted start from their configured topology.
        for (const [siteId, topology] of configTopologies) {
          if (!states.has(siteId) && ownsSite(siteId) && !held.has(siteId)) {
            restored.push({ ...emptySiteState(siteId, clock.nowMs()), topology });
          }
        }
        await engine.restore(restored);
        // The engine may hold sites it does not own (seeded from config): drop them unsnapshotted.
        const foreign = [...held].filter((id) => !ownsSite(id));
        if (foreign.length > 0) await engine.release(foreign, false);
        log(`evflex: assigned partitions [${partitions.join(',')}], ${states.size} sites restored`);
        assignedOnce = true;
        resolveAssigned();
      }),
    onRevoked: (partitions) =>
      serialized(async () => {
        await drain();
        const ids = await sitesIn(partitions);
        for (const p of partitions) owned.delete(p);
        const records = await engine.release(ids, true);
        if (records.length > 0) await bus.publish(records);
        log(
          `evflex: revoked partitions [${partitions.join(',')}], ${ids.length} sites snapshotted and released`,
        );
      }),
    onLost: (partitions) =>
      serialized(async () => {
        await drain();
        const ids = await sitesIn(partitions);
        for (const p of partitions) owned.delete(p);
        await engine.release(ids, false);
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
  }, options.checkpointIntervalMs ?? 30_000);

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
        await bus.stop();
        // The engine last: it closes its telemetry sink, so the final batch's rows get their chance.
        await engine.stop();
      })();
      return stopped;
    },
  };
}
