import { describe, expect, it } from 'vitest';
import { buildPlanningProblem } from '../../optimizers/buildPlanningProblem';
import { checkFeasibility } from '../../optimizers/checkFeasibility';
import { planSite } from '../../optimizers/planSite';
import { gapInstance } from './support/gapInstances';

/**
 * The engine bounds its plans' time by leaving the negative-cycle phase out above a size
 * (`planner.cycleSearchMaxSessionSlots`); `planSite` passes the scheduler's options through.
 */
describe('planSite with scheduler options', () => {
  it('without the negative-cycle phase: still feasible, never cheaper, and dearer where the phase pays', () => {
    let dearer = 0;
    for (let seed = 1; seed <= 40; seed++) {
      const problem = buildPlanningProblem(gapInstance('v2g', seed));
      const full = planSite(problem);
      const bounded = planSite(problem, undefined, { flowSizeLimit: 0 });
      // A minimum the limits make jointly unreachable is not a violation of the plan (see properties.test.ts).
      const hard = checkFeasibility(problem, bounded.sessionKw).filter((v) => v.kind !== 'energyBelowMin');
      expect(hard).toEqual([]);
      expect(full.costTotal).toBeLessThanOrEqual(
        bounded.costTotal + 1e-6 * Math.max(1, Math.abs(bounded.costTotal)),
      );
      if (full.costTotal < bounded.costTotal - 1e-6 * Math.max(1, Math.abs(bounded.costTotal))) dearer++;
    }
    expect(dearer).toBeGreaterThan(0);
  });
});
