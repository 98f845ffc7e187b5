import type { PlanningProblem } from './planningProblem';

/**
 * Reserve endurance model (see README "Reserve endurance"). An activation in slot t holds a session at one power for
 * E = `reserveEnduranceHours`, starting from any SoC the plan passes through in that slot (between its values at the
 * slot's two boundaries):
 * - up (less import): the session can go down to −min(dMax, X), X = (min(soc_t, soc_t+1) − SoC floor)·ηd / E, so
 *   it backs p + min(dMax, X); a charge-only session backs its charging p;
 * - down (more import): it can go up to min(pMax, Y), Y = (capacity − max(soc_t, soc_t+1)) / (ηc·E), so it backs
 *   min(pMax, Y) − p.
 * A session whose own plan cannot be held for E (discharging faster than its energy above the floor allows, or charging
 * faster than its room below capacity) backs a negative amount: when activated it would hit its limit and move the
 * other way. The site's reserve in slot t is backed up to the sum over the sessions present; the rest is "unbacked"
 * and priced per kWh of activation it would miss (kW × E) at the required-energy penalty, so every solver backs what
 * it can first.
 */
export function reserveActive(problem: PlanningProblem): boolean {
  if (!(problem.reserveEnduranceHours > 0)) return false;
  // All-zero reserve arrays (the engine's default config) cost nothing: skip the O(S·T) backing work.
  for (let t = 0; t < problem.slotCount; t++)
    if ((problem.reserveUpKw?.[t] ?? 0) > 0 || (problem.reserveDownKw?.[t] ?? 0) > 0) return true;
  return false;
}

/**
 * Reserve kW slot t needs backed, up or down; −∞ where none is reserved. Like the LP (no reserve row there), a slot
 * without reserve places no requirement on the plan, not even that it could hold itself for E (negative backing).
 */
export function reserveNeedKw(problem: PlanningProblem, t: number, up: boolean): number {
  const kw = up ? (problem.reserveUpKw?.[t] ?? 0) : (problem.reserveDownKw?.[t] ?? 0);
  return kw > 0 ? kw : Number.NEGATIVE_INFINITY;
}

/** Up and down kW session s backs in slot t at plan p, given its SoC at the slot's start and end (kWh). */
export function sessionBackingKw(
  problem: PlanningProblem,
  s: number,
  p: number,
  socStart: number,
  socEnd: number,
  out: Float64Array,
): void {
  const E = problem.reserveEnduranceHours;
  const dMax = problem.maxDischargeKw[s];
  let lowest = 0;
  if (dMax > 0) {
    const floor = Math.min(problem.socKwh[s], problem.socMinKwh[s]);
    const x = ((Math.min(socStart, socEnd) - floor) * problem.dischargeEfficiency[s]) / E;
    lowest = -Math.min(dMax, x);
  }
  const y = (problem.capacityKwh[s] - Math.max(socStart, socEnd)) / (E * problem.chargeEfficiency[s]);
  out[0] = p - lowest;
  out[1] = Math.min(problem.maxChargeKw[s], y) - p;
}

export interface ReserveBacking {
  /** Per slot: kW the plan backs for the endurance, up and down. */
  upKw: Float64Array;
  downKw: Float64Array;
  /** Σ_t max(0, reserve − backed) × E, kWh of activation the plan cannot sustain. */
  unbackedKwh: number;
}

/** Backing of the site's reserve by a whole schedule (`sessionKw[s * T + t]`). */
export function reserveBacking(problem: PlanningProblem, sessionKw: Float64Array): ReserveBacking {
  const T = problem.slotCount;
  const h = problem.slotHours;
  const upKw = new Float64Array(T);
  const downKw = new Float64Array(T);
  const active = reserveActive(problem);
  const pair = new Float64Array(2);
  if (problem.reserveEnduranceHours > 0)
    for (let s = 0; s < problem.sessionCount; s++) {
      const etaC = problem.chargeEfficiency[s];
      const etaD = problem.dischargeEfficiency[s];
      let soc = problem.socKwh[s];
      for (let t = 0; t < problem.endSlot[s]; t++) {
        const p = sessionKw[s * T + t];
        const next = soc + (p >= 0 ? p * h * etaC : (p * h) / etaD);
        if (t >= problem.firstSlot[s]) {
          sessionBackingKw(problem, s, p, soc, next, pair);
          upKw[t] += pair[0];
          downKw[t] += pair[1];
        }
        soc = next;
      }
    }
  let unbackedKwh = 0;
  if (active)
    for (let t = 0; t < T; t++) {
      unbackedKwh +=
        (Math.max(0, reserveNeedKw(problem, t, true) - upKw[t]) +
          Math.max(0, reserveNeedKw(problem, t, false) - downKw[t])) *
        problem.reserveEnduranceHours;
    }
  return { upKw, downKw, unbackedKwh };
}
