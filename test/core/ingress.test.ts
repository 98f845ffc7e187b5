import { describe, expect, it } from 'vitest';
import { anEv, anEvArrival, aPowerVariation, aSite, aTopologyMessage, header, T0 } from '../support/builders';
import { anEngine } from '../support/engineHarness';

const site = aSite({ siteId: 'site-a', siteLimitKw: 50 });
const acl = [
  { siteId: 'site-a', topic: '*', sources: ['csms-1'] },
  { siteId: 'site-a', topic: 'dso.power-variation', sources: ['dso-1'] },
];

describe('ingress: bad input goes to the dead-letter output with its code, good input still flows', () => {
  it('routes each kind of bad input to deadletter and keeps processing the good ones around it', async () => {
    const h = await anEngine({ acl, ingress: { maxMessageAgeS: 60 } });
    h.send('fleet.state', aTopologyMessage(site, T0));
    const arrival = anEvArrival('site-a', 'z1-s1-e1', anEv(), T0);
    h.send('fleet.state', arrival);
    h.send('fleet.state', '{"not json', 'site-a');
    h.send('fleet.state', { ...header('site-a', T0), kind: 'evseState', stationId: 'z1-s1' }); // no evseId/status
    h.send('fleet.state', anEvArrival('site-zz', 'z1-s1-e1', anEv(), T0));
    h.send('dso.power-variation', aPowerVariation('site-a', { importLimitKw: 20 }, T0), 'site-a'); // from dso-1: allowed
    h.send('fleet.state', anEvArrival('site-a', 'z1-s2-e1', anEv(), T0, 'mallory'));
    h.send('fleet.state', anEvArrival('site-a', 'z1-s2-e2', anEv(), T0 - 61_000));
    h.send('fleet.state', arrival); // same messageId again
    h.send('fleet.state', anEvArrival('site-a', 'z1-s3-e1', anEv(), T0)); // good, after all the bad ones
    await h.deliver();

    const codes = h.deadLetters().map((d) => d.errorCode);
    expect(codes).toEqual([
      'EVFLEX_MALFORMED_JSON',
      'EVFLEX_SCHEMA_INVALID',
      'EVFLEX_UNKNOWN_SITE',
      'EVFLEX_UNAUTHORIZED_SOURCE',
      'EVFLEX_STALE_MESSAGE',
      'EVFLEX_DUPLICATE_MESSAGE',
    ]);
    for (const d of h.deadLetters()) {
      expect(d.raw.length).toBeGreaterThan(0);
      expect(d.originalTopic).toBe('fleet.state');
      expect(d.reason.length).toBeGreaterThan(0);
    }
    // The good messages before and after were applied: both sessions are charging.
    const set = h.latestSet('site-a');
    const limits = new Map(set.flatMap((m) => m.evses).map((e) => [e.evseId, e]));
    expect(limits.get('z1-s1-e1')!.sessionId).toBe(arrival.session!.sessionId);
    expect(limits.get('z1-s1-e1')!.limitKw).toBeGreaterThan(0);
    expect(limits.get('z1-s3-e1')!.limitKw).toBeGreaterThan(0);
    expect(limits.get('z1-s2-e1')!.sessionId).toBeNull();
    expect(h.acks().map((a) => a.status)).toEqual(['accepted']);
    expect(h.engine.stats().deadLetters.EVFLEX_DUPLICATE_MESSAGE).toBe(1);
  });

  it('dead-letters a key that disagrees with the payload, and an evse the site does not have', async () => {
    const h = await anEngine();
    h.send('fleet.state', aTopologyMessage(site, T0));
    h.send('fleet.state', anEvArrival('site-a', 'z1-s1-e1', anEv(), T0), 'site-b');
    h.send('fleet.state', anEvArrival('site-a', 'z9-s1-e1', anEv(), T0));
    await h.deliver();
    expect(h.deadLetters().map((d) => d.errorCode)).toEqual(['EVFLEX_KEY_MISMATCH', 'EVFLEX_UNKNOWN_NODE']);
  });

  it('rejects a DSO variation on an unknown node with a dead-letter and a rejected ack', async () => {
    const h = await anEngine();
    h.send('fleet.state', aTopologyMessage(site, T0));
    h.send('dso.power-variation', aPowerVariation('site-a', { nodeId: 'nowhere' }, T0));
    await h.deliver();
    expect(h.deadLetters().map((d) => d.errorCode)).toEqual(['EVFLEX_UNKNOWN_NODE']);
    expect(h.acks()).toMatchObject([{ status: 'rejected' }]);
  });

  it('rejects a structurally invalid topology', async () => {
    const h = await anEngine();
    const broken = aSite({ siteId: 'site-a' });
    broken.nodes.push({
      nodeId: 'orphan',
      kind: 'evse',
      parentId: 'missing',
      importLimitKw: 11,
      exportLimitKw: 0,
    });
    h.send('fleet.state', aTopologyMessage(broken, T0));
    await h.deliver();
    expect(h.deadLetters().map((d) => d.errorCode)).toEqual(['EVFLEX_TOPOLOGY_INVALID']);
  });
});

describe('duplicate detection stays bounded', () => {
  it('remembers ids only as long as they could still arrive un-stale, and across a restore', async () => {
    const h = await anEngine({ ingress: { maxMessageAgeS: 60 } });
    h.send('fleet.state', aTopologyMessage(site, T0));
    await h.deliver();
    let last: ReturnType<typeof anEvArrival> | null = null;
    for (let second = 1; second <= 1200; second++) {
      h.clock.advanceTo(T0 + second * 1000);
      last = anEvArrival('site-a', 'z1-s1-e1', anEv({}, T0 + second * 1000), T0 + second * 1000);
      h.send('fleet.state', last);
      await h.deliver();
    }
    const state = h.engine.sites().get('site-a')!.state;
    expect(state.recentMessageIds.length).toBeLessThan(60 + 256 + 2);
    expect(state.recentMessageIds.length).toBe(state.recentMessageTsMs.length);

    const restored = await anEngine({ ingress: { maxMessageAgeS: 60 } });
    restored.clock.advanceTo(h.clock.nowMs());
    restored.engine.restore([state]);
    restored.send('fleet.state', last);
    await restored.deliver();
    expect(restored.deadLetters().map((d) => d.errorCode)).toEqual(['EVFLEX_DUPLICATE_MESSAGE']);
  });
});
