import { requiredPenaltyPerKwh } from './planningProblem';
import { addKw, type ScheduleState } from './scheduleState';

export interface V2gPriceMovesOptions {
  /** Battery kWh one move shifts at most (the prices hold only near the flow they came from). */
  quantumKwh: number;
  /** Moves per session at most. */
  maxStepsPerSession: number;
  /** kW all moves together may change the held flow of one slot by (the sessions move against the same prices). */
  slotBudgetKw: number;
  /** Only every `stride`-th V2G session from `offset` moves (sessions moved together collide on spare capacity). */
  stride?: number;
  offset?: number;
}

/**
 * Energy-neutral moves of the V2G sessions against given node prices (`chargeFlow`'s potentials: grid cost of a kWh
 * drawn at a node and slot, site price plus the duals of the binding limits), not against the site price alone. On a
 * congested site the greedy's V2G plan charges where the charge-only sessions would have paid the shortfall penalty
 * for the capacity, and discharges where nothing is short; priced by the duals, a session charges where capacity is
 * cheap and discharges where it relieves a binding limit. Lower power in slot a (worth its price, per battery kWh),
 * raise it in slot b (costing its price) while a is worth more, within power bounds, the SoC path and the limits the
 * held sessions (V2G and AC floor; the charge-only ones are re-planned by `chargeFlow` after) must keep alone.
 * Returns the number of moves.
 */
export function v2gPriceMoves(
  st: ScheduleState,
  pricesUp: Float64Array,
  pricesDown: Float64Array,
  options: V2gPriceMovesOptions,
): number {
  const P = st.problem;
  const S = st.S;
  const T = st.T;
  const N = P.nodeCount;
  const h = st.h;
  const held = new Float64Array(N * T);
  for (let s = 0; s < S; s++) {
    if (P.maxDischargeKw[s] <= 0 && P.minChargeKw[s] <= 0) continue;
    for (let t = P.firstSlot[s]; t < P.endSlot[s]; t++) {
      const p = st.kw[s * T + t];
      if (p !== 0) for (let n = P.sessionNode[s]; n >= 0; n = P.nodeParent[n]) held[n * T + t] += p;
    }
  }
  const soc = new Float64Array(T + 1);
  // Index T stands for the session's delivered energy: as "a", raising a slot alone is worth the penalty it saves.
  // (Lowering the energy where the prices say so was measured worse: it leaves capacity the prices overvalue.)
  const val = new Float64Array(T + 1);
  const cost = new Float64Array(T + 1);
  const winA = new Int32Array(T + 1);
  const winB = new Int32Array(T + 1);
  const big = requiredPenaltyPerKwh(P);
  const penalty = P.shortfallPenaltyPerKwh;
  const usedKw = new Float64Array(T);
  let moves = 0;
  const stride = options.stride ?? 1;
  const offset = options.offset ?? 0;
  let k = -1;
  for (let s = 0; s < S; s++) {
    const dMax = P.maxDischargeKw[s];
    if (dMax <= 0 || P.minChargeKw[s] > 0) continue;
    k++;
    if (k % stride !== offset) continue;
    const first = P.firstSlot[s];
    const end = P.endSlot[s];
    if (end - first < 2) continue;
    const row = s * T;
    const pMax = P.maxChargeKw[s];
    const etaC = P.chargeEfficiency[s];
    const etaD = P.dischargeEfficiency[s];
    const wear = P.wearCostPerKwh[s];
    const cap = P.capacityKwh[s];
    const socLow = Math.min(P.socKwh[s], P.socMinKwh[s]);
    const b0 = st.bindNext[P.sessionNode[s]];
    const mu = (b0 > 0 ? b0 : 0) * T;
    for (let step = 0; step < options.maxStepsPerSession; step++) {
      let W = 0;
      for (let t = first; t < end; t++) {
        const p = st.kw[row + t];
        const mUp = pricesUp[mu + t];
        const mDown = pricesDown[mu + t];
        // Per battery kWh: lowering a charge saves m / ηc, discharging more earns (m − wear)·ηd; raising mirrors it.
        val[t] = p > 0 ? mDown / etaC : p > -dMax + EPS ? (mDown - wear) * etaD : Number.NEGATIVE_INFINITY;
        cost[t] = p < 0 ? (mUp - wear) * etaD : p < pMax - EPS ? mUp / etaC : Number.POSITIVE_INFINITY;
        winA[W] = t;
        winB[W++] = t;
      }
      const d = st.deliveredKwh[s];
      const required = st.requiredKwh[s];
      const target = P.energyTargetKwh[s];
      // Energy value per battery kWh just above d (gained by more) and just below (lost by less).
      val[T] =
        d < P.energyMaxKwh[s] - EPS
          ? (d < required - EPS ? big : 0) + (d < target - EPS ? penalty : 0)
          : -Infinity;
      cost[T] = Number.POSITIVE_INFINITY;
      winA[W] = T;
      winB[W++] = T;
      sortBy(winA, W, val, -1);
      sortBy(winB, W, cost, 1);
      let done = false;
      // Energy-neutral pairs first; the energy only when no pair pays.
      for (let pass = 0; pass < 2 && !done; pass++)
        for (let ia = 0; ia < W && !done; ia++) {
          const a = winA[ia];
          if (val[a] === Number.NEGATIVE_INFINITY) break;
          for (let ib = 0; ib < W; ib++) {
            const b = winB[ib];
            if (cost[b] >= val[a] - 1e-9 * Math.max(1, Math.abs(val[a]))) break;
            if (b === a) continue;
            if (a === T || b === T) {
              if (pass === 0) continue;
              const q = energyMove(st, s, a === T ? -1 : a, b === T ? -1 : b, soc, options, usedKw, held);
              if (q <= 0) continue;
              moves++;
              done = true;
              break;
            }
            const pa = st.kw[row + a];
            const pb = st.kw[row + b];
            const ra = pa > 0 ? h * etaC : h / etaD;
            const rb = pb < 0 ? h / etaD : h * etaC;
            // kW within one piece of each slot, and the held sessions' limits at every node above.
            let da = pa > 0 ? pa : pa + dMax;
            let db = pb < 0 ? -pb : pMax - pb;
            for (let n = P.sessionNode[s]; n >= 0; n = P.nodeParent[n]) {
              const ea = st.exportKw[n * T + a] + held[n * T + a];
              if (ea < da) da = ea;
              const ib2 = st.importKw[n * T + b] - held[n * T + b];
              if (ib2 < db) db = ib2;
            }
            da = Math.min(da, options.slotBudgetKw - usedKw[a]);
            db = Math.min(db, options.slotBudgetKw - usedKw[b]);
            let q = Math.min(da * ra, db * rb, options.quantumKwh);
            if (q <= 1e-9) continue;
            socPath(soc, st.kw, row, T, P.socKwh[s], h, etaC, etaD);
            if (b < a) {
              let hi = Number.NEGATIVE_INFINITY;
              for (let t = b + 1; t <= a; t++) if (soc[t] > hi) hi = soc[t];
              q = Math.min(q, cap - hi);
            } else {
              let lo = Number.POSITIVE_INFINITY;
              for (let t = a + 1; t <= b; t++) if (soc[t] < lo) lo = soc[t];
              q = Math.min(q, lo - socLow);
            }
            if (q <= 1e-9) continue;
            const dA = q / ra;
            const dB = q / rb;
            addKw(st, s, a, -dA);
            addKw(st, s, b, dB);
            for (let n = P.sessionNode[s]; n >= 0; n = P.nodeParent[n]) {
              held[n * T + a] -= dA;
              held[n * T + b] += dB;
            }
            usedKw[a] += dA;
            usedKw[b] += dB;
            moves++;
            done = true;
            break;
          }
        }
      if (!done) break;
    }
  }
  return moves;
}

const EPS = 1e-9;

/**
 * One slot alone: raise session s in slot b (a = −1; the energy delivered rises) or lower it in slot a (b = −1),
 * within one piece of the power and of the energy value, the SoC path to the end, the energy maximum, delivered ≥ 0
 * and the held limits. Returns the battery kWh moved.
 */
function energyMove(
  st: ScheduleState,
  s: number,
  a: number,
  b: number,
  soc: Float64Array,
  options: V2gPriceMovesOptions,
  usedKw: Float64Array,
  held: Float64Array,
): number {
  const P = st.problem;
  const T = st.T;
  const h = st.h;
  const row = s * T;
  const etaC = P.chargeEfficiency[s];
  const etaD = P.dischargeEfficiency[s];
  const d = st.deliveredKwh[s];
  const required = st.requiredKwh[s];
  const target = P.energyTargetKwh[s];
  socPath(soc, st.kw, row, T, P.socKwh[s], h, etaC, etaD);
  const t = b >= 0 ? b : a;
  const p = st.kw[row + t];
  const up = b >= 0;
  const rate = up ? (p < 0 ? h / etaD : h * etaC) : p > 0 ? h * etaC : h / etaD;
  let dKw = up ? (p < 0 ? -p : P.maxChargeKw[s] - p) : p > 0 ? p : p + P.maxDischargeKw[s];
  dKw = Math.min(dKw, options.slotBudgetKw - usedKw[t]);
  for (let n = P.sessionNode[s]; n >= 0; n = P.nodeParent[n]) {
    const r = up ? st.importKw[n * T + t] - held[n * T + t] : st.exportKw[n * T + t] + held[n * T + t];
    if (r < dKw) dKw = r;
  }
  let q = Math.min(dKw * rate, options.quantumKwh);
  if (up) {
    let hi = Number.NEGATIVE_INFINITY;
    for (let k = t + 1; k <= T; k++) if (soc[k] > hi) hi = soc[k];
    q = Math.min(q, P.capacityKwh[s] - hi, P.energyMaxKwh[s] - d);
    if (d < required - EPS) q = Math.min(q, required - d);
    else if (d < target - EPS) q = Math.min(q, target - d);
  } else {
    let lo = Number.POSITIVE_INFINITY;
    for (let k = t + 1; k <= T; k++) if (soc[k] < lo) lo = soc[k];
    q = Math.min(q, lo - Math.min(P.socKwh[s], P.socMinKwh[s]), d);
    if (d > target + EPS) q = Math.min(q, d - target);
    else if (d > required + EPS) q = Math.min(q, d - required);
  }
  if (q <= 1e-9) return 0;
  const delta = up ? q / rate : -q / rate;
  addKw(st, s, t, delta);
  usedKw[t] += Math.abs(delta);
  for (let n = P.sessionNode[s]; n >= 0; n = P.nodeParent[n]) held[n * T + t] += delta;
  return q;
}

function socPath(
  soc: Float64Array,
  kw: Float64Array,
  row: number,
  T: number,
  soc0: number,
  h: number,
  etaC: number,
  etaD: number,
): void {
  let e = soc0;
  soc[0] = e;
  for (let t = 0; t < T; t++) {
    const p = kw[row + t];
    e += p >= 0 ? p * h * etaC : (p * h) / etaD;
    soc[t + 1] = e;
  }
}

/** Insertion sort of idx[0..n) by sign × key[idx] ascending. */
function sortBy(idx: Int32Array, n: number, key: Float64Array, sign: number): void {
  for (let i = 1; i < n; i++) {
    const x = idx[i];
    const k = sign * key[x];
    let j = i - 1;
    while (j >= 0 && sign * key[idx[j]] > k) {
      idx[j + 1] = idx[j];
      j--;
    }
    idx[j + 1] = x;
  }
}
