import fc from 'fast-check';
import type { GLPK } from 'glpk.js/node';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildPlanningProblem } from '../../optimizers/buildPlanningProblem';
import { exactScheduleGlpk } from '../../optimizers/exactSchedule';
import { fastSchedule } from '../../optimizers/fastSchedule';
import { lagrangianLowerBound } from '../../optimizers/lowerBound';
import type { PlanningProblem } from '../../optimizers/planningProblem';
import { mulberry32 } from '../../optimizers/syntheticSite';
import { randomInstance } from './support/randomInstance';
import { loadGlpk } from './support/solvers';

let glpk: GLPK;
beforeAll(async () => {
  glpk = await loadGlpk();
});

const seed = fc.integer({ min: 1, max: 2 ** 31 - 1 });
const tol = (x: number) => 1e-6 * Math.max(1, Math.abs(x));

/** Adds a baseline to track and a demand charge (the random instances have neither). */
function withSiteTerms(p: PlanningProblem, sd: number): PlanningProblem {
  const r = mulberry32(sd ^ 0x5bd1e995);
  return {
    ...p,
    baselineKw: Float64Array.from({ length: p.slotCount }, () => Math.round(r() * 30 - 5)),
    baselineDeviationCostPerKwh: Math.round(r() * 10) / 100,
    demandChargePerKw: r() < 0.5 ? Math.round(r() * 300) / 100 : 0,
    peakFloorKw: Math.round(r() * 10),
  };
}

describe('lagrangianLowerBound', () => {
  it('never exceeds the exact optimum (V2G, site load and PV, baseline, demand charge)', () => {
    fc.assert(
      fc.property(seed, fc.boolean(), fc.boolean(), (sd, siteLoad, siteTerms) => {
        const built = buildPlanningProblem(randomInstance(sd, { siteLoad, limits: 'realistic' }));
        const p = siteTerms ? withSiteTerms(built, sd) : built;
        const exact = exactScheduleGlpk(p, glpk);
        expect(exact.status).toBe('optimal');
        const fast = fastSchedule(p);
        expect(fast.lowerBound).not.toBeNull();
        expect(fast.lowerBound!).toBeLessThanOrEqual(exact.costTotal + tol(exact.costTotal));
        // Any multipliers give a valid bound, the fast schedule's slopes or none.
        expect(lagrangianLowerBound(p)).toBeLessThanOrEqual(exact.costTotal + tol(exact.costTotal));
      }),
      { numRuns: 120, seed: 4242 },
    );
  });

  it('is the optimum when no node limit binds and the sessions cannot discharge', () => {
    fc.assert(
      fc.property(seed, (sd) => {
        const p = buildPlanningProblem(randomInstance(sd, { v2g: false, limits: 'realistic' }));
        // Lift every node limit out of reach.
        p.nodeImportKw.fill(1e6);
        p.nodeExportKw.fill(1e6);
        const exact = exactScheduleGlpk(p, glpk);
        expect(exact.status).toBe('optimal');
        const bound = fastSchedule(p).lowerBound!;
        expect(bound).toBeLessThanOrEqual(exact.costTotal + tol(exact.costTotal));
        expect(bound).toBeGreaterThanOrEqual(exact.costTotal - tol(exact.costTotal));
      }),
      { numRuns: 60, seed: 777 },
    );
  });
});
