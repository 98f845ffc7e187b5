import { afterEach, describe, expect, it } from 'vitest';
import type { SetpointMessage } from '../../models/setpoint';
import type { StateSnapshotMessage } from '../../models/stateSnapshot';
import type { InputTopic } from '../../models/topics';
import { packRecords } from '../../src/adapters/thread/packedRecords';
import type { EngineHost } from '../../src/cli/engineHost';
import { startThreadEngineHost } from '../../src/cli/threadEngineHost';
import { parseConfig } from '../../src/config/loadConfig';
import type { OutboundRecord } from '../../src/core/ports/records';
import { anEv, anEvArrival, aPowerVariation, aSite, aTopologyMessage } from '../support/builders';

/**
 * The engine on its own thread, driven the way the Kafka service drives it: packed batches in,
 * publish requests out (here to a list instead of a broker; the broker path is covered by the
 * integration suite).
 */
const site = aSite({ siteId: 'site-t', siteLimitKw: 60, zones: [{ limitKw: 60, stations: 3 }] });
const config = parseConfig({ kafka: { brokers: ['127.0.0.1:9'] }, sites: [] });

let host: EngineHost | null = null;
afterEach(async () => {
  await host?.stop();
  host = null;
});

function aThread(publish: (records: OutboundRecord[]) => Promise<void>) {
  return startThreadEngineHost(config, {
    bus: { start: async () => {}, stop: async () => {}, publish },
    log: () => {},
    onFatal: () => {},
  });
}

let offset = 0;
function packed(topic: InputTopic, messages: { siteId: string }[]) {
  return packRecords(
    topic,
    0,
    Date.now(),
    messages.map((m) => ({
      key: Buffer.from(m.siteId),
      value: Buffer.from(JSON.stringify(m)),
      offset: String(offset++),
    })),
  );
}

const waitFor = async (what: () => boolean) => {
  for (let i = 0; i < 500 && !what(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(what()).toBe(true);
};

describe('the engine on its own thread', () => {
  it('applies packed batches, publishes through the host, and answers a DSO limit within it', async () => {
    const out: OutboundRecord[] = [];
    host = await aThread(async (records) => void out.push(...records));
    const nowMs = Date.now();
    await host.handlePacked(
      packed('fleet.state', [
        aTopologyMessage(site, nowMs),
        anEvArrival('site-t', 'z1-s1-e1', anEv({}, nowMs), nowMs),
        anEvArrival('site-t', 'z1-s2-e1', anEv({}, nowMs), nowMs),
      ]),
    );
    expect(host.stats().recordsIn).toBe(3);
    // Fleet events are planned once input is quiet, by the thread itself.
    await waitFor(() => out.some((r) => r.topic === 'setpoints'));

    const variation = aPowerVariation('site-t', { importLimitKw: 12 }, nowMs);
    await host.handlePacked(packed('dso.power-variation', [variation]));
    const ack = out.filter((r) => r.topic === 'acks').map((r) => JSON.parse(r.value));
    expect(ack.at(-1)).toMatchObject({ requestMessageId: variation.messageId, status: 'accepted' });
    const lastSet = out
      .filter((r) => r.topic === 'setpoints')
      .map((r) => JSON.parse(r.value) as SetpointMessage)
      .filter((m) => m.trigger.includes('dsoVariation'));
    const totalKw = lastSet.flatMap((m) => m.evses).reduce((s, e) => s + e.limitKw, 0);
    expect(totalKw).toBeLessThanOrEqual(12 + 1e-9);
    expect(await host.takeDirty()).toEqual(['site-t']);
    expect(await host.takeDirty()).toEqual([]);
  });

  it('hands a site over: release returns its snapshot; restore brings it back and skips what it already holds', async () => {
    const out: OutboundRecord[] = [];
    host = await aThread(async (records) => void out.push(...records));
    const nowMs = Date.now();
    await host.handlePacked(packed('fleet.state', [aTopologyMessage(site, nowMs)]));
    const [snapshot] = await host.release(['site-t'], true);
    expect(await host.siteIds()).toEqual([]);
    const state = (JSON.parse(snapshot?.value ?? '{}') as StateSnapshotMessage).state;
    expect(state.siteId).toBe('site-t');

    await host.restore([state]);
    expect(await host.siteIds()).toEqual(['site-t']);
    const before = host.stats().recordsIn;
    // A replay of the record the snapshot already reflects is skipped, not dead-lettered as a duplicate.
    const replay = packRecords('fleet.state', 0, Date.now(), [
      {
        key: Buffer.from('site-t'),
        value: Buffer.from(JSON.stringify(aTopologyMessage(site, nowMs))),
        offset: String(Number(state.inputOffsets['fleet.state:0']) - 1),
      },
    ]);
    await host.handlePacked(replay);
    expect(host.stats().recordsIn).toBe(before);
    expect(out.filter((r) => r.topic === 'deadletter')).toEqual([]);
  });

  it('fails a call whose outputs could not be published, with a stable code', async () => {
    host = await aThread(async () => {
      throw new Error('broker gone');
    });
    const nowMs = Date.now();
    // A new site's first plan is deferred: nothing to publish yet, so the call succeeds.
    await host.handlePacked(packed('fleet.state', [aTopologyMessage(site, nowMs)]));
    // A DSO limit is decided at once; its setpoints cannot be published.
    const failed = host.handlePacked(
      packed('dso.power-variation', [aPowerVariation('site-t', { importLimitKw: 5 }, nowMs)]),
    );
    await expect(failed).rejects.toMatchObject({ code: 'EVFLEX_ENGINE_FAILED' });
    await expect(failed).rejects.toThrow(/broker gone/);
  });
});
