import { backReserve } from './backReserve';
import type { PlanningProblem } from './planningProblem';
import {
  addKw,
  createScheduleState,
  fillSession,
  freeImportAtNode,
  improveSession,
  repairRequired,
  rescueShortfall,
  type ScheduleState,
} from './scheduleState';

/** The parts of a previous plan re-planning needs. */
export interface PreviousSchedule {
  sessionKw: Float64Array;
  slotStartMs: number;
  slotMinutes: number;
  sessionIds: string[];
}

export interface ReplanResult {
  state: ScheduleState;
  /** Sessions new or changed since the previous plan (re-filled and improved). */
  touchedSessions: number;
}

/**
 * Incremental re-planning after one event (arrival, departure, new limit, new SoC): start from the previous plan
 * shifted to the new slot grid, cut whatever no longer fits (windows, power bounds, floors, SoC, energy maximum,
 * node limits — limits win over energy), then re-fill and improve only the sessions that lost energy or are new.
 * Cost O(S·T) for the copy plus the work on touched sessions; no global greedy.
 * The new grid may start anywhere at or after the previous one: a receding grid (the engine's MPC starts slot 0 at
 * `now`) moves by a fraction of a slot between decisions, and slot t then takes the time-weighted mean of the two
 * previous slots it overlaps. Returns null when the previous plan cannot be mapped (different slot length, or a
 * grid that starts earlier).
 */
export function replan(problem: PlanningProblem, previous: PreviousSchedule): ReplanResult | null {
  if (previous.slotMinutes !== problem.slotMinutes) return null;
  const slotMs = problem.slotMinutes * 60_000;
  const shift = (problem.slotStartMs - previous.slotStartMs) / slotMs;
  if (!(shift >= 0)) return null;
  // Whole slots and the fraction: new slot t covers (1 − frac) of previous slot t + whole and frac of the next.
  const whole = Math.floor(shift);
  const frac = shift - whole < 1e-9 ? 0 : shift - whole;
  const prevS = previous.sessionIds.length;
  if (prevS === 0) return null;
  const prevT = previous.sessionKw.length / prevS;
  const st = createScheduleState(problem);
  const T = st.T;
  const S = st.S;
  const prevIndex = new Map<string, number>();
  previous.sessionIds.forEach((id, i) => {
    prevIndex.set(id, i);
  });
  const touched = new Uint8Array(S);
  const kw = st.kw;

  const h = st.h;
  for (let s = 0; s < S; s++) {
    const j = prevIndex.get(problem.sessionIds[s]);
    if (j === undefined) {
      touched[s] = 1;
      continue;
    }
    const pMax = problem.maxChargeKw[s];
    const dMax = problem.maxDischargeKw[s];
    const floor = problem.minChargeKw[s];
    const etaC = problem.chargeEfficiency[s];
    const etaD = problem.dischargeEfficiency[s];
    const low = Math.min(problem.socKwh[s], problem.socMinKwh[s]) - 1e-9;
    const high = problem.capacityKwh[s] + 1e-9;
    let soc = problem.socKwh[s];
    let socOk = true;
    let clipped = false;
    for (let t = problem.firstSlot[s]; t < problem.endSlot[s]; t++) {
      const src = t + whole;
      if (src >= prevT || (frac > 0 && src + 1 >= prevT)) {
        clipped = true;
        continue;
      }
      const old =
        frac > 0
          ? (1 - frac) * previous.sessionKw[j * prevT + src] + frac * previous.sessionKw[j * prevT + src + 1]
          : previous.sessionKw[j * prevT + src];
      let p = old;
      if (p > pMax) p = pMax;
      if (p < -dMax) p = -dMax;
      if (p > 0 && p < floor) p = 0;
      if (p !== old) clipped = true;
      kw[s * T + t] = p;
      soc += p >= 0 ? p * h * etaC : (p * h) / etaD;
      if (soc < low || soc > high) socOk = false;
    }
    if (clipped) touched[s] = 1;
    if (!socOk || soc - problem.socKwh[s] > problem.energyMaxKwh[s] + 1e-9) {
      touched[s] = 1;
      trimToEnergyMax(st, s);
      if (!socWithinBounds(st, s)) {
        // Drop this session's discharge; if still out of bounds (capacity), drop it entirely and re-fill.
        for (let t = 0; t < T; t++) if (kw[s * T + t] < 0) kw[s * T + t] = 0;
        if (!socWithinBounds(st, s)) kw.fill(0, s * T, (s + 1) * T);
      }
    }
  }
  // Flows and delivered energy from scratch.
  const parent = problem.nodeParent;
  for (let s = 0; s < S; s++) {
    const etaC = problem.chargeEfficiency[s];
    const etaD = problem.dischargeEfficiency[s];
    let e = 0;
    const leaf = problem.sessionNode[s];
    for (let t = problem.firstSlot[s]; t < problem.endSlot[s]; t++) {
      const p = kw[s * T + t];
      if (p === 0) continue;
      e += p >= 0 ? p * h * etaC : (p * h) / etaD;
      for (let n = leaf; n >= 0; n = parent[n]) st.flowKw[n * T + t] += p;
    }
    st.deliveredKwh[s] = e;
  }
  enforceNodeLimits(st, touched);

  const penalty = problem.shortfallPenaltyPerKwh;
  for (let s = 0; s < S; s++) {
    if (touched[s] === 0) {
      // Untouched but short (e.g. a limit was raised): a cheap top-up; only if it moved does it count as touched.
      if (st.deliveredKwh[s] >= problem.energyTargetKwh[s] - 1e-6) continue;
      const before = st.deliveredKwh[s];
      fillSession(st, s, problem.energyTargetKwh[s], penalty);
      if (st.deliveredKwh[s] > before + 1e-6) touched[s] = 1;
      continue;
    }
    if (st.deliveredKwh[s] < st.requiredKwh[s] - 1e-9) repairRequired(st, s);
    fillSession(st, s, problem.energyTargetKwh[s], penalty);
  }
  let count = 0;
  for (let s = 0; s < S; s++) {
    if (touched[s] === 0) continue;
    count++;
    if (st.deliveredKwh[s] < problem.energyTargetKwh[s] - 1e-6) rescueShortfall(st, s, 32);
    improveSession(st, s, 8 * T);
  }
  // Reserve endurance over the whole site (a no-op without a reserve): arrivals and cuts change the backing.
  backReserve(st, 1);
  return { state: st, touchedSessions: count };
}

function socWithinBounds(st: ScheduleState, s: number): boolean {
  const P = st.problem;
  const T = st.T;
  const h = st.h;
  const low = Math.min(P.socKwh[s], P.socMinKwh[s]) - 1e-9;
  const high = P.capacityKwh[s] + 1e-9;
  let soc = P.socKwh[s];
  let delivered = 0;
  for (let t = 0; t < T; t++) {
    const p = st.kw[s * T + t];
    const de = p >= 0 ? p * h * P.chargeEfficiency[s] : (p * h) / P.dischargeEfficiency[s];
    soc += de;
    delivered += de;
    if (soc < low || soc > high) return false;
  }
  return delivered <= P.energyMaxKwh[s] + 1e-9;
}

/**
 * If a session's SoC path left its bounds (after cuts), drop its discharge (SoC then never falls below its start)
 * and trim charging from the end while it exceeds capacity or its energy maximum. Node flows stay consistent.
 */
function fixSoc(st: ScheduleState, s: number): void {
  if (socWithinBounds(st, s)) return;
  const T = st.T;
  for (let t = 0; t < T; t++) {
    const p = st.kw[s * T + t];
    if (p < 0) addKw(st, s, t, -p);
  }
  for (let t = T - 1; t >= 0 && !socWithinBounds(st, s); t--) {
    const p = st.kw[s * T + t];
    if (p > 0) addKw(st, s, t, -p);
  }
}

/** Lowers charging, dearest slots first, until delivered energy ≤ energy maximum (state arrays only, no flows yet). */
function trimToEnergyMax(st: ScheduleState, s: number): void {
  const P = st.problem;
  const T = st.T;
  const h = st.h;
  let delivered = 0;
  for (let t = 0; t < T; t++) {
    const p = st.kw[s * T + t];
    delivered += p >= 0 ? p * h * P.chargeEfficiency[s] : (p * h) / P.dischargeEfficiency[s];
  }
  let excess = delivered - P.energyMaxKwh[s];
  for (let i = T - 1; i >= 0 && excess > 1e-9; i--) {
    const t = st.slotOrder[i];
    const p = st.kw[s * T + t];
    if (p <= 0) continue;
    const x = Math.min(p, excess / (h * P.chargeEfficiency[s]));
    let np = p - x;
    if (np > 0 && np < P.minChargeKw[s]) np = 0;
    excess -= (p - np) * h * P.chargeEfficiency[s];
    st.kw[s * T + t] = np;
  }
}

/**
 * Hard limits first: where a node's flow exceeds its import limit, take optional energy from sessions below it, then
 * any charging (proportionally); where it exceeds its export limit, cut discharge below it.
 */
function enforceNodeLimits(st: ScheduleState, touched: Uint8Array): void {
  const P = st.problem;
  const T = st.T;
  const N = P.nodeCount;
  for (let round = 0; round < 3; round++) {
    let fixed = false;
    for (let n = 0; n < N; n++) {
      for (let t = 0; t < T; t++) {
        const k = n * T + t;
        let over = st.flowKw[k] - st.importKw[k];
        if (over > 1e-9) {
          fixed = true;
          over -= freeImportAtNode(st, n, t, over, -1);
          if (over > 1e-9) {
            let charging = 0;
            for (let i = st.nodeLo[n]; i < st.nodeHi[n]; i++) {
              const p = st.kw[st.dfsSessions[i] * T + t];
              if (p > 0) charging += p;
            }
            const ratio = charging > 0 ? Math.min(1, over / charging) : 0;
            for (let i = st.nodeLo[n]; i < st.nodeHi[n]; i++) {
              const s = st.dfsSessions[i];
              const p = st.kw[s * T + t];
              if (p <= 0) continue;
              addKw(st, s, t, -p * ratio);
              if (st.kw[s * T + t] > 0 && st.kw[s * T + t] < P.minChargeKw[s])
                addKw(st, s, t, -st.kw[s * T + t]);
              touched[s] = 1;
              if (P.maxDischargeKw[s] > 0) fixSoc(st, s);
            }
          }
        }
        const under = -st.flowKw[k] - st.exportKw[k];
        if (under > 1e-9) {
          fixed = true;
          let left = under;
          for (let i = st.nodeLo[n]; i < st.nodeHi[n] && left > 1e-12; i++) {
            const s = st.dfsSessions[i];
            const p = st.kw[s * T + t];
            if (p >= 0) continue;
            const x = Math.min(-p, left);
            addKw(st, s, t, x);
            left -= x;
            touched[s] = 1;
            fixSoc(st, s);
          }
        }
      }
    }
    if (!fixed) break;
  }
}
