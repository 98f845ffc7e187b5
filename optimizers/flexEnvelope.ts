import { effectiveNodeLimits, type PlanningProblem } from './planningProblem';
import { reserveBacking } from './reserveBacking';

/** Per node and slot (`[n * T + t]`): the planned flow and the feasible range around it, kW. */
export interface FlexEnvelope {
  nodeIds: string[];
  slotStartMs: number;
  slotMinutes: number;
  slotCount: number;
  plannedKw: Float64Array;
  minKw: Float64Array;
  maxKw: Float64Array;
  /** Site reserve kept free by the plan, per slot (0 where none). */
  reservedUpKw: Float64Array;
  reservedDownKw: Float64Array;
  /** Per slot: site kW the plan's EVs can sustain for `reserveEnduranceHours` (see `reserveBacking`); 0 without an
   *  endurance. Compare with the reserved kW: the gap is reserve the fleet cannot back. */
  reserveBackedUpKw: Float64Array;
  reserveBackedDownKw: Float64Array;
  reserveEnduranceHours: number;
}

/**
 * The range each node's power can take in one slot when only that slot deviates from the plan (IEC 63110-1 8.2.5):
 * each session can go up to its max charge power (bounded by SoC headroom and its energy maximum for the rest of the
 * plan) and down to its max discharge, or 0 (bounded by the SoC reserve and by the energy it must still get: it
 * never gives up required energy). Sums go up the tree clipped by every node's limits, then each node is clipped by
 * its ancestors' headroom. Deviations in several slots at once are not additive (energy is shared) — that is what
 * the per-slot framing means. The reserve the plan backs for the endurance is reported per slot beside it.
 */
export function flexEnvelope(problem: PlanningProblem, sessionKw: Float64Array): FlexEnvelope {
  const S = problem.sessionCount;
  const T = problem.slotCount;
  const N = problem.nodeCount;
  const h = problem.slotHours;
  const { importKw, exportKw } = effectiveNodeLimits(problem);
  const plannedKw = new Float64Array(N * T);
  const upKw = new Float64Array(N * T);
  const downKw = new Float64Array(N * T);
  const soc = new Float64Array(T + 1);
  const maxAfter = new Float64Array(T + 1);
  const minAfter = new Float64Array(T + 1);
  for (let s = 0; s < S; s++) {
    const etaC = problem.chargeEfficiency[s];
    const etaD = problem.dischargeEfficiency[s];
    soc[0] = problem.socKwh[s];
    for (let t = 0; t < T; t++) {
      const p = sessionKw[s * T + t];
      soc[t + 1] = soc[t] + (p >= 0 ? p * h * etaC : (p * h) / etaD);
    }
    maxAfter[T] = soc[T];
    minAfter[T] = soc[T];
    for (let t = T - 1; t >= 0; t--) {
      maxAfter[t] = Math.max(soc[t + 1], maxAfter[t + 1]);
      minAfter[t] = Math.min(soc[t + 1], minAfter[t + 1]);
    }
    const delivered = soc[T] - problem.socKwh[s];
    const slots = Math.max(0, problem.endSlot[s] - problem.firstSlot[s]);
    const required = Math.min(
      problem.energyMinKwh[s],
      Math.min(slots * problem.maxChargeKw[s] * h * etaC, problem.energyMaxKwh[s]),
    );
    const energyRoomUp = Math.max(
      0,
      Math.min(problem.capacityKwh[s] - maxAfter[0], problem.energyMaxKwh[s] - delivered),
    );
    const energyRoomDown = Math.max(0, delivered - required);
    const socFloor = Math.min(problem.socKwh[s], problem.socMinKwh[s]);
    for (let t = problem.firstSlot[s]; t < problem.endSlot[s]; t++) {
      const p = sessionKw[s * T + t];
      const roomUpKwh = Math.max(0, Math.min(problem.capacityKwh[s] - maxAfter[t], energyRoomUp));
      const roomDownKwh = Math.max(0, Math.min(minAfter[t] - socFloor, energyRoomDown));
      // Up: first from discharge back to 0 (1/ηd per kW·h), then charging (ηc per kW·h).
      let up = 0;
      let budget = roomUpKwh;
      if (p < 0) {
        const x = Math.min(-p, (budget * etaD) / h);
        up += x;
        budget -= (x * h) / etaD;
      }
      if (budget > 0) up += Math.min(problem.maxChargeKw[s] - Math.max(p, 0), budget / (h * etaC));
      let down = 0;
      budget = roomDownKwh;
      if (p > 0) {
        const x = Math.min(p, budget / (h * etaC));
        down += x;
        budget -= x * h * etaC;
      }
      if (budget > 0 && problem.maxDischargeKw[s] > 0)
        down += Math.min(problem.maxDischargeKw[s] + Math.min(p, 0), (budget * etaD) / h);
      const leaf = problem.sessionNode[s];
      upKw[leaf * T + t] += up;
      downKw[leaf * T + t] += down;
      for (let n = leaf; n >= 0; n = problem.nodeParent[n]) plannedKw[n * T + t] += p;
    }
  }
  // Bottom-up (children have higher indices than parents): clip by the node's own limits, add to the parent.
  for (let n = N - 1; n >= 0; n--) {
    const parent = problem.nodeParent[n];
    for (let t = 0; t < T; t++) {
      const k = n * T + t;
      upKw[k] = Math.min(upKw[k], Math.max(0, importKw[k] - plannedKw[k]));
      downKw[k] = Math.min(downKw[k], Math.max(0, plannedKw[k] + exportKw[k]));
      if (parent >= 0) {
        upKw[parent * T + t] += upKw[k];
        downKw[parent * T + t] += downKw[k];
      }
    }
  }
  // Top-down: no node can use more than its ancestors leave.
  const minKw = new Float64Array(N * T);
  const maxKw = new Float64Array(N * T);
  for (let n = 0; n < N; n++) {
    const parent = problem.nodeParent[n];
    for (let t = 0; t < T; t++) {
      const k = n * T + t;
      let up = upKw[k];
      let down = downKw[k];
      if (parent >= 0) {
        const pk = parent * T + t;
        up = Math.min(up, maxKw[pk] - plannedKw[pk]);
        down = Math.min(down, plannedKw[pk] - minKw[pk]);
      }
      maxKw[k] = plannedKw[k] + Math.max(0, up);
      minKw[k] = plannedKw[k] - Math.max(0, down);
    }
  }
  const backing = reserveBacking(problem, sessionKw);
  return {
    nodeIds: problem.nodeIds,
    slotStartMs: problem.slotStartMs,
    slotMinutes: problem.slotMinutes,
    slotCount: T,
    plannedKw,
    minKw,
    maxKw,
    reservedUpKw: problem.reserveUpKw ? problem.reserveUpKw.slice() : new Float64Array(T),
    reservedDownKw: problem.reserveDownKw ? problem.reserveDownKw.slice() : new Float64Array(T),
    reserveBackedUpKw: backing.upKw,
    reserveBackedDownKw: backing.downKw,
    reserveEnduranceHours: problem.reserveEnduranceHours,
  };
}
