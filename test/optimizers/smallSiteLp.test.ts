import { describe, expect, it } from 'vitest';
import { buildPlanningProblem } from '../../optimizers/buildPlanningProblem';
import { checkFeasibility } from '../../optimizers/checkFeasibility';
import { fastSchedule } from '../../optimizers/fastSchedule';
import { buildLpModel } from '../../optimizers/lpModel';
import type { PlanningProblem } from '../../optimizers/planningProblem';
import { scheduleCost } from '../../optimizers/scheduleCost';
import { smallSiteLp } from '../../optimizers/smallSiteLp';
import { reserveInstance } from './support/gapInstances';
import { randomInstance } from './support/randomInstance';

/** What `smallSiteLp` may leave: a jointly unreachable minimum and unbacked reserve, both priced in the cost. */
const priced = new Set(['energyBelowMin', 'reserveUpUnbacked', 'reserveDownUnbacked']);
const hard = (p: PlanningProblem, kw: Float64Array) =>
  checkFeasibility(p, kw).filter((v) => !priced.has(v.kind));

describe('smallSiteLp', () => {
  it('returns a feasible schedule that reaches the LP optimum on tiny reserve sites', () => {
    for (let sd = 1; sd <= 40; sd++) {
      const p = buildPlanningProblem(reserveInstance(sd, sd % 2 === 0));
      const lp = smallSiteLp(p);
      expect(lp).not.toBeNull();
      if (!lp) continue;
      expect(hard(p, lp.sessionKw)).toEqual([]);
      const cost = scheduleCost(p, lp.sessionKw).costTotal;
      expect(cost).toBeCloseTo(lp.objective, 6);
      // The fast scheduler keeps it (or something as cheap).
      expect(fastSchedule(p).costTotal).toBeLessThanOrEqual(cost + 1e-9 * Math.max(1, Math.abs(cost)));
    }
  });

  it('re-solves where the LP charges and discharges one session in one slot at once', () => {
    // Seed 538: the LP burns energy in the losses (charge 9.3 kW and discharge 7.4 kW in one slot) to back the
    // reserve; a net schedule cannot. The restricted LP gives a feasible schedule, at or above the LP's bound.
    const p = buildPlanningProblem(reserveInstance(538, true));
    const lp = smallSiteLp(p);
    expect(lp).not.toBeNull();
    if (!lp) return;
    expect(hard(p, lp.sessionKw)).toEqual([]);
    expect(scheduleCost(p, lp.sessionKw).costTotal).toBeGreaterThanOrEqual(lp.objective - 1e-9);
    expect(smallSiteLp(p, { complementarityRounds: 0 })).toBeNull();
  });

  it('declines models with binaries (AC floor), models above its size cap and solves above its work cap', () => {
    let floorSites = 0;
    for (let sd = 1; sd <= 20; sd++) {
      const p = buildPlanningProblem(randomInstance(sd, { floors: true }));
      if (!buildLpModel(p).binary.some((b) => b)) continue;
      floorSites++;
      expect(smallSiteLp(p)).toBeNull();
    }
    expect(floorSites).toBeGreaterThan(0);
    const p = buildPlanningProblem(reserveInstance(3, false));
    expect(smallSiteLp(p, { maxModelSize: 10 })).toBeNull();
    // And it stops at its work cap (a simplex that does not reach the optimum gives nothing).
    expect(smallSiteLp(p, { maxWork: 1 })).toBeNull();
    expect(smallSiteLp(p)).not.toBeNull();
  });
});
