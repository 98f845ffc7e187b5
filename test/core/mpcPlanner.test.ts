import { describe, expect, it } from 'vitest';
import { SCHEMA_VERSION } from '../../models/messageHeader';
import { parseConfig } from '../../src/config/loadConfig';
import { createMpcPlanner } from '../../src/core/mpcPlanner';
import type { SitePlanner } from '../../src/core/ports/sitePlanner';
import { anEv, anEvArrival, aSite, aTopologyMessage, header, T0 } from '../support/builders';
import { anEngine } from '../support/engineHarness';

const site = aSite({ siteId: 'site-m', siteLimitKw: 100, zones: [{ limitKw: 100, stations: 2 }] });

/** Expensive now (00:00–06:00), cheap from 06:00 on: a patient EV should wait. */
function aPriceCurve(tsMs: number) {
  const importPricePerKwh = Array.from({ length: 96 }, (_, i) => (i < 24 ? 0.5 : 0.1));
  return {
    ...header('site-m', tsMs, 'fo-1'),
    kind: 'priceCurve' as const,
    startMs: T0,
    slotMinutes: 15,
    importPricePerKwh,
    exportPricePerKwh: importPricePerKwh.map((p) => p / 2),
    currency: 'EUR',
  };
}

const currentKw = (set: { evses: { evseId: string; setpointKw: number }[] }[], evseId: string) =>
  set.flatMap((m) => m.evses).find((e) => e.evseId === evseId)!.setpointKw;

describe('MPC planner in the engine (IEC 63110-1 8.2.3 smart charging)', () => {
  it('waits for cheap energy when the EV has time, and charges now when it does not', async () => {
    const h = await anEngine({}, createMpcPlanner(parseConfig({})));
    h.send('fleet.state', aTopologyMessage(site, T0));
    h.send('rm.signals', aPriceCurve(T0));
    h.send(
      'fleet.state',
      anEvArrival(
        'site-m',
        'z1-s1-e1',
        anEv({ departureMs: T0 + 12 * 3_600_000, energyTargetKwh: 20, energyMinKwh: 20 }),
        T0,
      ),
    );
    h.send(
      'fleet.state',
      anEvArrival(
        'site-m',
        'z1-s2-e1',
        anEv({ departureMs: T0 + 2 * 3_600_000, energyTargetKwh: 15, energyMinKwh: 15 }),
        T0,
      ),
    );
    await h.deliver();
    const set = h.latestSet('site-m');
    expect(currentKw(set, 'z1-s1-e1')).toBe(0);
    expect(currentKw(set, 'z1-s2-e1')).toBeCloseTo(11, 3);
    expect(set[0].trigger).toContain('arrival');
  });

  it('answers a forecast request with the site envelope and an accepted ack', async () => {
    const h = await anEngine({}, createMpcPlanner(parseConfig({})));
    h.send('fleet.state', aTopologyMessage(site, T0));
    h.send('fleet.state', anEvArrival('site-m', 'z1-s1-e1', anEv(), T0));
    await h.deliver();
    const request = {
      ...header('site-m', T0, 'fo-1'),
      kind: 'forecastRequest' as const,
      requestId: 'fr-1',
      horizonMs: 86_400_000,
    };
    h.send('rm.signals', request);
    await h.deliver();
    const envelopes = h.bus.outputs('flex.envelopes').map((r) => JSON.parse(r.value));
    const answer = envelopes.find((e) => e.requestId === 'fr-1');
    expect(answer).toBeDefined();
    expect(answer.nodeId).toBe('site-m');
    expect(answer.baselineKw).toHaveLength(96);
    for (let t = 0; t < 96; t++) {
      expect(answer.minKw[t]).toBeLessThanOrEqual(answer.baselineKw[t] + 1e-6);
      expect(answer.baselineKw[t]).toBeLessThanOrEqual(answer.maxKw[t] + 1e-6);
      expect(answer.maxKw[t]).toBeLessThanOrEqual(100 + 1e-6);
    }
    expect(h.acks().find((a) => a.requestId === 'fr-1')).toMatchObject({ status: 'accepted' });
  });

  it('falls back to the safe policy when the planner throws or overruns its budget, and says so', async () => {
    const throwing: SitePlanner = {
      name: 'broken',
      decide() {
        throw new Error('numerical trouble');
      },
    };
    let fakeMs = 0;
    const slow: SitePlanner = {
      name: 'slow',
      decide(runtime) {
        fakeMs += 10_000; // the injected timer sees 10 s pass
        return {
          evseKw: new Float64Array(runtime.index!.evseIds.length).fill(11),
          solver: 'slow',
          objective: 0,
          energyCost: 0,
          shortfallKwh: 0,
          fallback: false,
        };
      },
    };
    for (const planner of [throwing, slow]) {
      const h = await anEngine({ planner: { solveBudgetMs: 500 } }, planner, { elapsedMs: () => fakeMs });
      h.send('fleet.state', aTopologyMessage(site, T0));
      h.send('fleet.state', anEvArrival('site-m', 'z1-s1-e1', anEv(), T0));
      await h.deliver();
      expect(h.engine.stats().fallbacks).toBeGreaterThan(0);
      expect(h.logs.some((l) => l.startsWith('EVFLEX_SOLVER_FAILED'))).toBe(true);
      const sp = h.setpoints().flatMap((m) => m.evses);
      expect(sp.find((e) => e.evseId === 'z1-s1-e1')?.limitKw).toBeCloseTo(11, 3);
    }
    expect(SCHEMA_VERSION).toBe(1);
  });
});

describe('reserve the fleet can back (IEC 63110-1 8.2.10, energy for the endurance)', () => {
  /** A nearly full EV can absorb a down-reserve for a few minutes, not for an hour. */
  async function envelopeWith(reserveEnduranceMin: number) {
    const config = parseConfig({ frequency: { reservedDownKw: 8, reserveEnduranceMin } });
    const h = await anEngine(config, createMpcPlanner(config));
    h.send('fleet.state', aTopologyMessage(site, T0));
    const ev = anEv({
      batteryCapacityKwh: 60,
      socPct: 95,
      energyTargetKwh: 1,
      energyMinKwh: 0,
      energyMaxKwh: 3,
    });
    h.send('fleet.state', anEvArrival('site-m', 'z1-s1-e1', ev, T0));
    await h.deliver();
    const envelopes = h.bus.outputs('flex.envelopes').map((r) => JSON.parse(r.value));
    return envelopes.at(-1);
  }

  it('reports per slot what the EVs can hold for the configured endurance, and never more than they can', async () => {
    const short = await envelopeWith(5);
    const long = await envelopeWith(60);
    expect(short.reserveEnduranceMin).toBe(5);
    expect(long.reserveEnduranceMin).toBe(60);
    expect(long.reservedDownKw[0]).toBe(8);
    // 3 kWh of room at 95 % charging efficiency: about 3.2 kW for an hour, the full 8 kW for 5 minutes.
    expect(long.reserveBackedDownKw[0]).toBeLessThan(4);
    expect(short.reserveBackedDownKw[0]).toBeGreaterThan(long.reserveBackedDownKw[0]);
    expect(short.reserveBackedDownKw[0]).toBeLessThanOrEqual(11 + 1e-9);
  });
});
