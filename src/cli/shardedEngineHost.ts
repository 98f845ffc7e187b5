import type { SiteState } from '../../models/stateSnapshot';
import { type EngineStats, emptyEngineStats } from '../core/engine';
import type { InboundRecord } from '../core/ports/records';
import type { EngineHost } from './engineHost';

/**
 * Several engines behind one `EngineHost`, each the only writer for the sites of its share of
 * the partitions: shard `p mod n` holds partition p's sites, as an instance of the consumer
 * group holds its partitions' sites. A site's inputs all arrive in one partition number (inputs
 * are keyed by site and co-partitioned), so its order and its single writer stay as they were;
 * what one engine thread did serially (parse, check, apply, plan) is split across threads.
 *
 * `shardOfSite` maps a site to its shard (murmur2 of the site id to its partition, then mod n),
 * for the calls that name sites: restore, release, snapshots.
 */
export function shardedEngineHost(
  shards: readonly EngineHost[],
  shardOfSite: (siteId: string) => number,
): EngineHost {
  const n = shards.length;
  const shardOfPartition = (partition: number) => partition % n;
  /** Items split by shard, in their order; shards with none are left out. */
  const split = <T>(items: readonly T[], shardOf: (item: T) => number): Map<number, T[]> => {
    const out = new Map<number, T[]>();
    for (const item of items) {
      const shard = shardOf(item);
      let list = out.get(shard);
      if (!list) {
        list = [];
        out.set(shard, list);
      }
      list.push(item);
    }
    return out;
  };
  const all = <T>(call: (host: EngineHost) => Promise<T>) => Promise.all(shards.map(call));
  const bySite = async <T>(
    siteIds: readonly string[],
    call: (host: EngineHost, ids: string[]) => Promise<T[]>,
  ) =>
    (
      await Promise.all(
        [...split(siteIds, shardOfSite)].map(([shard, ids]) => call(shards[shard] as EngineHost, ids)),
      )
    ).flat();

  return {
    async handleBatch(records: InboundRecord[], behindRecords?: number) {
      // An empty batch is a drain: every shard finishes what it has queued.
      if (records.length === 0) {
        await all((host) => host.handleBatch([], behindRecords));
        return;
      }
      await Promise.all(
        [...split(records, (r) => shardOfPartition(r.partition))].map(([shard, part]) =>
          (shards[shard] as EngineHost).handleBatch(part, behindRecords),
        ),
      );
    },
    handlePacked: (batch) => (shards[shardOfPartition(batch.partition)] as EngineHost).handlePacked(batch),
    async tick() {
      await all((host) => host.tick());
    },
    async restore(states: SiteState[]) {
      await Promise.all(
        [...split(states, (s) => shardOfSite(s.siteId))].map(([shard, part]) =>
          (shards[shard] as EngineHost).restore(part),
        ),
      );
    },
    siteIds: async () => (await all((host) => host.siteIds())).flat(),
    release: (siteIds, snapshot) => bySite(siteIds, (host, ids) => host.release(ids, snapshot)),
    takeDirty: async () => (await all((host) => host.takeDirty())).flat(),
    snapshotRecords: (siteIds) => bySite(siteIds, (host, ids) => host.snapshotRecords(ids)),
    stats: () => sumStats(shards.map((host) => host.stats())),
    async stop() {
      await all((host) => host.stop());
    },
  };
}

/** The shards' counters as one engine's: sums, and the largest solve time. */
export function sumStats(all: readonly EngineStats[]): EngineStats {
  const total = emptyEngineStats();
  for (const s of all) {
    total.recordsIn += s.recordsIn;
    total.accepted += s.accepted;
    total.decisions += s.decisions;
    total.fallbacks += s.fallbacks;
    total.setpointMessages += s.setpointMessages;
    total.acks += s.acks;
    total.maxSolveMs = Math.max(total.maxSolveMs, s.maxSolveMs);
    total.deferredSites += s.deferredSites;
    for (const [code, count] of Object.entries(s.deadLetters))
      total.deadLetters[code] = (total.deadLetters[code] ?? 0) + count;
  }
  return total;
}
