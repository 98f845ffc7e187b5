import { checkFeasibility } from './checkFeasibility';
import type { PlanningProblem } from './planningProblem';
import { scheduleCost } from './scheduleCost';
import { addKw, type ScheduleState } from './scheduleState';

/**
 * Exhaustive small moves for small reserve sites: in every slot t, every session r hands power to every other one s
 * present, or moves alone (r or s "nobody": up or down), optionally taking it back in another slot u of its window
 * (its energy about kept) — all of what they can move, half, a quarter — each checked by `checkFeasibility` and kept
 * only if the exact cost, unbacked reserve and unmet minima included, falls. Backing couples the sessions of a slot
 * (Σ p + min(dMax, X(SoC)) and its down twin), so a V2G session charging where another one would have, to back later
 * slots' up-reserve by its SoC, is one move here and three pushes for the negative-cycle phase.
 * O(S² · T² · S·T) per pass, so capped at `maxEvaluations` cost evaluations. Returns the cost saved.
 */
export function slotExchanges(st: ScheduleState, passes: number, maxEvaluations: number): number {
  const P = st.problem;
  const S = st.S;
  const T = st.T;
  let cost = scheduleCost(P, st.kw).costTotal;
  const start = cost;
  let left = maxEvaluations;
  for (let pass = 0; pass < passes && left > 0; pass++) {
    let improved = false;
    for (let t = 0; t < T && left > 0; t++) {
      for (let r = -1; r < S; r++) {
        if (r >= 0 && (t < P.firstSlot[r] || t >= P.endSlot[r])) continue;
        for (let s = -1; s < S; s++) {
          if (s === r || (s >= 0 && (t < P.firstSlot[s] || t >= P.endSlot[s]))) continue;
          // r lowers (−1: nobody), s raises (−1: nobody) by the same kW.
          const down = r >= 0 ? st.kw[r * T + t] + P.maxDischargeKw[r] : Number.POSITIVE_INFINITY;
          const up = s >= 0 ? P.maxChargeKw[s] - st.kw[s * T + t] : Number.POSITIVE_INFINITY;
          const most = Math.min(down, up);
          if (!(most > 1e-6) || most === Number.POSITIVE_INFINITY) continue;
          // u = T: r alone; else r takes the power back in slot u (its energy about kept).
          for (let u = T; u >= 0; u--) {
            if (u < T && (r < 0 || u === t || u < P.firstSlot[r] || u >= P.endSlot[r])) continue;
            const back = u < T ? P.maxChargeKw[r] - st.kw[r * T + u] : Number.POSITIVE_INFINITY;
            const m = Math.min(most, back);
            if (!(m > 1e-6)) continue;
            for (let k = 0; k < 3; k++) {
              const d = m / (1 << k);
              if (r >= 0) addKw(st, r, t, -d);
              if (s >= 0) addKw(st, s, t, d);
              if (u < T) addKw(st, r, u, d);
              left--;
              const c = scheduleCost(P, st.kw).costTotal;
              if (c < cost - 1e-9 * Math.max(1, Math.abs(cost)) && !hardViolations(P, st.kw)) {
                cost = c;
                improved = true;
                break;
              }
              if (u < T) addKw(st, r, u, -d);
              if (s >= 0) addKw(st, s, t, -d);
              if (r >= 0) addKw(st, r, t, d);
            }
          }
        }
      }
    }
    if (!improved) break;
  }
  return start - cost;
}

function hardViolations(problem: PlanningProblem, kw: Float64Array): boolean {
  for (const v of checkFeasibility(problem, kw))
    if (v.kind !== 'energyBelowMin' && v.kind !== 'reserveUpUnbacked' && v.kind !== 'reserveDownUnbacked')
      return true;
  return false;
}
