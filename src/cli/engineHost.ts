import type { SiteState } from '../../models/stateSnapshot';
import type { PackedRecords } from '../adapters/thread/packedRecords';
import { unpackRecords } from '../adapters/thread/packedRecords';
import type { Engine, EngineStats } from '../core/engine';
import { offsetBefore } from '../core/offsetBefore';
import type { InboundRecord, OutboundRecord } from '../core/ports/records';

/**
 * The engine as the Kafka service drives it: every call asynchronous, so the engine can run on
 * this thread (`localEngineHost`) or on a thread of its own (`startThreadEngineHost`) behind the
 * same interface. It also keeps what recovery needs next to the state it is about: which
 * records a restored snapshot already reflects, and which sites changed since the last
 * checkpoint.
 */
export interface EngineHost {
  /** Applies a batch (minus records already reflected in a restored snapshot); resolves once published. */
  handleBatch(records: InboundRecord[], behindRecords?: number): Promise<void>;
  handlePacked(batch: PackedRecords): Promise<void>;
  tick(): Promise<void>;
  restore(states: SiteState[]): Promise<void>;
  siteIds(): Promise<string[]>;
  /** Forgets sites; with `snapshot`, returns their final snapshots to publish first. */
  release(siteIds: string[], snapshot: boolean): Promise<OutboundRecord[]>;
  /** Sites changed since the last call (their applied batches included), and forgets them. */
  takeDirty(): Promise<string[]>;
  /** Snapshots of those of these sites the engine still holds. */
  snapshotRecords(siteIds: string[]): Promise<OutboundRecord[]>;
  /** The engine's counters as last reported (immediate; a thread reports after each call). */
  stats(): EngineStats;
  stop(): Promise<void>;
}

export function localEngineHost(engine: Engine): EngineHost {
  const dirty = new Set<string>();

  /** Records a restored snapshot already reflects (its `inputOffsets`) are not applied again. */
  const skipApplied = (records: InboundRecord[]): InboundRecord[] => {
    const sites = engine.sites();
    let kept: InboundRecord[] | null = null;
    // A batch is one topic and partition as a rule: its key is built once, not per record.
    let positionKey = '';
    let keyTopic = '';
    let keyPartition = -1;
    for (let i = 0; i < records.length; i++) {
      const r = records[i] as InboundRecord;
      if (r.topic !== keyTopic || r.partition !== keyPartition) {
        keyTopic = r.topic;
        keyPartition = r.partition;
        positionKey = `${r.topic}:${r.partition}`;
      }
      const next = r.key === null ? undefined : sites.get(r.key)?.state.inputOffsets[positionKey];
      const applied = next !== undefined && offsetBefore(r.offset, next);
      if (applied && kept === null) kept = records.slice(0, i);
      else if (!applied && kept !== null) kept.push(r);
    }
    return kept ?? records;
  };

  const handleBatch = async (records: InboundRecord[], behindRecords?: number) => {
    const fresh = skipApplied(records);
    await engine.handleBatch(fresh, behindRecords);
    // Marked only once applied: a checkpoint must never clear a site whose batch is still queued.
    // Records come in runs of one site (keyed by site): each run is added once.
    let last: string | null = null;
    for (const r of fresh)
      if (r.key !== null && r.key !== last) {
        dirty.add(r.key);
        last = r.key;
      }
  };

  return {
    handleBatch,
    handlePacked: (batch) => handleBatch(unpackRecords(batch), batch.behindRecords),
    tick: () => engine.tick(),
    async restore(states) {
      engine.restore(states);
    },
    async siteIds() {
      return [...engine.sites().keys()];
    },
    async release(siteIds, snapshot) {
      for (const id of siteIds) dirty.delete(id);
      const records = engine.release(siteIds);
      return snapshot ? records : [];
    },
    async takeDirty() {
      const ids = [...dirty];
      dirty.clear();
      return ids;
    },
    async snapshotRecords(siteIds) {
      const sites = engine.sites();
      return engine.snapshotRecords(siteIds.filter((id) => sites.has(id)));
    },
    stats: () => engine.stats(),
    stop: () => engine.stop(),
  };
}
