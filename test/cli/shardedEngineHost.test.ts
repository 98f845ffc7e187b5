import { afterEach, describe, expect, it } from 'vitest';
import type { StateSnapshotMessage } from '../../models/stateSnapshot';
import type { InputTopic } from '../../models/topics';
import { packRecords } from '../../src/adapters/thread/packedRecords';
import type { EngineHost } from '../../src/cli/engineHost';
import { shardedEngineHost, sumStats } from '../../src/cli/shardedEngineHost';
import { startThreadEngineHost } from '../../src/cli/threadEngineHost';
import { parseConfig } from '../../src/config/loadConfig';
import type { EngineStats } from '../../src/core/engine';
import type { OutboundRecord } from '../../src/core/ports/records';
import { emptySiteState } from '../../src/core/siteRuntime';
import { anEv, anEvArrival, aSite, aTopologyMessage } from '../support/builders';

/** Sites named `…-p<N>` live in partition N here (the service uses murmur2 of the site id). */
const partitionOf = (siteId: string) => Number(siteId.split('-p').at(-1));

function statsOf(recordsIn: number, deadLetters: Record<string, number> = {}): EngineStats {
  return {
    recordsIn,
    accepted: recordsIn,
    deadLetters,
    decisions: 1,
    fallbacks: 0,
    setpointMessages: 2,
    acks: 0,
    maxSolveMs: recordsIn,
    deferredSites: 1,
  };
}

/** An engine host that only writes down what it was asked (routing is all that is tested here). */
function aRecordingHost(name: string, calls: string[], stats: EngineStats): EngineHost {
  const held = new Set<string>();
  return {
    handleBatch: async (records) => void calls.push(`${name} batch ${records.map((r) => r.key).join(',')}`),
    handlePacked: async (batch) => void calls.push(`${name} packed p${batch.partition}`),
    tick: async () => void calls.push(`${name} tick`),
    restore: async (states) => {
      for (const s of states) held.add(s.siteId);
      calls.push(`${name} restore ${states.map((s) => s.siteId).join(',')}`);
    },
    siteIds: async () => [...held],
    release: async (siteIds) => {
      calls.push(`${name} release ${siteIds.join(',')}`);
      return siteIds.map((id) => ({ topic: 'state.snapshots', key: id, value: name }));
    },
    takeDirty: async () => [...held],
    snapshotRecords: async (siteIds) =>
      siteIds.map((id) => ({ topic: 'state.snapshots', key: id, value: name })),
    stats: () => stats,
    stop: async () => void calls.push(`${name} stop`),
  };
}

describe('engine shards (service mode with several engine threads)', () => {
  it('sends each partition to shard p mod n, and each site-named call to its own shard only', async () => {
    const calls: string[] = [];
    const shards = [aRecordingHost('A', calls, statsOf(10)), aRecordingHost('B', calls, statsOf(5))];
    const host = shardedEngineHost(shards, (siteId) => partitionOf(siteId) % 2);
    const record = (siteId: string) => ({
      topic: 'fleet.state' as const,
      key: siteId,
      value: '{}',
      partition: partitionOf(siteId),
      offset: '0',
      receivedMs: 0,
    });

    await host.handlePacked(packRecords('fleet.state', 3, 0, []));
    await host.handlePacked(packRecords('dso.power-variation', 4, 0, []));
    await host.handleBatch([record('s1-p1'), record('s2-p2'), record('s3-p3')]);
    await host.restore([emptySiteState('s1-p1', 0), emptySiteState('s2-p2', 0), emptySiteState('s4-p4', 0)]);
    const released = await host.release(['s1-p1', 's4-p4'], true);

    expect(calls).toEqual([
      'B packed p3',
      'A packed p4',
      'B batch s1-p1,s3-p3',
      'A batch s2-p2',
      'B restore s1-p1',
      'A restore s2-p2,s4-p4',
      'B release s1-p1',
      'A release s4-p4',
    ]);
    expect(released.map((r) => `${r.key}@${r.value}`).sort()).toEqual(['s1-p1@B', 's4-p4@A']);
    expect((await host.siteIds()).sort()).toEqual(['s1-p1', 's2-p2', 's4-p4']);

    // A drain (empty batch), a tick and stop reach every shard.
    calls.length = 0;
    await host.handleBatch([]);
    await host.tick();
    await host.stop();
    expect(calls.sort()).toEqual(['A batch ', 'A stop', 'A tick', 'B batch ', 'B stop', 'B tick']);
  });

  it('reports the shards’ counters as one engine’s: sums, and the slowest solve', () => {
    expect(
      sumStats([
        statsOf(10, { EVFLEX_SCHEMA_INVALID: 2 }),
        statsOf(5, { EVFLEX_SCHEMA_INVALID: 1, EVFLEX_STALE_MESSAGE: 4 }),
      ]),
    ).toEqual({
      recordsIn: 15,
      accepted: 15,
      deadLetters: { EVFLEX_SCHEMA_INVALID: 3, EVFLEX_STALE_MESSAGE: 4 },
      decisions: 2,
      fallbacks: 0,
      setpointMessages: 4,
      acks: 0,
      maxSolveMs: 10,
      deferredSites: 2,
    });
  });
});

describe('two engine threads behind one host', () => {
  let host: EngineHost | null = null;
  afterEach(async () => {
    await host?.stop();
    host = null;
  });

  it('each site is planned by its own thread, and snapshots and releases find it there', async () => {
    const config = parseConfig({ kafka: { brokers: ['127.0.0.1:9'] }, sites: [] });
    const out: OutboundRecord[] = [];
    const bus = {
      start: async () => {},
      stop: async () => {},
      publish: async (r: OutboundRecord[]) => void out.push(...r),
    };
    const shards = await Promise.all(
      [0, 1].map(() => startThreadEngineHost(config, { bus, log: () => {}, onFatal: () => {} })),
    );
    host = shardedEngineHost(shards, (siteId) => partitionOf(siteId) % 2);
    const nowMs = Date.now();
    let offset = 0;
    const packed = (topic: InputTopic, partition: number, messages: { siteId: string }[]) =>
      packRecords(
        topic,
        partition,
        nowMs,
        messages.map((m) => ({
          key: Buffer.from(m.siteId),
          value: Buffer.from(JSON.stringify(m)),
          offset: String(offset++),
        })),
      );
    for (const [siteId, partition] of [
      ['site-p0', 0],
      ['site-p1', 1],
    ] as const) {
      const site = aSite({ siteId, siteLimitKw: 40, zones: [{ limitKw: 40, stations: 2 }] });
      await host.handlePacked(
        packed('fleet.state', partition, [
          aTopologyMessage(site, nowMs),
          anEvArrival(siteId, 'z1-s1-e1', anEv({}, nowMs), nowMs),
        ]),
      );
    }
    expect(host.stats().recordsIn).toBe(4);
    expect(await shards[0]?.siteIds()).toEqual(['site-p0']);
    expect(await shards[1]?.siteIds()).toEqual(['site-p1']);
    for (
      let i = 0;
      i < 500 &&
      new Set(out.filter((r) => r.topic === 'setpoints').map((r) => JSON.parse(r.value).siteId)).size < 2;
      i++
    )
      await new Promise((r) => setTimeout(r, 10));
    const plannedSites = new Set(
      out.filter((r) => r.topic === 'setpoints').map((r) => JSON.parse(r.value).siteId),
    );
    expect([...plannedSites].sort()).toEqual(['site-p0', 'site-p1']);

    const snapshots = await host.snapshotRecords(['site-p1', 'site-p0']);
    expect(snapshots.map((r) => (JSON.parse(r.value) as StateSnapshotMessage).state.siteId).sort()).toEqual([
      'site-p0',
      'site-p1',
    ]);
    const released = await host.release(['site-p1'], true);
    expect(released.map((r) => r.key)).toEqual(['site-p1']);
    expect((await host.siteIds()).sort()).toEqual(['site-p0']);
  });
});
