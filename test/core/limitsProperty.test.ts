import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { SitePlanner } from '../../src/core/ports/sitePlanner';
import { anEv, anEvArrival, aPowerVariation, aSite, aTopologyMessage, header, T0 } from '../support/builders';
import { anEngine } from '../support/engineHarness';
import { setpointViolations } from '../support/setpointViolations';

/** A planner that asks for anything at all, including more than any limit and V2G everywhere. */
function reckless(values: number[]): SitePlanner {
  return {
    name: 'reckless',
    decide(runtime) {
      const evseKw = new Float64Array(runtime.index!.evseIds.length);
      for (let e = 0; e < evseKw.length; e++) evseKw[e] = values[e % values.length];
      return { evseKw, solver: 'reckless', objective: 0, energyCost: 0, shortfallKwh: 0, fallback: false };
    },
  };
}

const zoneArb = fc.record({
  limitKw: fc.integer({ min: 0, max: 200 }),
  stations: fc.integer({ min: 1, max: 6 }),
  evsesPerStation: fc.integer({ min: 1, max: 3 }),
  evseKw: fc.constantFrom(7.4, 11, 22, 50),
  v2g: fc.boolean(),
});

const scenarioArb = fc.record({
  siteLimitKw: fc.integer({ min: 0, max: 400 }),
  zones: fc.array(zoneArb, { minLength: 1, maxLength: 4 }),
  occupancy: fc.array(fc.boolean(), { minLength: 1, maxLength: 30 }),
  v2gSessions: fc.array(fc.boolean(), { minLength: 1, maxLength: 30 }),
  plannerKw: fc.array(fc.double({ min: -100, max: 400, noNaN: true }), { minLength: 1, maxLength: 20 }),
  variations: fc.array(
    fc.record({
      zone: fc.integer({ min: -1, max: 3 }),
      importLimitKw: fc.integer({ min: -50, max: 300 }),
      exportLimitKw: fc.option(fc.integer({ min: 0, max: 100 }), { nil: undefined }),
      startOffsetS: fc.integer({ min: -600, max: 900 }),
      durationS: fc.integer({ min: 60, max: 7200 }),
      mode: fc.constantFrom('absolute' as const, 'delta' as const),
      floorKw: fc.constantFrom(0, 0, 4.2),
    }),
    { maxLength: 4 },
  ),
  ticks: fc.integer({ min: 1, max: 4 }),
  frequencyHz: fc.double({ min: 49.4, max: 50.6, noNaN: true }),
  reserveKw: fc.integer({ min: 0, max: 100 }),
  /** Service mode: deferred re-plans, and DSO limits answered first by clamping the last plan. */
  serviceMode: fc.boolean(),
});
const settle = () => new Promise((r) => setTimeout(r, 2));

describe('safety: no emitted setpoint set exceeds any node limit (randomized topologies)', () => {
  it('holds for any planner output, any DSO variations, any occupancy, over several re-plans', async () => {
    await fc.assert(
      fc.asyncProperty(scenarioArb, async (s) => {
        const site = aSite({ siteId: 'site-p', siteLimitKw: s.siteLimitKw, zones: s.zones });
        const h = await anEngine(
          {
            frequency: { reservedUpKw: s.reserveKw, reservedDownKw: s.reserveKw },
            planner: { deferQuietMs: 0 },
          },
          reckless(s.plannerKw),
          s.serviceMode ? { schedule: (delayMs, run) => setTimeout(run, delayMs) } : {},
        );
        h.send('fleet.state', aTopologyMessage(site, T0));
        const evses = site.nodes.filter((n) => n.kind === 'evse');
        evses.forEach((evse, i) => {
          if (!s.occupancy[i % s.occupancy.length]) return;
          const v2g = s.v2gSessions[i % s.v2gSessions.length];
          h.send(
            'fleet.state',
            anEvArrival('site-p', evse.nodeId, anEv({ v2gAllowed: v2g, maxDischargeKw: v2g ? 11 : 0 }), T0),
          );
        });
        if (s.serviceMode) {
          // A plan first, so the variations below take the clamp-the-last-plan path.
          await h.deliver();
          await settle();
        }
        // Sets decided before the variations were sent could not know them.
        const knownFrom = h.setpoints().length;
        const variations = s.variations.map((v) => {
          const nodeId = v.zone < 0 || v.zone >= s.zones.length ? 'site-p' : `z${v.zone + 1}`;
          const message = {
            ...aPowerVariation(
              'site-p',
              {
                nodeId,
                importLimitKw: v.importLimitKw,
                startMs: Math.max(0, T0 + v.startOffsetS * 1000),
                endMs: T0 + (v.startOffsetS + v.durationS) * 1000,
                mode: v.mode,
                guaranteedMinKwPerDevice: v.floorKw,
              },
              T0,
            ),
            exportLimitKw: v.exportLimitKw,
          };
          h.send('dso.power-variation', message);
          return message;
        });
        await h.deliver();
        h.send('grid.frequency', {
          ...header('site-p', T0, 'meter-1'),
          kind: 'frequency',
          meterId: 'meter-1',
          hz: s.frequencyHz,
          accuracyMilliHz: 1,
        });
        await h.deliver();
        for (let t = 1; t <= s.ticks; t++) {
          h.clock.advanceTo(T0 + t * 120_000);
          await h.engine.tick();
          await settle();
        }
        const sets = new Map<string, typeof h.setpoints extends () => infer R ? R : never>();
        for (const m of h.setpoints().slice(knownFrom)) sets.set(m.setId, [...(sets.get(m.setId) ?? []), m]);
        expect(sets.size).toBeGreaterThan(0);
        for (const set of sets.values()) {
          expect(set.length).toBe(set[0].setSize);
          expect(setpointViolations(site, set, variations)).toEqual([]);
        }
      }),
      { numRuns: 150, seed: 42 },
    );
  });
});
