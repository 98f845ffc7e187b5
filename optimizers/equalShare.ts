import { effectiveNodeLimits, type PlanningProblem } from './planningProblem';

/**
 * Safe placeholder policy for one slot, used when a solve fails or overruns: every session present in `slot` asks
 * for what it still needs (`remainingKwh[s]`, default its energy target) at up to its max charge power; every node
 * whose demand exceeds its import limit scales its sessions down by the same ratio (nested ratios multiply down the
 * tree). Returns kW per session (never negative: no discharge in fallback). Every node limit holds by construction:
 * a node's flow is at most its demand × its own ratio ≤ its limit. Sessions that would land below their AC floor get 0.
 */
export function equalShareSetpoints(
  problem: PlanningProblem,
  slot: number,
  remainingKwh?: ArrayLike<number>,
): Float64Array {
  const S = problem.sessionCount;
  const T = problem.slotCount;
  const N = problem.nodeCount;
  const out = new Float64Array(S);
  if (slot < 0 || slot >= T) return out;
  const { importKw } = effectiveNodeLimits(problem);
  const demand = new Float64Array(N);
  for (let s = 0; s < S; s++) {
    if (slot < problem.firstSlot[s] || slot >= problem.endSlot[s]) continue;
    const need = remainingKwh ? remainingKwh[s] : problem.energyTargetKwh[s];
    const kw = Math.max(
      0,
      Math.min(problem.maxChargeKw[s], need / (problem.slotHours * problem.chargeEfficiency[s])),
    );
    out[s] = kw;
    for (let n = problem.sessionNode[s]; n >= 0; n = problem.nodeParent[n]) demand[n] += kw;
  }
  // Parents precede children, so one pass computes each node's ratio times its ancestors'.
  const ratio = new Float64Array(N);
  for (let n = 0; n < N; n++) {
    const own = demand[n] > importKw[n * T + slot] ? importKw[n * T + slot] / demand[n] : 1;
    const parent = problem.nodeParent[n];
    ratio[n] = parent >= 0 ? Math.min(own, ratio[parent]) : own;
  }
  for (let s = 0; s < S; s++) {
    if (out[s] === 0) continue;
    // The smallest ratio on the path bounds every node on it: flow_n ≤ Σ demand × ratio_n ≤ limit_n.
    const kw = out[s] * ratio[problem.sessionNode[s]] * (1 - 1e-12);
    out[s] = kw < problem.minChargeKw[s] ? 0 : kw;
  }
  return out;
}
