import type { PlanningProblem } from './planningProblem';

/**
 * Expected battery energy per session at every slot boundary, kWh, `[s * (T + 1) + k]` where k = 0 is the start of
 * slot 0 and k = T the end of the horizon; same battery model as the solvers. SoC % = energy / capacity × 100.
 */
export function socTrajectories(problem: PlanningProblem, sessionKw: Float64Array): Float64Array {
  const S = problem.sessionCount;
  const T = problem.slotCount;
  const h = problem.slotHours;
  const out = new Float64Array(S * (T + 1));
  for (let s = 0; s < S; s++) {
    const etaC = problem.chargeEfficiency[s];
    const etaD = problem.dischargeEfficiency[s];
    let soc = problem.socKwh[s];
    out[s * (T + 1)] = soc;
    for (let t = 0; t < T; t++) {
      const p = sessionKw[s * T + t];
      soc += p >= 0 ? p * h * etaC : (p * h) / etaD;
      out[s * (T + 1) + t + 1] = soc;
    }
  }
  return out;
}
