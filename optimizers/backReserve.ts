import { requiredPenaltyPerKwh } from './planningProblem';
import { reserveActive, reserveBacking, reserveNeedKw, sessionBackingKw } from './reserveBacking';
import {
  addKw,
  exportHeadroom,
  importHeadroom,
  journalBegin,
  journalCostDelta,
  journalRollback,
  pairStep,
  type ScheduleState,
  socTrajectory,
} from './scheduleState';

/**
 * Reserve endurance for the fast scheduler (model in `reserveBacking`): where a slot's up or down reserve is not
 * backed, try moves of the sessions present there and keep each one only if the exact cost change (energy, wear,
 * shortfalls and the unbacked reserve over every slot it touches) is negative:
 * - up short in t: raise the session in t (from another of its slots, dearest first, or outright), or raise its SoC
 *   before t (V2G: charge earlier instead of later) so it can discharge more;
 * - down short in t: lower it in t (to another slot, cheapest first, or outright), or lower its SoC around t (charge
 *   later instead of earlier) so it can absorb more.
 * Every move goes through the same feasibility-preserving steps as the rest of the scheduler.
 */
export function backReserve(st: ScheduleState, passes = 2): void {
  const P = st.problem;
  if (!reserveActive(P)) return;
  const T = st.T;
  const backing = reserveBacking(P, st.kw);
  const up = backing.upKw;
  const down = backing.downKw;
  // −∞ where no reserve is held (nothing to back).
  const needUp = (t: number) => reserveNeedKw(P, t, true);
  const needDown = (t: number) => reserveNeedKw(P, t, false);
  const price = requiredPenaltyPerKwh(P) * P.reserveEnduranceHours;
  const beforeUp = new Float64Array(T);
  const beforeDown = new Float64Array(T);
  const afterUp = new Float64Array(T);
  const afterDown = new Float64Array(T);
  const pair = new Float64Array(2);

  const contribution = (s: number, outUp: Float64Array, outDown: Float64Array) => {
    outUp.fill(0);
    outDown.fill(0);
    socTrajectory(st, s);
    for (let t = P.firstSlot[s]; t < P.endSlot[s]; t++) {
      sessionBackingKw(P, s, st.kw[s * T + t], st.socScratch[t], st.socScratch[t + 1], pair);
      outUp[t] = pair[0];
      outDown[t] = pair[1];
    }
  };
  /** Runs `move` on session s journaled; keeps it if the cost incl. the unbacked reserve falls. */
  const tryMove = (s: number, move: () => number): boolean => {
    contribution(s, beforeUp, beforeDown);
    journalBegin(st);
    // Like the LP: no session may leave with less energy than it came with (lowering charge of a V2G session that
    // discharges elsewhere can take it there).
    if (move() <= 1e-12 || st.deliveredKwh[s] < -1e-9) {
      journalRollback(st);
      return false;
    }
    contribution(s, afterUp, afterDown);
    let delta = journalCostDelta(st);
    for (let t = P.firstSlot[s]; t < P.endSlot[s]; t++) {
      const u1 = up[t] - beforeUp[t] + afterUp[t];
      const d1 = down[t] - beforeDown[t] + afterDown[t];
      delta +=
        price *
        (Math.max(0, needUp(t) - u1) -
          Math.max(0, needUp(t) - up[t]) +
          Math.max(0, needDown(t) - d1) -
          Math.max(0, needDown(t) - down[t]));
    }
    if (delta < -1e-9) {
      st.journalOn = false;
      st.journalLen = 0;
      for (let t = P.firstSlot[s]; t < P.endSlot[s]; t++) {
        up[t] += afterUp[t] - beforeUp[t];
        down[t] += afterDown[t] - beforeDown[t];
      }
      return true;
    }
    journalRollback(st);
    return false;
  };

  const order = st.slotOrder;
  for (let pass = 0; pass < passes; pass++) {
    let moved = 0;
    for (let t = 0; t < T; t++) {
      for (let s = 0; s < st.S; s++) {
        if (t < P.firstSlot[s] || t >= P.endSlot[s]) continue;
        const first = P.firstSlot[s];
        const end = P.endSlot[s];
        // Up: raise s in t.
        for (let i = T - 1; i >= 0 && needUp(t) - up[t] > 1e-9; i--) {
          const u = order[i];
          if (u === t || u < first || u >= end || st.kw[s * T + u] <= 1e-9) continue;
          if (tryMove(s, () => pairStep(st, s, u, t, needUp(t) - up[t]))) moved++;
        }
        if (needUp(t) - up[t] > 1e-9) {
          const want = Math.min(
            needUp(t) - up[t],
            P.maxChargeKw[s] - st.kw[s * T + t],
            importHeadroom(st, s, t),
            energyRoomKw(st, s, t),
          );
          if (want > 1e-9 && (P.minChargeKw[s] <= 0 || st.kw[s * T + t] + want >= P.minChargeKw[s]))
            if (
              tryMove(s, () => {
                addKw(st, s, t, want);
                return want;
              })
            )
              moved++;
        }
        // Up, V2G: more SoC at t (charge before t instead of after it).
        if (P.maxDischargeKw[s] > 0 && needUp(t) - up[t] > 1e-9)
          for (let i = 0; i < T; i++) {
            const b = order[i];
            if (b >= t || b < first) continue;
            for (let j = T - 1; j >= 0; j--) {
              const a = order[j];
              if (a <= t || a >= end || st.kw[s * T + a] <= -P.maxDischargeKw[s] + 1e-9) continue;
              if (tryMove(s, () => pairStep(st, s, a, b, P.maxDischargeKw[s]))) moved++;
              break;
            }
            break;
          }
        // Down: lower s in t.
        for (let i = 0; i < T && needDown(t) - down[t] > 1e-9; i++) {
          const u = order[i];
          if (u === t || u < first || u >= end) continue;
          if (tryMove(s, () => pairStep(st, s, t, u, needDown(t) - down[t]))) moved++;
        }
        if (needDown(t) - down[t] > 1e-9 && st.kw[s * T + t] > 1e-9) {
          const p = st.kw[s * T + t];
          let x = Math.min(p, needDown(t) - down[t], exportHeadroom(st, s, t), socSpareKw(st, s, t));
          if (P.minChargeKw[s] > 0 && p - x > 1e-9 && p - x < P.minChargeKw[s]) x = p;
          if (
            tryMove(s, () => {
              addKw(st, s, t, -x);
              return x;
            })
          )
            moved++;
        }
        // Down: less SoC around t (charge after t instead of before it).
        if (needDown(t) - down[t] > 1e-9)
          for (let i = T - 1; i >= 0; i--) {
            const a = order[i];
            if (a >= t || a < first || st.kw[s * T + a] <= 1e-9) continue;
            for (let j = 0; j < T; j++) {
              const b = order[j];
              if (b <= t || b >= end) continue;
              if (tryMove(s, () => pairStep(st, s, a, b, st.kw[s * T + a]))) moved++;
              break;
            }
            break;
          }
      }
    }
    if (moved === 0) break;
  }
  st.journalOn = false;
  st.journalLen = 0;
}

/** kW session s can add in slot t without passing its energy maximum or (from t on) its capacity. */
function energyRoomKw(st: ScheduleState, s: number, t: number): number {
  const P = st.problem;
  const h = st.h;
  socTrajectory(st, s);
  let hi = Number.NEGATIVE_INFINITY;
  for (let k = t + 1; k <= st.T; k++) if (st.socScratch[k] > hi) hi = st.socScratch[k];
  const roomKwh = Math.min(P.capacityKwh[s] - hi, P.energyMaxKwh[s] - st.deliveredKwh[s]);
  const p = st.kw[s * st.T + t];
  // Charging rate from p ≥ 0; from discharge, the first kW only cancel discharge (rate 1/ηd).
  const rate = p >= 0 ? h * P.chargeEfficiency[s] : h / P.dischargeEfficiency[s];
  return Math.max(0, roomKwh / rate);
}

/** kW of charging session s can drop in slot t before its SoC (from t on) falls below its floor (∞ charge-only). */
function socSpareKw(st: ScheduleState, s: number, t: number): number {
  const P = st.problem;
  if (P.maxDischargeKw[s] <= 0) return Number.POSITIVE_INFINITY;
  socTrajectory(st, s);
  let lo = Number.POSITIVE_INFINITY;
  for (let k = t + 1; k <= st.T; k++) if (st.socScratch[k] < lo) lo = st.socScratch[k];
  const spare = lo - Math.min(P.socKwh[s], P.socMinKwh[s]);
  return Math.max(0, spare / (st.h * P.chargeEfficiency[s]));
}
