import type { PlanningProblem } from './planningProblem';

export type ViolationKind =
  | 'outsideWindow'
  | 'chargeAboveMax'
  | 'dischargeAboveMax'
  | 'belowChargeFloor'
  | 'nodeImport'
  | 'nodeExport'
  | 'socAboveCapacity'
  | 'socBelowReserve'
  | 'energyAboveMax'
  | 'energyBelowMin'
  | 'energyBelowArrival'
  | 'reserveUpUnbacked'
  | 'reserveDownUnbacked'
  | 'notFinite';

/** One broken hard constraint; `amountKw` / `amountKwh` says by how much. */
export interface Violation {
  kind: ViolationKind;
  nodeId?: string;
  sessionId?: string;
  slot?: number;
  amount: number;
}

export interface CheckOptions {
  /** Absolute tolerance for kW and kWh comparisons; default 1e-6 (relative to magnitude as well). */
  tolerance?: number;
  /** Report at most this many violations; default 1000. */
  maxViolations?: number;
}

/**
 * Independent feasibility check of a schedule (`sessionKw[s * T + t]`, kW). It recomputes node flows from the
 * leaves and SoC trajectories from scratch and shares no code with the solvers, so a solver bug cannot hide here.
 * The root's limits are net of the site load and reserved capacity, clamped at 0 (a non-EV load above the limit is
 * not the schedule's violation). The energy minimum is checked against what the session could reach on its own;
 * independently of it, no session may leave with less energy than it arrived with (`energyBelowArrival`: the LP's
 * delivered ≥ 0 row, which holds even where a minimum is jointly unreachable, so tests never filter it out).
 * Reserve endurance (README "Reserve endurance"): per slot, the reserve kW the sessions cannot sustain for
 * `reserveEnduranceHours` from their planned power and SoC. Like a jointly unreachable minimum, a reserve larger than
 * the fleet present can back is reported too, so tests compare these kinds against the exact solver.
 */
export function checkFeasibility(
  problem: PlanningProblem,
  sessionKw: Float64Array,
  options: CheckOptions = {},
): Violation[] {
  const tol = options.tolerance ?? 1e-6;
  const max = options.maxViolations ?? 1000;
  const S = problem.sessionCount;
  const T = problem.slotCount;
  const N = problem.nodeCount;
  const h = problem.slotHours;
  const out: Violation[] = [];
  const over = (amount: number, scale: number) => amount > tol * Math.max(1, Math.abs(scale));
  const push = (v: Violation) => {
    if (out.length < max) out.push(v);
  };
  if (sessionKw.length !== S * T) {
    push({ kind: 'notFinite', amount: sessionKw.length });
    return out;
  }

  const flow = new Float64Array(N * T);
  const E = problem.reserveEnduranceHours;
  const checkReserve = E > 0 && (problem.reserveUpKw !== null || problem.reserveDownKw !== null);
  const backedUp = new Float64Array(T);
  const backedDown = new Float64Array(T);
  for (let s = 0; s < S; s++) {
    const sessionId = problem.sessionIds[s];
    const etaC = problem.chargeEfficiency[s];
    const etaD = problem.dischargeEfficiency[s];
    const floor = problem.minChargeKw[s];
    const socLow = Math.min(problem.socKwh[s], problem.socMinKwh[s]);
    let soc = problem.socKwh[s];
    let socLowSeen = soc;
    let socHighSeen = soc;
    let worstLowSlot = -1;
    let worstHighSlot = -1;
    for (let t = 0; t < T; t++) {
      const p = sessionKw[s * T + t];
      if (!Number.isFinite(p)) {
        push({ kind: 'notFinite', sessionId, slot: t, amount: Number.NaN });
        continue;
      }
      const socBefore = soc;
      if (checkReserve && t >= problem.firstSlot[s] && t < problem.endSlot[s]) {
        // What this EV can add to each direction for E hours, from the SoC at both ends of the slot.
        const after = soc + (p > 0 ? p * h * etaC : (p * h) / etaD);
        const lowKwh = Math.min(socBefore, after) - socLow;
        const roomKwh = problem.capacityKwh[s] - Math.max(socBefore, after);
        const dMax = problem.maxDischargeKw[s];
        // Held for E: down to −min(dMax, energy above the floor), up to min(pMax, room below capacity).
        backedUp[t] += p + (dMax > 0 ? Math.min(dMax, (lowKwh * etaD) / E) : 0);
        backedDown[t] += Math.min(problem.maxChargeKw[s], roomKwh / (E * etaC)) - p;
      }
      if (p === 0) continue;
      if (t < problem.firstSlot[s] || t >= problem.endSlot[s])
        push({ kind: 'outsideWindow', sessionId, slot: t, amount: Math.abs(p) });
      if (over(p - problem.maxChargeKw[s], p))
        push({ kind: 'chargeAboveMax', sessionId, slot: t, amount: p - problem.maxChargeKw[s] });
      if (over(-p - problem.maxDischargeKw[s], p))
        push({ kind: 'dischargeAboveMax', sessionId, slot: t, amount: -p - problem.maxDischargeKw[s] });
      if (p > tol && floor > 0 && over(floor - p, floor))
        push({ kind: 'belowChargeFloor', sessionId, slot: t, amount: floor - p });
      soc += p > 0 ? p * h * etaC : (p * h) / etaD;
      if (soc < socLowSeen) {
        socLowSeen = soc;
        worstLowSlot = t;
      }
      if (soc > socHighSeen) {
        socHighSeen = soc;
        worstHighSlot = t;
      }
      // Walk from the EVSE to the root.
      for (let n = problem.sessionNode[s]; n >= 0; n = problem.nodeParent[n]) flow[n * T + t] += p;
    }
    if (over(socHighSeen - problem.capacityKwh[s], problem.capacityKwh[s]))
      push({
        kind: 'socAboveCapacity',
        sessionId,
        slot: worstHighSlot,
        amount: socHighSeen - problem.capacityKwh[s],
      });
    if (over(socLow - socLowSeen, problem.capacityKwh[s]))
      push({ kind: 'socBelowReserve', sessionId, slot: worstLowSlot, amount: socLow - socLowSeen });
    const delivered = soc - problem.socKwh[s];
    if (over(delivered - problem.energyMaxKwh[s], problem.energyMaxKwh[s]))
      push({ kind: 'energyAboveMax', sessionId, amount: delivered - problem.energyMaxKwh[s] });
    if (over(-delivered, problem.socKwh[s]))
      push({ kind: 'energyBelowArrival', sessionId, amount: -delivered });
    const slots = Math.max(0, problem.endSlot[s] - problem.firstSlot[s]);
    const reachable = Math.min(slots * problem.maxChargeKw[s] * h * etaC, problem.energyMaxKwh[s]);
    const required = Math.min(problem.energyMinKwh[s], reachable);
    if (over(required - delivered, required))
      push({ kind: 'energyBelowMin', sessionId, amount: required - delivered });
  }

  if (checkReserve)
    for (let t = 0; t < T; t++) {
      // A slot without reserve needs nothing backed (as in the LP: no reserve row there).
      const needUp = problem.reserveUpKw ? problem.reserveUpKw[t] : 0;
      const needDown = problem.reserveDownKw ? problem.reserveDownKw[t] : 0;
      const up = needUp > 0 ? needUp - backedUp[t] : 0;
      const down = needDown > 0 ? needDown - backedDown[t] : 0;
      if (over(up, backedUp[t])) push({ kind: 'reserveUpUnbacked', slot: t, amount: up });
      if (over(down, backedDown[t])) push({ kind: 'reserveDownUnbacked', slot: t, amount: down });
    }

  for (let n = 0; n < N; n++) {
    const nodeId = problem.nodeIds[n];
    for (let t = 0; t < T; t++) {
      let importLimit = problem.nodeImportKw[n * T + t];
      let exportLimit = problem.nodeExportKw[n * T + t];
      if (problem.nodeParent[n] < 0) {
        const load = problem.siteLoadKw ? problem.siteLoadKw[t] : 0;
        importLimit = Math.max(
          0,
          importLimit - load - (problem.reserveDownKw ? problem.reserveDownKw[t] : 0),
        );
        exportLimit = Math.max(0, exportLimit + load - (problem.reserveUpKw ? problem.reserveUpKw[t] : 0));
      }
      const f = flow[n * T + t];
      if (over(f - importLimit, importLimit))
        push({ kind: 'nodeImport', nodeId, slot: t, amount: f - importLimit });
      if (over(-f - exportLimit, exportLimit))
        push({ kind: 'nodeExport', nodeId, slot: t, amount: -f - exportLimit });
    }
  }
  return out;
}
