import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/loadConfig';
import { createMpcPlanner } from '../../src/core/mpcPlanner';
import { placeholderPlanner } from '../../src/core/placeholderPlanner';
import type { SitePlanner } from '../../src/core/ports/sitePlanner';
import { anEv, anEvArrival, aPowerVariation, aSite, aTopologyMessage, T0 } from '../support/builders';
import { anEngine } from '../support/engineHarness';

/**
 * Service mode: the engine has a scheduler, so re-plans nothing urgent waits for (arrivals,
 * departures, EV updates, prices, timer, restore) wait for quiet input and run in slices.
 * Real time is played by hand here: `elapsed` is the engine's monotonic time, `timers` its
 * scheduled wake-ups.
 */
function realTime(msPerCall = 0) {
  const timers: { atMs: number; run: () => void }[] = [];
  let nowMs = 0;
  return {
    timers,
    elapsedMs: () => {
      nowMs += msPerCall;
      return nowMs;
    },
    schedule: (delayMs: number, run: () => void) => {
      timers.push({ atMs: nowMs + delayMs, run });
    },
    advance(ms: number) {
      nowMs += ms;
    },
    /** Fires every wake-up that is due by now; returns how many fired. */
    fireDue(): number {
      const due = timers.filter((t) => t.atMs <= nowMs);
      for (const t of due) timers.splice(timers.indexOf(t), 1);
      for (const t of due) t.run();
      return due.length;
    },
  };
}

const sites = ['site-a', 'site-b', 'site-c', 'site-d'].map((siteId) =>
  aSite({ siteId, siteLimitKw: 80, zones: [{ limitKw: 80, stations: 2 }] }),
);
const settle = () => new Promise((r) => setTimeout(r, 5));
const sumKw = (set: { evses: { limitKw: number }[] }[]) =>
  set.flatMap((m) => m.evses).reduce((s, e) => s + e.limitKw, 0);

async function withTopologies(rt: ReturnType<typeof realTime>, config = {}) {
  const h = await anEngine(config, undefined, rt);
  for (const site of sites) h.send('fleet.state', aTopologyMessage(site, T0));
  await h.deliver();
  return h;
}

const THREE_EVSES = ['z1-s1-e1', 'z1-s1-e2', 'z1-s2-e1'];

/** site-a's topology and three EV arrivals, delivered, then planned once the deferral has passed. */
async function siteAWithThreeEvs(h: Awaited<ReturnType<typeof anEngine>>, rt: ReturnType<typeof realTime>) {
  h.send('fleet.state', aTopologyMessage(sites[0]!, T0));
  for (const evse of THREE_EVSES) h.send('fleet.state', anEvArrival('site-a', evse, anEv(), T0));
  await h.deliver();
  rt.advance(60);
  rt.fireDue();
  await settle();
}

/** site-a with three EVs, planned once by the MPC planner; `solvers` lists every decision's solver. */
async function aPlannedMpcSite(rt: ReturnType<typeof realTime>, config = {}) {
  const h = await anEngine(config, createMpcPlanner(parseConfig({})), rt);
  const solvers: string[] = [];
  h.engine.outputs$.subscribe((o) => {
    for (const d of o.decisions) solvers.push(d.decision.solver);
  });
  await siteAWithThreeEvs(h, rt);
  expect(solvers).toEqual([expect.stringMatching(/^mpc-/)]);
  return { h, solvers };
}

describe('deferred re-planning (service mode)', () => {
  it('reads a burst of arrivals before planning it, then plans each site once', async () => {
    const rt = realTime();
    const h = await withTopologies(rt, { planner: { deferQuietMs: 5 } });
    const before = h.engine.stats().decisions;
    for (const site of sites)
      for (const evse of THREE_EVSES) h.send('fleet.state', anEvArrival(site.siteId, evse, anEv(), T0));
    await h.deliver();
    expect(h.engine.stats().decisions).toBe(before);
    expect(h.engine.stats().deferredSites).toBe(4);

    // More input 3 ms later: still not quiet, nothing planned yet.
    rt.advance(3);
    h.send('fleet.state', anEvArrival('site-a', 'z1-s2-e2', anEv(), T0));
    await h.deliver();
    rt.advance(3);
    rt.fireDue();
    await settle();
    expect(h.engine.stats().decisions).toBe(before);

    rt.advance(5);
    expect(rt.fireDue()).toBeGreaterThan(0);
    await settle();
    expect(h.engine.stats().decisions).toBe(before + 4);
    expect(h.engine.stats().deferredSites).toBe(0);
    expect(
      h
        .latestSet('site-a')
        .flatMap((m) => m.evses)
        .filter((e) => e.limitKw > 0),
    ).toHaveLength(4);
  });

  it('decides a DSO limit at once while re-plans wait, and never holds it behind them', async () => {
    const rt = realTime();
    const h = await withTopologies(rt);
    const before = h.engine.stats().decisions;
    for (const site of sites) h.send('fleet.state', anEvArrival(site.siteId, 'z1-s1-e1', anEv(), T0));
    h.send('dso.power-variation', aPowerVariation('site-c', { importLimitKw: 5 }, T0));
    await h.deliver();
    expect(h.engine.stats().decisions).toBe(before + 1);
    expect(h.acks().at(-1)).toMatchObject({ siteId: 'site-c', status: 'accepted' });
    const limitKw = h
      .latestSet('site-c')
      .flatMap((m) => m.evses)
      .reduce((s, e) => s + e.limitKw, 0);
    expect(limitKw).toBeLessThanOrEqual(5 + 1e-9);
    expect(h.engine.stats().deferredSites).toBe(3);
  });

  it('complies first: a DSO limit gets the last plan clamped at once, the optimised plan follows', async () => {
    const rt = realTime();
    let plans = 0;
    const counting: SitePlanner = {
      name: 'counting',
      decide: (...args) => {
        plans++;
        return placeholderPlanner.decide(...args);
      },
    };
    const h = await anEngine({}, counting, rt);
    await siteAWithThreeEvs(h, rt);
    const plansBefore = plans;
    expect(sumKw(h.latestSet('site-a'))).toBeCloseTo(33, 3);

    h.send('dso.power-variation', aPowerVariation('site-a', { importLimitKw: 12 }, T0));
    await h.deliver();
    expect(plans).toBe(plansBefore); // no re-plan on the latency path
    const clamped = h.latestSet('site-a');
    expect(clamped[0]?.trigger).toBe('dsoVariation');
    expect(sumKw(clamped)).toBeLessThanOrEqual(12 + 1e-9);
    expect(h.acks().at(-1)).toMatchObject({ status: 'accepted', achievedKw: 12 });

    rt.advance(50);
    rt.fireDue();
    await settle();
    expect(plans).toBe(plansBefore + 1);
    const optimised = h.latestSet('site-a');
    expect(optimised[0]?.trigger).toBe('replan');
    expect(sumKw(optimised)).toBeLessThanOrEqual(12 + 1e-9);
    expect(optimised[0]!.evses[0]!.version).toBeGreaterThan(clamped[0]!.evses[0]!.version);
  });

  it('plans the optimised follow-up of a clamp incrementally, from the plan before the new limit', async () => {
    const rt = realTime();
    const { h, solvers } = await aPlannedMpcSite(rt);

    h.send('dso.power-variation', aPowerVariation('site-a', { importLimitKw: 12 }, T0));
    await h.deliver();
    expect(solvers.at(-1)).toBe('clamp');
    expect(h.latestSet('site-a')[0]?.trigger).toBe('dsoVariation');
    rt.advance(50);
    rt.fireDue();
    await settle();
    expect(solvers.at(-1)).toBe('mpc-replan');
    expect(h.latestSet('site-a')[0]?.trigger).toBe('replan');
    expect(sumKw(h.latestSet('site-a'))).toBeLessThanOrEqual(12 + 1e-9);
  });

  it('answers every DSO limit by a clamp, also while the optimised plan of an earlier one is pending', async () => {
    const rt = realTime();
    const { h, solvers } = await aPlannedMpcSite(rt, { planner: { deferQuietMs: 50, deferMaxMs: 200 } });
    const planned = solvers.length;

    // One limit every 10 ms (virtual time moves with them): input never goes quiet.
    let t = 0;
    for (let i = 0; i < 30 && solvers.slice(planned).every((s) => s === 'clamp'); i++) {
      t += 10;
      rt.advance(10);
      h.clock.advanceTo(T0 + t);
      h.send('dso.power-variation', aPowerVariation('site-a', { importLimitKw: i % 2 ? 12 : 10 }, T0 + t));
      await h.deliver();
      rt.fireDue();
      await settle();
      expect(sumKw(h.latestSet('site-a'))).toBeLessThanOrEqual((i % 2 ? 12 : 10) + 1e-9);
      expect(h.acks().at(-1)).toMatchObject({ status: 'accepted' });
    }
    const after = solvers.slice(planned);
    // Each limit was answered by a clamp (never a re-plan on the latency path) …
    expect(after.slice(0, -1).every((s) => s === 'clamp')).toBe(true);
    expect(after.length).toBeGreaterThan(5);
    // … and the optimised plan came once deferMaxMs had passed since the first clamp, not later.
    expect(h.latestSet('site-a')[0]?.trigger).toBe('replan');
    expect(after.at(-1)).toBe('mpc-replan');
    expect(t).toBeGreaterThanOrEqual(200);
    expect(t).toBeLessThan(300);
  });

  it('decides a restored site only after the backlog that follows the restore was read', async () => {
    const rt = realTime();
    const first = await withTopologies(rt);
    first.send('fleet.state', anEvArrival('site-a', 'z1-s1-e1', anEv(), T0));
    await first.deliver();
    const [snapshot] = first.engine.release(['site-a']);
    const state = JSON.parse(snapshot!.value).state;

    const rt2 = realTime();
    const next = await anEngine({}, undefined, rt2);
    next.engine.restore([state]);
    // The partition's backlog arrives 3 ms after the restore: an arrival on another EVSE.
    rt2.advance(3);
    next.send('fleet.state', anEvArrival('site-a', 'z1-s2-e1', anEv(), T0));
    await next.deliver();
    rt2.advance(3);
    rt2.fireDue();
    await settle();
    expect(next.setpoints()).toEqual([]); // not before the backlog went quiet
    rt2.advance(50);
    rt2.fireDue();
    await settle();
    const set = next.latestSet('site-a');
    const charging = set
      .flatMap((m) => m.evses)
      .filter((e) => e.limitKw > 0)
      .map((e) => e.evseId);
    expect(charging.sort()).toEqual(['z1-s1-e1', 'z1-s2-e1']);
    expect(next.engine.stats().decisions).toBe(1);
  });

  it('plans in slices: each unit of deferred work stops once its planning time is spent', async () => {
    // Every read of the monotonic clock costs 2 ms, so a 3 ms slice fits about one decision.
    const rt = realTime(2);
    const h = await withTopologies(rt, { planner: { deferSliceMs: 3 } });
    const before = h.engine.stats().decisions;
    for (const site of sites) h.send('fleet.state', anEvArrival(site.siteId, 'z1-s1-e1', anEv(), T0));
    await h.deliver();
    const perUnit: number[] = [];
    for (let unit = 0; unit < 10 && h.engine.stats().deferredSites > 0; unit++) {
      rt.advance(10);
      const decided = h.engine.stats().decisions;
      rt.fireDue();
      await settle();
      perUnit.push(h.engine.stats().decisions - decided);
    }
    expect(h.engine.stats().decisions).toBe(before + 4);
    expect(perUnit.length).toBeGreaterThan(1);
    expect(Math.max(...perUnit)).toBeLessThan(4);
  });

  it('does not wait for quiet input longer than deferMaxMs', async () => {
    const rt = realTime();
    const h = await withTopologies(rt, { planner: { deferQuietMs: 50, deferMaxMs: 200 } });
    const before = h.engine.stats().decisions;
    h.send('fleet.state', anEvArrival('site-a', 'z1-s1-e1', anEv(), T0));
    await h.deliver();
    // A steady stream of input every 10 ms (virtual time moves with it): never quiet.
    for (let i = 1; i <= 30 && h.engine.stats().decisions === before; i++) {
      rt.advance(10);
      h.clock.advanceTo(T0 + i * 10);
      h.send('fleet.state', anEvArrival('site-b', `z1-s1-e${1 + (i % 2)}`, anEv(), T0 + i * 10));
      await h.deliver();
    }
    expect(h.engine.stats().decisions).toBeGreaterThan(before);
    expect(h.clock.nowMs() - T0).toBeGreaterThanOrEqual(200);
    expect(h.clock.nowMs() - T0).toBeLessThan(300);
  });

  it('while it reads a backlog, waits past deferMaxMs (up to deferMaxBacklogMs) before planning', async () => {
    const rt = realTime();
    const h = await withTopologies(rt, {
      planner: { deferQuietMs: 50, deferMaxMs: 200, deferMaxBacklogMs: 600, backlogRecords: 100 },
    });
    const before = h.engine.stats().decisions;
    let decidedAtMs = -1;
    // Batches every 10 ms (virtual time moves with them), each fetched with 5,000 records of its
    // partition still unread: never quiet, and behind.
    for (let i = 1; i <= 80 && decidedAtMs < 0; i++) {
      rt.advance(10);
      h.clock.advanceTo(T0 + i * 10);
      const message = anEvArrival('site-a', `z1-s1-e${1 + (i % 2)}`, anEv(), T0 + i * 10);
      await h.engine.handleBatch(
        [
          {
            topic: 'fleet.state',
            key: 'site-a',
            value: JSON.stringify(message),
            partition: 0,
            offset: String(i),
            receivedMs: T0 + i * 10,
          },
        ],
        5_000,
      );
      rt.fireDue();
      await settle();
      if (h.engine.stats().decisions > before) decidedAtMs = i * 10;
    }
    // Not at deferMaxMs (200 ms), but by deferMaxBacklogMs (600 ms) after the first trigger.
    expect(decidedAtMs).toBeGreaterThanOrEqual(600);
    expect(decidedAtMs).toBeLessThan(700);
  });

  /** One record as the Kafka bus hands it over, with what was still unread in its partition. */
  const oneRecordBatch = async (
    h: Awaited<ReturnType<typeof anEngine>>,
    topic: 'fleet.state' | 'dso.power-variation',
    message: { siteId: string; tsMs: number },
    offset: number,
    behindRecords: number,
  ) =>
    h.engine.handleBatch(
      [
        {
          topic,
          key: message.siteId,
          value: JSON.stringify(message),
          partition: 0,
          offset: String(offset),
          receivedMs: message.tsMs,
        },
      ],
      behindRecords,
    );

  it('on live traffic (small batches, nothing unread behind them) re-plans without waiting for quiet', async () => {
    // Live: a record every 10 ms, never quiet for deferQuietMs, but the engine is caught up.
    // Behind: the same stream with a few records still unread each time waits as before.
    const firstDecisionAtMs = async (behindRecords: number) => {
      const rt = realTime();
      const h = await withTopologies(rt, { planner: { deferQuietMs: 50, deferMaxMs: 400 } });
      const before = h.engine.stats().decisions;
      for (let i = 1; i <= 60; i++) {
        rt.advance(10);
        h.clock.advanceTo(T0 + i * 10);
        const evse = `z1-s${1 + (i % 2)}-e1`;
        await oneRecordBatch(
          h,
          'fleet.state',
          anEvArrival('site-a', evse, anEv(), T0 + i * 10),
          i,
          behindRecords,
        );
        rt.fireDue();
        await settle();
        if (h.engine.stats().decisions > before) return i * 10;
      }
      return Number.POSITIVE_INFINITY;
    };
    expect(await firstDecisionAtMs(0)).toBeLessThanOrEqual(20);
    const behindMs = await firstDecisionAtMs(3);
    expect(behindMs).toBeGreaterThanOrEqual(400);
    expect(behindMs).toBeLessThan(500);
  });

  it('while a partition is still behind, a gap in its input is the next fetch, not quiet: re-plans wait until it is read', async () => {
    const rt = realTime();
    const h = await withTopologies(rt, {
      planner: { deferQuietMs: 50, deferMaxMs: 200, deferMaxBacklogMs: 2_000, backlogRecords: 100 },
    });
    const before = h.engine.stats().decisions;
    // An arrival read from a partition with 5,000 records still unread behind it…
    await oneRecordBatch(h, 'fleet.state', anEvArrival('site-a', 'z1-s1-e1', anEv(), T0 + 10), 1, 5_000);
    // …then 150 ms without input (three times deferQuietMs): the next fetch is slow, say.
    for (let step = 0; step < 3; step++) {
      rt.advance(50);
      rt.fireDue();
      await settle();
    }
    expect(h.engine.stats().decisions).toBe(before);
    // The partition's last batch: nothing left unread. Quiet from here on, and every site waiting
    // (the four new ones, site-a with its arrivals) is planned.
    await oneRecordBatch(h, 'fleet.state', anEvArrival('site-a', 'z1-s1-e2', anEv(), T0 + 170), 2, 0);
    rt.advance(60);
    rt.fireDue();
    await settle();
    expect(h.engine.stats().decisions).toBe(before + sites.length);
    expect(h.engine.stats().deferredSites).toBe(0);
  });

  it('on live traffic, the optimised plan follows a clamp in the next unit, never in the same one', async () => {
    const rt = realTime();
    const { h, solvers } = await aPlannedMpcSite(rt, { planner: { deferQuietMs: 50 } });
    rt.advance(10);
    await oneRecordBatch(h, 'dso.power-variation', aPowerVariation('site-a', { importLimitKw: 6 }, T0), 1, 0);
    // The clamp's unit published the clamp alone: the DSO limit did not wait for the optimiser.
    expect(solvers.slice(1)).toEqual(['clamp']);
    expect(h.latestSet('site-a')[0]?.trigger).toBe('dsoVariation');
    // The follow-up was scheduled at once (no quiet wait) and runs as its own unit.
    expect(rt.timers.map((t) => t.atMs)).toContain(rt.elapsedMs());
    rt.fireDue();
    await settle();
    expect(solvers.slice(1)).toEqual(['clamp', expect.stringMatching(/^mpc-/)]);
    const optimised = h.latestSet('site-a');
    expect(optimised[0]?.trigger).toBe('replan');
    expect(sumKw(optimised)).toBeLessThanOrEqual(6 + 1e-9);
  });

  it('without a scheduler (embedded, virtual time) plans in the same unit of work, as before', async () => {
    const h = await anEngine();
    h.send('fleet.state', aTopologyMessage(sites[0]!, T0));
    h.send('fleet.state', anEvArrival('site-a', 'z1-s1-e1', anEv(), T0));
    await h.deliver();
    expect(
      h
        .latestSet('site-a')
        .flatMap((m) => m.evses)
        .some((e) => e.limitKw > 0),
    ).toBe(true);
    expect(h.engine.stats().deferredSites).toBe(0);
  });
});
