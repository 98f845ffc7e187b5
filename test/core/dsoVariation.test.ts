import { describe, expect, it } from 'vitest';
import type { StateSnapshotMessage } from '../../models/stateSnapshot';
import { anEv, anEvArrival, aPowerVariation, aSite, aTopologyMessage, T0 } from '../support/builders';
import { anEngine } from '../support/engineHarness';
import { setpointViolations } from '../support/setpointViolations';

const site = aSite({ siteId: 'site-d', siteLimitKw: 80, zones: [{ limitKw: 80, stations: 4 }] });

function sumLimits(set: { evses: { limitKw: number }[] }[]) {
  return set.flatMap((m) => m.evses).reduce((s, e) => s + e.limitKw, 0);
}

describe('DSO power variation (IEC 63110-1 8.2.7)', () => {
  it('the very next setpoint set obeys a lowered site limit, and the DSO gets an ack with the achieved value', async () => {
    const h = await anEngine();
    h.send('fleet.state', aTopologyMessage(site, T0));
    for (const evse of ['z1-s1-e1', 'z1-s1-e2', 'z1-s2-e1', 'z1-s2-e2', 'z1-s3-e1', 'z1-s4-e2']) {
      h.send('fleet.state', anEvArrival('site-d', evse, anEv(), T0));
    }
    await h.deliver();
    expect(sumLimits(h.latestSet('site-d'))).toBeCloseTo(66, 3); // 6 EVs × 11 kW fit under 80 kW

    const variation = aPowerVariation('site-d', { importLimitKw: 30 }, T0 + 1000);
    h.clock.advanceTo(T0 + 1000);
    h.send('dso.power-variation', variation);
    await h.deliver();
    const set = h.latestSet('site-d');
    expect(sumLimits(set)).toBeLessThanOrEqual(30 + 1e-9);
    expect(sumLimits(set)).toBeGreaterThan(29.9);
    expect(setpointViolations(site, set, [variation])).toEqual([]);
    expect(set[0].trigger).toContain('dsoVariation');
    const ack = h.acks().at(-1);
    expect(ack).toMatchObject({ requestId: variation.variationId, status: 'accepted', requestedKw: 30 });
    expect(ack.achievedKw).toBeLessThanOrEqual(30);
  });

  it('obeys a variation that starts inside the validity window of the setpoints', async () => {
    const h = await anEngine({ setpoints: { validityS: 300 } });
    h.send('fleet.state', aTopologyMessage(site, T0));
    for (const evse of ['z1-s1-e1', 'z1-s2-e1', 'z1-s3-e1'])
      h.send('fleet.state', anEvArrival('site-d', evse, anEv(), T0));
    const variation = aPowerVariation('site-d', { importLimitKw: 12, startMs: T0 + 120_000 }, T0);
    h.send('dso.power-variation', variation);
    await h.deliver();
    const set = h.latestSet('site-d');
    expect(sumLimits(set)).toBeLessThanOrEqual(12 + 1e-9);
    expect(h.acks().at(-1)).toMatchObject({ status: 'accepted', achievedKw: 12 });
  });

  it('keeps the §14a guaranteed minimum per device and says so with a partial ack', async () => {
    const h = await anEngine();
    h.send('fleet.state', aTopologyMessage(site, T0));
    for (const evse of ['z1-s1-e1', 'z1-s2-e1', 'z1-s3-e1'])
      h.send('fleet.state', anEvArrival('site-d', evse, anEv(), T0));
    // 8 EVSEs × 4.2 kW = 33.6 kW cannot be cut to 10 kW.
    const variation = aPowerVariation('site-d', { importLimitKw: 10, guaranteedMinKwPerDevice: 4.2 }, T0);
    h.send('dso.power-variation', variation);
    await h.deliver();
    const set = h.latestSet('site-d');
    expect(sumLimits(set)).toBeLessThanOrEqual(33.6 + 1e-9);
    expect(h.acks().at(-1)).toMatchObject({ status: 'partial' });
    expect(setpointViolations(site, set, [variation])).toEqual([]);
  });

  it('stamps validity windows and per-EVSE versions that only go up', async () => {
    const h = await anEngine({ planner: { replanIntervalS: 60 } });
    h.send('fleet.state', aTopologyMessage(site, T0));
    h.send('fleet.state', anEvArrival('site-d', 'z1-s1-e1', anEv(), T0));
    await h.deliver();
    const versions = new Map<string, number>();
    for (let minute = 1; minute <= 5; minute++) {
      h.clock.advanceTo(T0 + minute * 60_000);
      await h.engine.tick();
      for (const m of h.latestSet('site-d')) {
        for (const sp of m.evses) {
          expect(sp.validFromMs).toBe(T0 + minute * 60_000);
          expect(sp.validToMs).toBe(T0 + minute * 60_000 + 300_000);
          expect(sp.version).toBeGreaterThan(versions.get(sp.evseId) ?? 0);
          versions.set(sp.evseId, sp.version);
        }
      }
    }
    expect(versions.size).toBe(8);
  });

  it('keeps versions going up when a released site comes back with an older snapshot', async () => {
    const h = await anEngine();
    h.send('fleet.state', aTopologyMessage(site, T0));
    h.send('fleet.state', anEvArrival('site-d', 'z1-s1-e1', anEv(), T0));
    await h.deliver();
    const [checkpoint] = h.engine.snapshotRecords(['site-d']);
    // Several decisions within one millisecond: versions run ahead of the clock.
    for (let i = 0; i < 5; i++) {
      h.send('dso.power-variation', aPowerVariation('site-d', { importLimitKw: 20 + i }, T0));
      await h.deliver();
    }
    const sent = Math.max(...h.latestSet('site-d').flatMap((m) => m.evses.map((e) => e.version)));
    expect(sent).toBeGreaterThan(T0);
    // The partition is lost (no snapshot published) and handed back: the last checkpoint loads.
    h.engine.release(['site-d']);
    h.engine.restore([(JSON.parse(checkpoint!.value) as StateSnapshotMessage).state]);
    // A millisecond later: the clock is still behind the versions sent.
    h.clock.advanceTo(T0 + 1);
    h.send('dso.power-variation', aPowerVariation('site-d', { importLimitKw: 30 }, T0 + 1));
    await h.deliver();
    for (const sp of h.latestSet('site-d').flatMap((m) => m.evses)) expect(sp.version).toBeGreaterThan(sent);
  });
});

describe('coalescing bursts of fleet events', () => {
  it('plans a burst of arrivals once after the window, but a DSO variation at once', async () => {
    const h = await anEngine({ planner: { coalesceMs: 2000 } });
    h.send('fleet.state', aTopologyMessage(site, T0));
    await h.deliver();
    const before = h.engine.stats().decisions;
    h.send('fleet.state', anEvArrival('site-d', 'z1-s1-e1', anEv(), T0));
    await h.deliver();
    h.clock.advanceTo(T0 + 1000);
    h.send('fleet.state', anEvArrival('site-d', 'z1-s2-e1', anEv(), T0 + 1000));
    await h.deliver();
    expect(h.engine.stats().decisions).toBe(before);
    h.clock.advanceTo(T0 + 2000);
    await h.engine.tick();
    expect(h.engine.stats().decisions).toBe(before + 1);
    expect(h.latestSet('site-d')[0].trigger).toBe('arrival');

    h.send('fleet.state', anEvArrival('site-d', 'z1-s3-e1', anEv(), T0 + 2000));
    h.send('dso.power-variation', aPowerVariation('site-d', { importLimitKw: 15 }, T0 + 2000));
    await h.deliver();
    expect(h.engine.stats().decisions).toBe(before + 2);
    expect(sumLimits(h.latestSet('site-d'))).toBeLessThanOrEqual(15);
  });
});
