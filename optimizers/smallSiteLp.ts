import { checkFeasibility } from './checkFeasibility';
import { denseSimplex } from './denseSimplex';
import { buildLpModel } from './lpModel';
import type { PlanningProblem } from './planningProblem';

export interface SmallSiteLpOptions {
  /** Largest rows + columns of the exact model it solves; default 1,000. */
  maxModelSize?: number;
  /** Re-solves with a charge or discharge column fixed at 0 where the LP used both in one slot; default 3. */
  complementarityRounds?: number;
  /** Cap on simplex work per solve, in tableau entries touched (`denseSimplex`'s maxWork); default 10⁸ (≤ ~70 ms
   *  measured on 8 sessions × 16 slots, most tiny sites take 1–5 ms). */
  maxWork?: number;
}

export interface SmallSiteLpResult {
  sessionKw: Float64Array;
  /** The LP optimum (objective offset included): a lower bound on the cost of every schedule (the schedule reaches
   *  it unless the LP had to be restricted to a net charge or discharge per slot). */
  objective: number;
}

/**
 * The exact LP (`buildLpModel`, the model the references solve) of a tiny site, solved by `denseSimplex`, as a
 * schedule: per session and slot charge − discharge, solver noise snapped (|p| < 1e-9 → 0, power bounds clamped).
 * Tiny sites only (a dense tableau of rows × (rows + columns)); the work is capped. Null when the model is too big,
 * has binaries (AC floor: a MILP), the simplex does not reach the optimum within its work cap, or the schedule breaks a hard constraint in `checkFeasibility` (only a jointly unreachable minimum and
 * unbacked reserve are allowed: both are priced in the cost). The caller keeps it only if its exact cost is lower.
 */
export function smallSiteLp(
  problem: PlanningProblem,
  options: SmallSiteLpOptions = {},
): SmallSiteLpResult | null {
  const model = buildLpModel(problem);
  const n = model.colCost.length;
  const m = model.rows.length;
  if (n + m > (options.maxModelSize ?? 1_000)) return null;
  for (let j = 0; j < n; j++) if (model.binary[j]) return null;
  const maxWork = options.maxWork ?? 100_000_000;
  const S = problem.sessionCount;
  const T = problem.slotCount;
  let objective = Number.NaN;
  // The LP may charge and discharge one session in one slot at once (burning energy in the losses, e.g. to back a
  // reserve through the SoC), which a net schedule cannot. Then the smaller side of each such pair is fixed at 0 and
  // the LP solved again (a restriction: its optimum is no longer a lower bound), up to `complementarityRounds` times.
  for (let round = 0; round <= (options.complementarityRounds ?? 3); round++) {
    const result = denseSimplex(model, { maxWork });
    if (result.status !== 'optimal') return null;
    if (round === 0) objective = result.objective + model.objectiveOffset;
    let both = false;
    for (let k = 0; k < S * T; k++) {
      const c = model.chargeCol[k];
      const d = model.dischargeCol[k];
      if (c < 0 || d < 0 || result.x[c] <= 1e-9 || result.x[d] <= 1e-9) continue;
      both = true;
      if (result.x[c] >= result.x[d]) model.colHi[d] = 0;
      else model.colHi[c] = 0;
    }
    if (both) continue;
    const kw = new Float64Array(S * T);
    for (let s = 0; s < S; s++)
      for (let t = problem.firstSlot[s]; t < problem.endSlot[s]; t++) {
        const k = s * T + t;
        let p = 0;
        if (model.chargeCol[k] >= 0) p += result.x[model.chargeCol[k]];
        if (model.dischargeCol[k] >= 0) p -= result.x[model.dischargeCol[k]];
        if (Math.abs(p) < 1e-9) p = 0;
        kw[k] = Math.min(problem.maxChargeKw[s], Math.max(-problem.maxDischargeKw[s], p));
      }
    for (const v of checkFeasibility(problem, kw))
      if (v.kind !== 'energyBelowMin' && v.kind !== 'reserveUpUnbacked' && v.kind !== 'reserveDownUnbacked')
        return null;
    return { sessionKw: kw, objective };
  }
  return null;
}
