import type { GLPK } from 'glpk.js/node';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildPlanningProblem } from '../../optimizers/buildPlanningProblem';
import { checkFeasibility } from '../../optimizers/checkFeasibility';
import { exactScheduleGlpk } from '../../optimizers/exactSchedule';
import { fastSchedule } from '../../optimizers/fastSchedule';
import type { PlanningProblem } from '../../optimizers/planningProblem';
import { anEv, anInput, aSite } from './support/builders';
import { loadGlpk } from './support/solvers';

let glpk: GLPK;
beforeAll(async () => {
  glpk = await loadGlpk();
});

/** Both solvers, both through the checker; returns [fast, exact]. */
function solveBoth(problem: PlanningProblem) {
  const fast = fastSchedule(problem);
  const exact = exactScheduleGlpk(problem, glpk);
  expect(exact.status).toBe('optimal');
  expect(checkFeasibility(problem, fast.sessionKw)).toEqual([]);
  expect(checkFeasibility(problem, exact.sessionKw)).toEqual([]);
  // The LP's own objective agrees with the shared cost model.
  expect(exact.costTotal).toBeCloseTo(exact.solverObjective, 6);
  return [fast, exact] as const;
}

const row = (p: PlanningProblem, kw: Float64Array, s: number) =>
  Array.from(kw.subarray(s * p.slotCount, (s + 1) * p.slotCount)).map((x) => Math.round(x * 1000) / 1000);

describe('hand-checked optima', () => {
  it('one EV charges in the cheapest slots', () => {
    // 5 kWh at ≤ 10 kW over 15-min slots: 2 slots of 10 kW; cheapest are slots 1 and 3.
    const p = buildPlanningProblem(
      anInput(aSite(), [{ evseId: 'e0', session: anEv('a') }], [0.3, 0.1, 0.4, 0.2]),
    );
    const [fast, exact] = solveBoth(p);
    expect(exact.costTotal).toBeCloseTo(10 * 0.25 * 0.1 + 10 * 0.25 * 0.2, 9);
    expect(fast.costTotal).toBeCloseTo(exact.costTotal, 9);
    expect(row(p, fast.sessionKw, 0)).toEqual([0, 10, 0, 10]);
  });

  it('a station limit makes the flexible EV yield the cheap slot to the one leaving early', () => {
    // Station 10 kW. EV a leaves after slot 0 and needs 2.5 kWh (10 kW × 15 min). EV b stays 2 slots, needs 2.5 kWh.
    // Slot 0 is cheap (0.1), slot 1 dear (0.3). Optimum: a in slot 0, b in slot 1: 0.25 + 0.75 = 1.0.
    const p = buildPlanningProblem(
      anInput(
        aSite({ stationKw: 10 }),
        [
          { evseId: 'e0', session: anEv('b', { slots: 2, energyTargetKwh: 2.5 }) },
          { evseId: 'e1', session: anEv('a', { slots: 1, energyTargetKwh: 2.5 }) },
        ],
        [0.1, 0.3],
      ),
    );
    const [fast, exact] = solveBoth(p);
    expect(exact.costTotal).toBeCloseTo(1.0, 9);
    expect(fast.costTotal).toBeCloseTo(1.0, 9);
    expect(row(p, fast.sessionKw, 0)).toEqual([0, 10]);
    expect(row(p, fast.sessionKw, 1)).toEqual([10, 0]);
  });

  it('V2G: discharges in the dear slot and recharges in the cheap one, respecting the SoC reserve', () => {
    // Battery 20 kWh at 50 % (10 kWh), reserve 40 % (8 kWh), wants nothing more. Efficiencies 1, no wear.
    // Site load 20 kW keeps the site importing, so discharge is worth the import price.
    // Slot 0 dear (0.5), slot 1 cheap (0.1): discharge 2 kWh (8 kW) in slot 0 (reserve), recharge in slot 1.
    // Cost: load 20 kW × 0.25 h × (0.5 + 0.1) = 3.0, minus 2 kWh × 0.5, plus 2 kWh × 0.1 = 2.2.
    const nodes = aSite({ v2g: true });
    const p = buildPlanningProblem(
      anInput(
        nodes,
        [
          {
            evseId: 'e0',
            session: anEv('a', {
              slots: 2,
              socPct: 50,
              batteryCapacityKwh: 20,
              minSocReservePct: 40,
              energyTargetKwh: 0,
              maxDischargeKw: 10,
              v2gAllowed: true,
            }),
          },
        ],
        [0.5, 0.1],
        { siteLoadKw: [20, 20] },
      ),
    );
    const [fast, exact] = solveBoth(p);
    expect(exact.costTotal).toBeCloseTo(2.2, 9);
    expect(fast.costTotal).toBeCloseTo(2.2, 9);
    expect(row(p, fast.sessionKw, 0)).toEqual([-8, 8]);
  });

  it('AC floor: the MILP charges at 0 or ≥ the floor', () => {
    // Needs 1.5 kWh; floor 6 kW; slot prices 0.1, 0.2, 0.3. Without the floor it would spread — with it: 6 kW in slot 0.
    const p = buildPlanningProblem(
      anInput(
        aSite(),
        [{ evseId: 'e0', session: anEv('a', { slots: 3, energyTargetKwh: 1.5, minChargeKw: 6 }) }],
        [0.1, 0.2, 0.3],
      ),
    );
    const [fast, exact] = solveBoth(p);
    expect(exact.costTotal).toBeCloseTo(6 * 0.25 * 0.1, 9);
    expect(fast.costTotal).toBeCloseTo(exact.costTotal, 9);
    for (const kw of fast.sessionKw) expect(kw === 0 || kw >= 6 - 1e-9).toBe(true);
  });

  it('shortfall: a site limit caps delivery and the penalty prices the missing kWh', () => {
    // Site 4 kW for 2 slots = 2 kWh deliverable; target 5 kWh, min 1 kWh → 3 kWh short at 1.0 + 2 kWh at 0.1.
    const p = buildPlanningProblem(
      anInput(
        aSite({ siteKw: 4 }),
        [{ evseId: 'e0', session: anEv('a', { slots: 2, energyMinKwh: 1 }) }],
        [0.1, 0.1],
      ),
    );
    const [fast, exact] = solveBoth(p);
    expect(exact.shortfallKwh).toBeCloseTo(3, 9);
    expect(exact.costTotal).toBeCloseTo(3 * 1.0 + 2 * 0.1, 9);
    expect(fast.costTotal).toBeCloseTo(exact.costTotal, 9);
  });

  it('demand charge: spreading charging lowers the peak', () => {
    // Two EVs, 2.5 kWh each, 2 slots, flat price 0.1, demand charge 1 per kW, penalty 10 per missing kWh.
    // Total 5 kWh over 0.5 h → min peak 10 kW: cost 0.5 + 10 = 10.5 (vs 20 kW peak in one slot).
    const p = buildPlanningProblem(
      anInput(
        aSite(),
        [
          { evseId: 'e0', session: anEv('a', { slots: 2, energyTargetKwh: 2.5 }) },
          { evseId: 'e1', session: anEv('b', { slots: 2, energyTargetKwh: 2.5 }) },
        ],
        [0.1, 0.1],
        { demandChargePerKw: 1, shortfallPenaltyPerKwh: 10 },
      ),
    );
    const [fast, exact] = solveBoth(p);
    expect(exact.costTotal).toBeCloseTo(10.5, 6);
    expect(fast.costTotal).toBeLessThanOrEqual(exact.costTotal * 1.005);
  });

  it('baseline tracking: stays on the baseline when deviations cost more than the price spread', () => {
    // Baseline 10 kW in both slots, deviation cost 1 per kWh; prices 0.1 and 0.3; 5 kWh wanted over 2 slots.
    const p = buildPlanningProblem(
      anInput(aSite(), [{ evseId: 'e0', session: anEv('a', { slots: 2 }) }], [0.1, 0.3], {
        baseline: {
          messageId: 'b',
          source: 't',
          siteId: 'site',
          tsMs: 0,
          schemaVersion: 1,
          kind: 'baseline',
          startMs: p0(),
          slotMinutes: 15,
          baselineKw: [10, 10],
        },
        baselineDeviationCostPerKwh: 1,
        horizonSlots: 2,
      }),
    );
    const [fast, exact] = solveBoth(p);
    expect(exact.costTotal).toBeCloseTo(10 * 0.25 * 0.1 + 10 * 0.25 * 0.3, 9);
    expect(fast.costTotal).toBeCloseTo(exact.costTotal, 9);
  });
});

function p0(): number {
  return Date.UTC(2026, 0, 15, 0, 0, 0);
}

describe('reserve and trajectories', () => {
  it('reserved down capacity shrinks the import the schedule may use at the site', async () => {
    const { socTrajectories } = await import('../../optimizers/socTrajectories');
    // Site 20 kW, 8 kW kept free for frequency response → EVs get 12 kW in slot 0 (cheap), rest in slot 1.
    const p = buildPlanningProblem(
      anInput(
        aSite({ siteKw: 20 }),
        [
          { evseId: 'e0', session: anEv('a', { slots: 2, energyTargetKwh: 2.5 }) },
          { evseId: 'e1', session: anEv('b', { slots: 2, energyTargetKwh: 2.5 }) },
        ],
        [0.1, 0.3],
        { reserveDownKw: [8, 8] },
      ),
    );
    const [fast, exact] = solveBoth(p);
    // 5 kWh: 12 kW × 0.25 h = 3 kWh at 0.1, 2 kWh at 0.3.
    expect(exact.costTotal).toBeCloseTo(3 * 0.1 + 2 * 0.3, 9);
    expect(fast.costTotal).toBeCloseTo(exact.costTotal, 9);
    const soc = socTrajectories(p, fast.sessionKw);
    const T = p.slotCount;
    expect(soc[0]).toBeCloseTo(50, 9);
    expect(soc[T] - soc[0] + soc[2 * T + 1] - soc[T + 1]).toBeCloseTo(5, 9);
  });
});
