import { describe, expect, it } from 'vitest';
import type { StateSnapshotMessage } from '../../models/stateSnapshot';
import { localEngineHost } from '../../src/cli/engineHost';
import { anEv, anEvArrival, aPowerVariation, aSite, aTopologyMessage, T0 } from '../support/builders';
import { anEngine } from '../support/engineHarness';

/**
 * Kafka keeps order within a partition, not across topics: a DSO limit or an EV arrival can be
 * read before the site's topology. Such input is held, not lost.
 */
const site = aSite({ siteId: 'site-h', siteLimitKw: 80, zones: [{ limitKw: 80, stations: 4 }] });
const sumKw = (set: { evses: { limitKw: number }[] }[]) =>
  set.flatMap((m) => m.evses).reduce((s, e) => s + e.limitKw, 0);

describe('input that arrives before its site topology', () => {
  it('is applied in order once the topology comes: a DSO limit read first is obeyed and acked', async () => {
    const h = await anEngine();
    const variation = aPowerVariation('site-h', { importLimitKw: 15 }, T0);
    h.send('dso.power-variation', variation);
    h.send('fleet.state', anEvArrival('site-h', 'z1-s1-e1', anEv(), T0));
    h.send('fleet.state', anEvArrival('site-h', 'z1-s2-e1', anEv(), T0));
    await h.deliver();
    expect(h.deadLetters()).toEqual([]);
    expect(h.setpoints()).toEqual([]);

    h.clock.advanceTo(T0 + 10_000);
    h.send('fleet.state', aTopologyMessage(site, T0 + 10_000));
    await h.deliver();
    expect(h.deadLetters()).toEqual([]);
    const set = h.latestSet('site-h');
    expect(sumKw(set)).toBeLessThanOrEqual(15 + 1e-9);
    expect(set.flatMap((m) => m.evses).filter((e) => e.limitKw > 0)).toHaveLength(2);
    expect(h.acks()).toMatchObject([{ requestMessageId: variation.messageId, status: 'accepted' }]);
    expect(h.engine.stats()).toMatchObject({ recordsIn: 4, accepted: 4 });
  });

  it('leaves the site’s input position after the topology once held input is applied, so a replay skips it all', async () => {
    const h = await anEngine();
    const records = [
      anEvArrival('site-h', 'z1-s1-e1', anEv(), T0),
      anEvArrival('site-h', 'z1-s2-e1', anEv(), T0),
      aTopologyMessage(site, T0),
    ].map((m, offset) => ({
      topic: 'fleet.state' as const,
      key: 'site-h',
      value: JSON.stringify(m),
      partition: 0,
      offset: String(offset),
      receivedMs: T0,
    }));
    await h.engine.handleBatch(records);
    // Offsets 0 and 1 were held, 2 is the topology: everything up to 2 is in the state now.
    expect(h.engine.sites().get('site-h')?.state.inputOffsets).toEqual({ 'fleet.state:0': '3' });

    // A restart replays from the last commit: what the snapshot reflects is skipped, not refused.
    const [snapshot] = h.engine.release(['site-h']);
    const next = await anEngine();
    next.engine.restore([(JSON.parse(snapshot!.value) as StateSnapshotMessage).state]);
    await localEngineHost(next.engine).handleBatch(records);
    expect(next.deadLetters()).toEqual([]);
    expect(next.engine.stats().recordsIn).toBe(0);
  });

  it('is dead-lettered as an unknown site when no topology comes within awaitTopologyS, and the site is forgotten', async () => {
    const h = await anEngine({ ingress: { awaitTopologyS: 30 } });
    h.send('fleet.state', anEvArrival('site-never', 'z1-s1-e1', anEv(), T0));
    await h.deliver();
    h.clock.advanceTo(T0 + 29_000);
    await h.engine.tick();
    expect(h.deadLetters()).toEqual([]);
    h.clock.advanceTo(T0 + 30_000);
    await h.engine.tick();
    expect(h.deadLetters()).toMatchObject([
      { errorCode: 'EVFLEX_UNKNOWN_SITE', originalTopic: 'fleet.state' },
    ]);
    expect(h.deadLetters()[0].reason).toContain('no topology within 30 s');
    expect(h.engine.sites().has('site-never')).toBe(false);
  });

  it('holds a bounded amount: past maxAwaitingPerSite input is dead-lettered at once', async () => {
    const h = await anEngine({ ingress: { maxAwaitingPerSite: 2 } });
    for (const evse of ['z1-s1-e1', 'z1-s2-e1', 'z1-s3-e1'])
      h.send('fleet.state', anEvArrival('site-h', evse, anEv(), T0));
    await h.deliver();
    expect(h.deadLetters().map((d) => d.errorCode)).toEqual(['EVFLEX_UNKNOWN_SITE']);
    expect(h.engine.sites().get('site-h')?.state.awaitingTopology).toHaveLength(2);
  });

  it('survives a hand-over: held input travels in the snapshot and is applied by the next owner', async () => {
    const first = await anEngine();
    first.send('dso.power-variation', aPowerVariation('site-h', { importLimitKw: 12 }, T0));
    await first.deliver();
    const [snapshot] = first.engine.release(['site-h']);
    const state = (JSON.parse(snapshot!.value) as StateSnapshotMessage).state;
    expect(state.awaitingTopology).toHaveLength(1);

    const next = await anEngine();
    next.engine.restore([state]);
    next.send('fleet.state', aTopologyMessage(site, T0));
    next.send('fleet.state', anEvArrival('site-h', 'z1-s1-e1', anEv(), T0));
    next.send('fleet.state', anEvArrival('site-h', 'z1-s2-e1', anEv(), T0));
    await next.deliver();
    expect(sumKw(next.latestSet('site-h'))).toBeLessThanOrEqual(12 + 1e-9);
    expect(next.acks()).toMatchObject([{ status: 'accepted', requestedKw: 12 }]);
  });
});
