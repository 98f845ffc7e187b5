import fc from 'fast-check';
import type { GLPK } from 'glpk.js/node';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildPlanningProblem, type PlanningInput } from '../../optimizers/buildPlanningProblem';
import { checkFeasibility } from '../../optimizers/checkFeasibility';
import { exactScheduleGlpk } from '../../optimizers/exactSchedule';
import { fastSchedule } from '../../optimizers/fastSchedule';
import { flexEnvelope } from '../../optimizers/flexEnvelope';
import type { PlanningProblem } from '../../optimizers/planningProblem';
import { planSite } from '../../optimizers/planSite';
import { scheduleCost } from '../../optimizers/scheduleCost';
import { mulberry32 } from '../../optimizers/syntheticSite';
import { anEv, anInput, aSite } from './support/builders';
import { reserveInstance } from './support/gapInstances';
import { randomInstance } from './support/randomInstance';
import { loadGlpk } from './support/solvers';

let glpk: GLPK;
beforeAll(async () => {
  glpk = await loadGlpk();
});

const reserveKinds = new Set(['reserveUpUnbacked', 'reserveDownUnbacked']);
const hard = (p: PlanningProblem, kw: Float64Array) =>
  checkFeasibility(p, kw).filter((v) => v.kind !== 'energyBelowMin' && !reserveKinds.has(v.kind));
/** The checker's unbacked reserve, as kWh of activation (kW × endurance). */
const checkerUnbackedKwh = (p: PlanningProblem, kw: Float64Array) =>
  checkFeasibility(p, kw)
    .filter((v) => reserveKinds.has(v.kind))
    .reduce((sum, v) => sum + v.amount * p.reserveEnduranceHours, 0);

const row = (p: PlanningProblem, kw: Float64Array, s: number) =>
  Array.from(kw.subarray(s * p.slotCount, (s + 1) * p.slotCount)).map((x) => Math.round(x * 1000) / 1000);

describe('reserve endurance', () => {
  it('a charge-only EV holding up-reserve charges at least that much in every slot', () => {
    // 5 kWh over four quarter hours; 5 kW of up-reserve (curtailable charging) in every slot: only 5 kW flat backs it,
    // although slots 1 and 3 are cheaper.
    const input = anInput(aSite(), [{ evseId: 'e0', session: anEv('a') }], [0.3, 0.1, 0.4, 0.2], {
      reserveUpKw: [5, 5, 5, 5],
      reserveEnduranceHours: 0.25,
    });
    const p = buildPlanningProblem(input);
    const exact = exactScheduleGlpk(p, glpk);
    const fast = fastSchedule(p);
    for (const kw of [exact.sessionKw, fast.sessionKw]) {
      expect(checkFeasibility(p, kw)).toEqual([]);
      expect(row(p, kw, 0)).toEqual([5, 5, 5, 5]);
    }
    expect(exact.costTotal).toBeCloseTo(5 * 0.25 * (0.3 + 0.1 + 0.4 + 0.2), 9);
    // Without the endurance requirement the EV charges in the two cheapest slots.
    const free = buildPlanningProblem({ ...input, reserveEnduranceHours: 0 });
    expect(row(free, fastSchedule(free).sessionKw, 0)).toEqual([0, 10, 0, 10]);
  });

  it('a V2G EV near its SoC floor cannot back up-reserve by discharge, near capacity not down-reserve by charging', () => {
    // 100 kWh battery, 20 % reserve floor. At 21 kWh, 1 kWh above the floor lasts 0.5 h at 2 kW only.
    const low = buildPlanningProblem(
      anInput(
        aSite({ v2g: true }),
        [
          {
            evseId: 'e0',
            session: anEv('a', { socPct: 21, maxDischargeKw: 10, v2gAllowed: true, energyTargetKwh: 0 }),
          },
        ],
        [0.3, 0.3],
        { reserveUpKw: [8, 8], reserveEnduranceHours: 0.5 },
      ),
    );
    const idle = new Float64Array(2);
    // Idle: backs 2 kW of the 8 in each slot (6 kW × 0.5 h unbacked per slot).
    expect(checkerUnbackedKwh(low, idle)).toBeCloseTo(2 * 6 * 0.5, 9);
    // Charging 6 kW more than covers it: 6 curtailable + more energy above the floor.
    expect(checkerUnbackedKwh(low, Float64Array.of(6, 6))).toBe(0);
    const full = buildPlanningProblem(
      anInput(
        aSite(),
        [{ evseId: 'e0', session: anEv('a', { socPct: 99, energyTargetKwh: 0 }) }],
        [0.3, 0.3],
        { reserveDownKw: [8, 8], reserveEnduranceHours: 0.25 },
      ),
    );
    // 1 kWh of room for 0.25 h: 4 kW of extra charging, not 8.
    expect(checkerUnbackedKwh(full, idle)).toBeCloseTo(2 * 4 * 0.25, 9);
    const env = flexEnvelope(full, idle);
    expect(Array.from(env.reserveBackedDownKw)).toEqual([4, 4]);
    expect(env.reserveEnduranceHours).toBe(0.25);
  });

  it('a slot without reserve needs nothing backed, not even a plan that could not be held for the endurance', () => {
    // 3 kWh of room, 0.5 h endurance: 8 kW in slot 0 leaves ~1 kWh, so it could be held for ~2 kW only (backs
    // about 2 − 8 = −6 kW down). Down-reserve is held in slot 1 only.
    const p = buildPlanningProblem(
      anInput(
        aSite(),
        [{ evseId: 'e0', session: anEv('a', { socPct: 97, energyTargetKwh: 0 }) }],
        [0.3, 0.3],
        { reserveDownKw: [0, 1], reserveEnduranceHours: 0.5 },
      ),
    );
    const kw = Float64Array.of(8, 0);
    expect(flexEnvelope(p, kw).reserveBackedDownKw[0]).toBeLessThan(-5);
    // Like the LP (no reserve row in slot 0): nothing is unbacked, for the checker and for the cost model.
    expect(checkerUnbackedKwh(p, kw)).toBe(0);
    expect(scheduleCost(p, kw).reserveUnbackedKwh).toBe(0);
    expect(checkFeasibility(p, kw)).toEqual([]);
  });

  it('on random sites: every schedule feasible, the checker agrees with the cost model, fast never below exact', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 31 - 1 }), fc.boolean(), (sd, v2g) => {
        const base = randomInstance(sd, { v2g, limits: 'realistic', siteLoad: sd % 2 === 0 });
        const r = mulberry32(sd ^ 0x2545f491);
        const T = base.horizonSlots ?? 4;
        const input: PlanningInput = {
          ...base,
          reserveUpKw: Array.from({ length: T }, () => Math.round(r() * 15)),
          reserveDownKw: Array.from({ length: T }, () => Math.round(r() * 15)),
          reserveEnduranceHours: r() < 0.5 ? 0.25 : 0.5,
        };
        const p = buildPlanningProblem(input);
        const exact = exactScheduleGlpk(p, glpk);
        expect(exact.status).toBe('optimal');
        const fast = fastSchedule(p);
        const replanned = planSite(p, planSite(p));
        for (const result of [exact, fast]) {
          expect(hard(p, result.sessionKw)).toEqual([]);
          // Independent implementations of the same model.
          expect(checkerUnbackedKwh(p, result.sessionKw)).toBeCloseTo(result.reserveUnbackedKwh, 6);
        }
        expect(hard(p, replanned.sessionKw)).toEqual([]);
        expect(fast.costTotal).toBeGreaterThanOrEqual(
          exact.costTotal - 1e-6 * Math.max(1, Math.abs(exact.costTotal)),
        );
        expect(fast.lowerBound!).toBeLessThanOrEqual(exact.costTotal + 1e-6 * Math.max(1, exact.costTotal));
      }),
      { numRuns: 80, seed: 1562 },
    );
  });
  it('backing the reserve never takes a session below the energy it arrived with', () => {
    // Seeds where backReserve lowered the charge of a V2G session that discharges elsewhere (found by the checker's
    // energyBelowArrival rule, which the LP has as delivered ≥ 0).
    for (const sd of [444, 486, 780]) {
      const p = buildPlanningProblem(reserveInstance(sd, sd % 2 === 0));
      const fast = fastSchedule(p);
      expect(checkFeasibility(p, fast.sessionKw).filter((v) => v.kind === 'energyBelowArrival')).toEqual([]);
      expect(hard(p, fast.sessionKw)).toEqual([]);
    }
  });

  it('gap on random reserve sites (seeds 1–60): all within 0.5 % of the LP, never below it', () => {
    const gaps: number[] = [];
    for (let sd = 1; sd <= 60; sd++) {
      const p = buildPlanningProblem(reserveInstance(sd, sd % 2 === 0));
      const exact = exactScheduleGlpk(p, glpk);
      expect(exact.status).toBe('optimal');
      const fast = fastSchedule(p);
      expect(hard(p, fast.sessionKw)).toEqual([]);
      expect(fast.costTotal).toBeGreaterThanOrEqual(
        exact.costTotal - 1e-6 * Math.max(1, Math.abs(exact.costTotal)),
      );
      gaps.push(((fast.costTotal - exact.costTotal) / Math.max(1e-9, Math.abs(exact.costTotal))) * 100);
    }
    // Measured: 60 of 60 within 0.5 % (seeds 1–100: 100 of 100; 96 before the one-slot exchanges, 92 before the
    // credit pricing and follow-up pushes, 64 before the negative-cycle phase). Seeds 4, 14, 34, 38 were 2.1, 38.8,
    // 12.4 and 7.9 % above. Seeds 1–400 of every reserve class: properties.test.ts (the exact LP on tiny sites).
    expect(gaps.filter((g) => g <= 0.5).length).toBe(60);
  });
});
