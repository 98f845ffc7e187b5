import type { GLPK, LP } from 'glpk.js/node';
import { buildLpModel, type LpModel, lpModelToCplexLp } from './lpModel';
import type { PlanningProblem } from './planningProblem';
import { type ScheduleCost, scheduleCost } from './scheduleCost';

/**
 * Exact reference solvers. They are slow by nature and meant for tests and benchmarks, not for the engine loop.
 *
 * Size limits (measured on the project machines, 96 slots, one site limit): glpk.js solves the LP of 100 sessions in
 * ~0.2 s and of 1,000 in ~7 s; beyond ~2,000 sessions it exceeds a minute. With the AC floor on, the MILP (one binary
 * per session-slot) is practical up to a few dozen sessions × 96 slots. HiGHS-wasm (`highs` package) solves the LP of
 * 1,000 sessions in ~1 s and 10,000 in well over a minute. Solvers are loaded asynchronously by the caller
 * (`glpk.js/node` default export, `highs` default export) and passed in, so this module stays synchronous.
 */
export interface ExactResult extends ScheduleCost {
  status: 'optimal' | 'feasible' | 'infeasible' | 'failed';
  sessionKw: Float64Array;
  /** Objective the solver reported (its own arithmetic). */
  solverObjective: number;
  solver: 'glpk' | 'highs';
}

function extract(problem: PlanningProblem, model: LpModel, value: (j: number) => number): Float64Array {
  const S = problem.sessionCount;
  const T = problem.slotCount;
  const kw = new Float64Array(S * T);
  for (let k = 0; k < S * T; k++) {
    let p = 0;
    if (model.chargeCol[k] >= 0) p += value(model.chargeCol[k]);
    if (model.dischargeCol[k] >= 0) p -= value(model.dischargeCol[k]);
    // Solver noise around bounds: snap tiny values to 0.
    kw[k] = Math.abs(p) < 1e-9 ? 0 : p;
  }
  return kw;
}

export interface ExactOptions {
  /** Time limit in seconds. */
  timeLimitS?: number;
  /** Relative MIP gap; default 1e-4. */
  mipGap?: number;
}

/** Solves the problem exactly with glpk.js (LP, or MILP when an AC floor applies). */
export function exactScheduleGlpk(
  problem: PlanningProblem,
  glpk: GLPK,
  options: ExactOptions = {},
): ExactResult {
  const model = buildLpModel(problem);
  const lp: LP = {
    name: 'evflex',
    objective: {
      direction: glpk.GLP_MIN,
      name: 'obj',
      vars: model.colCost.map((coef, j) => ({ name: model.colNames[j], coef })).filter((v) => v.coef !== 0),
    },
    subjectTo: model.rows
      .filter((r) => r.idx.length > 0)
      .map((r) => {
        const hasLo = r.lo > Number.NEGATIVE_INFINITY;
        const hasHi = r.hi < Number.POSITIVE_INFINITY;
        const type =
          r.lo === r.hi ? glpk.GLP_FX : hasLo && hasHi ? glpk.GLP_DB : hasLo ? glpk.GLP_LO : glpk.GLP_UP;
        return {
          name: r.name,
          vars: r.idx.map((j, k) => ({ name: model.colNames[j], coef: r.coef[k] })),
          bnds: { type, lb: hasLo ? r.lo : 0, ub: hasHi ? r.hi : 0 },
        };
      }),
    bounds: model.colNames.map((name, j) => {
      const hi = model.colHi[j];
      const finite = hi < Number.POSITIVE_INFINITY;
      if (model.colLo[j] === Number.NEGATIVE_INFINITY)
        return finite
          ? { name, type: glpk.GLP_UP, lb: 0, ub: hi }
          : { name, type: glpk.GLP_FR, lb: 0, ub: 0 };
      const type = !finite ? glpk.GLP_LO : model.colLo[j] === hi ? glpk.GLP_FX : glpk.GLP_DB;
      return { name, type, lb: model.colLo[j], ub: finite ? hi : 0 };
    }),
    binaries: model.colNames.filter((_, j) => model.binary[j]),
  };
  const result = glpk.solve(lp, {
    msglev: glpk.GLP_MSG_OFF,
    presol: true,
    tmlim: options.timeLimitS,
    mipgap: options.mipGap ?? 1e-4,
  });
  const st = result.result.status;
  const status =
    st === glpk.GLP_OPT
      ? 'optimal'
      : st === glpk.GLP_FEAS
        ? 'feasible'
        : st === glpk.GLP_NOFEAS
          ? 'infeasible'
          : 'failed';
  const vars = result.result.vars;
  const sessionKw =
    status === 'optimal' || status === 'feasible'
      ? extract(problem, model, (j) => vars[model.colNames[j]] ?? 0)
      : new Float64Array(problem.sessionCount * problem.slotCount);
  return {
    ...scheduleCost(problem, sessionKw),
    status,
    sessionKw,
    solverObjective: result.result.z + model.objectiveOffset,
    solver: 'glpk',
  };
}

/** The part of the `highs` wasm module this file uses. */
export interface HighsLike {
  solve(
    lpText: string,
    options?: Record<string, string | number | boolean>,
  ): { Status: string; ObjectiveValue: number; Columns: Record<string, { Primal?: number }> };
}

/** Solves the same model with HiGHS-wasm (second reference for the benchmark). */
export function exactScheduleHighs(
  problem: PlanningProblem,
  highs: HighsLike,
  options: ExactOptions = {},
): ExactResult {
  const model = buildLpModel(problem);
  const text = lpModelToCplexLp(model);
  const opts: Record<string, string | number | boolean> = { output_flag: false };
  if (options.timeLimitS !== undefined) opts.time_limit = options.timeLimitS;
  if (options.mipGap !== undefined) opts.mip_rel_gap = options.mipGap;
  const result = highs.solve(text, opts);
  const status =
    result.Status === 'Optimal'
      ? 'optimal'
      : result.Status === 'Infeasible'
        ? 'infeasible'
        : result.Status === 'Time limit reached'
          ? 'feasible'
          : 'failed';
  const sessionKw =
    status === 'optimal' || status === 'feasible'
      ? extract(problem, model, (j) => result.Columns[model.colNames[j]]?.Primal ?? 0)
      : new Float64Array(problem.sessionCount * problem.slotCount);
  return {
    ...scheduleCost(problem, sessionKw),
    status,
    sessionKw,
    solverObjective: result.ObjectiveValue + model.objectiveOffset,
    solver: 'highs',
  };
}
