import type { GLPK } from 'glpk.js/node';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildPlanningProblem } from '../../optimizers/buildPlanningProblem';
import { type DenseLp, denseSimplex } from '../../optimizers/denseSimplex';
import { exactScheduleGlpk } from '../../optimizers/exactSchedule';
import { buildLpModel } from '../../optimizers/lpModel';
import { gapInstance } from './support/gapInstances';
import { loadGlpk } from './support/solvers';

let glpk: GLPK;
beforeAll(async () => {
  glpk = await loadGlpk();
});

const INF = Number.POSITIVE_INFINITY;

/** Rows as [coefficients (dense), lo, hi]. */
function anLp(
  cost: number[],
  rows: [number[], number, number][],
  colLo = cost.map(() => 0),
  colHi = cost.map(() => INF),
): DenseLp {
  return {
    colLo,
    colHi,
    colCost: cost,
    rows: rows.map(([a, lo, hi]) => {
      const idx: number[] = [];
      const coef: number[] = [];
      a.forEach((v, j) => {
        if (v !== 0) {
          idx.push(j);
          coef.push(v);
        }
      });
      return { idx, coef, lo, hi };
    }),
  };
}

/** max 3x + 5y, x ≤ 4, 2y ≤ 12, 3x + 2y ≤ 18 (as min −3x − 5y): x = 2, y = 6. */
const textbookLp = () =>
  anLp(
    [-3, -5],
    [
      [[1, 0], -INF, 4],
      [[0, 2], -INF, 12],
      [[3, 2], -INF, 18],
    ],
  );

describe('denseSimplex', () => {
  it('solves a textbook LP (max 3x + 5y, x ≤ 4, 2y ≤ 12, 3x + 2y ≤ 18: x = 2, y = 6)', () => {
    const r = denseSimplex(textbookLp());
    expect(r.status).toBe('optimal');
    expect(r.objective).toBeCloseTo(-36, 9);
    expect(Array.from(r.x)).toEqual([expect.closeTo(2, 9), expect.closeTo(6, 9)]);
  });

  it('uses column bounds (bound flips), equality and ≥ rows, free columns', () => {
    // min x − y + 2z, x + y + z = 10, x − z ≥ 1, 0 ≤ x ≤ 3, 0 ≤ y ≤ 5, z free: y = 5, x = 3, z = 2 → 3 − 5 + 4 = 2.
    const r = denseSimplex(
      anLp(
        [1, -1, 2],
        [
          [[1, 1, 1], 10, 10],
          [[1, 0, -1], 1, INF],
        ],
        [0, 0, -INF],
        [3, 5, INF],
      ),
    );
    expect(r.status).toBe('optimal');
    expect(r.objective).toBeCloseTo(2, 9);
    expect(Array.from(r.x)).toEqual([expect.closeTo(3, 9), expect.closeTo(5, 9), expect.closeTo(2, 9)]);
  });

  it('starts from an infeasible all-at-bound point (phase 1) and reports infeasible and unbounded LPs', () => {
    // x + y ≥ 4, x ≤ 1 (row), y ≤ 2 (column): infeasible.
    expect(
      denseSimplex(
        anLp(
          [1, 1],
          [
            [[1, 1], 4, INF],
            [[1, 0], -INF, 1],
          ],
          [0, 0],
          [INF, 2],
        ),
      ).status,
    ).toBe('infeasible');
    // min −x, x − y ≤ 1: unbounded along x = y + 1.
    expect(denseSimplex(anLp([-1, 0], [[[1, -1], -INF, 1]])).status).toBe('unbounded');
    // Phase 1 then phase 2: min x + y, x + 2y ≥ 4, 3x + y ≥ 6 → x = 1.6, y = 1.2.
    const r = denseSimplex(
      anLp(
        [1, 1],
        [
          [[1, 2], 4, INF],
          [[3, 1], 6, INF],
        ],
      ),
    );
    expect(r.status).toBe('optimal');
    expect(r.objective).toBeCloseTo(2.8, 9);
  });

  it("does not cycle on Beale's degenerate example", () => {
    // Beale (1955): min −3/4 x4 + 150 x5 − 1/50 x6 + 6 x7 with two degenerate rows at the start point (textbook
    // pivoting rules cycle on it); optimum −1/20 at x4 = 1/25, x6 = 1.
    const r = denseSimplex(
      anLp(
        [-0.75, 150, -0.02, 6],
        [
          [[0.25, -60, -0.04, 9], -INF, 0],
          [[0.5, -90, -0.02, 3], -INF, 0],
          [[0, 0, 1, 0], -INF, 1],
        ],
      ),
    );
    expect(r.status).toBe('optimal');
    expect(r.objective).toBeCloseTo(-0.05, 9);
    expect(r.x[0]).toBeCloseTo(0.04, 9);
  });

  it('stops at its iteration cap', () => {
    const r = denseSimplex(textbookLp(), { maxIterations: 1 });
    expect(r.status).toBe('iterationLimit');
    expect(r.iterations).toBe(1);
  });

  it('reaches the glpk optimum on the exact models of small sites (V2G, tight limits, reserve)', () => {
    for (const cls of ['v2g', 'tight', 'reserve', 'overloadedV2g']) {
      for (let sd = 1; sd <= 15; sd++) {
        const p = buildPlanningProblem(gapInstance(cls, sd));
        const model = buildLpModel(p);
        const r = denseSimplex(model);
        const exact = exactScheduleGlpk(p, glpk);
        expect(r.status).toBe('optimal');
        const objective = r.objective + model.objectiveOffset;
        expect(Math.abs(objective - exact.solverObjective)).toBeLessThanOrEqual(
          1e-7 * Math.max(1, Math.abs(exact.solverObjective)),
        );
      }
    }
  });
  it('starts from given column values (between bounds too) and reaches the same optimum, with less work', () => {
    // max x + y (min −x − y) s.t. x + 2y ≤ 4, 3x + y ≤ 6, 0 ≤ x, y ≤ 3: optimum x = 1.6, y = 1.2.
    const lp = anLp(
      [-1, -1],
      [
        [[1, 2], -INF, 4],
        [[3, 1], -INF, 6],
      ],
      [0, 0],
      [3, 3],
    );
    const cold = denseSimplex(lp);
    const warm = denseSimplex(lp, { start: [1.5, 1.2] });
    const outside = denseSimplex(lp, { start: [9, -9] });
    for (const r of [cold, warm, outside]) {
      expect(r.status).toBe('optimal');
      expect(r.objective).toBeCloseTo(-2.8, 9);
    }
    // From the schedule of an engine-sized reserve site the whole-horizon LP touches far fewer entries.
    const p = buildPlanningProblem(gapInstance('reserveEngine', 110));
    const model = buildLpModel(p);
    const first = denseSimplex(model);
    const again = denseSimplex(model, { start: first.x });
    expect(again.objective).toBeCloseTo(first.objective, 6);
    expect(again.touched).toBeLessThan(first.touched / 2);
  });

  it('declines a tableau larger than its work cap before allocating it', () => {
    const p = buildPlanningProblem(gapInstance('reserveEngine', 110));
    const r = denseSimplex(buildLpModel(p), { maxTouched: 1_000 });
    expect(r.status).toBe('iterationLimit');
    expect(r.touched).toBe(0);
  });
});
