import { effectiveNodeLimits, type PlanningProblem } from './planningProblem';

const EPS = 1e-9;

/**
 * Mutable working state shared by the fast scheduler and incremental re-planning: the schedule, node flows and
 * per-session delivered energy, kept consistent by `addKw`. Everything is typed arrays; nothing allocates per slot.
 */
export interface ScheduleState {
  problem: PlanningProblem;
  T: number;
  S: number;
  h: number;
  /** Effective per node per slot limits (root net of load and reserve). */
  importKw: Float64Array;
  exportKw: Float64Array;
  /** EV flow through each node per slot, `[n * T + t]`. */
  flowKw: Float64Array;
  /** The schedule, `[s * T + t]`. */
  kw: Float64Array;
  /** Battery kWh delivered so far by the schedule. */
  deliveredKwh: Float64Array;
  /** Energy each session must get (min, capped by what it reaches alone). */
  requiredKwh: Float64Array;
  /** Slots sorted by import price (ties by index). */
  slotOrder: Int32Array;
  /** Optional extra cap on the root import per slot (demand-charge search). */
  rootCapKw: Float64Array | null;
  /** Sessions in DFS order of their EVSE, and each node's range `[nodeLo, nodeHi)` in it. */
  dfsSessions: Int32Array;
  nodeLo: Int32Array;
  nodeHi: Int32Array;
  /** Scratch SoC trajectory for one session. */
  socScratch: Float64Array;
  /** Nearest ancestor-or-self (excluding the root, -1 if none) whose import limit can bind at all: nodes whose
   *  limit covers the max charge of every session below them in every slot are skipped by headroom walks. */
  bindNext: Int32Array;
  /** Work left in the current augmenting-path search, and in the current pass (set by the pass's driver). */
  searchLeft: number;
  passWork: number;
  /** Undo journal of `addKw` calls while `journalOn` (session, slot, power before). */
  journalOn: boolean;
  journalLen: number;
  journalS: Int32Array;
  journalT: Int32Array;
  journalBefore: Float64Array;
  /** Scratch slot lists and marginal values for one session. */
  winScratch: Int32Array;
  winScratchA: Int32Array;
  winScratchB: Int32Array;
  valScratch: Float64Array;
  costScratch: Float64Array;
}

export function createScheduleState(problem: PlanningProblem): ScheduleState {
  const T = problem.slotCount;
  const S = problem.sessionCount;
  const N = problem.nodeCount;
  const { importKw, exportKw } = effectiveNodeLimits(problem);
  const requiredKwh = new Float64Array(S);
  const h = problem.slotHours;
  for (let s = 0; s < S; s++) {
    const slots = Math.max(0, problem.endSlot[s] - problem.firstSlot[s]);
    const reach = Math.min(
      slots * problem.maxChargeKw[s] * h * problem.chargeEfficiency[s],
      problem.energyMaxKwh[s],
    );
    requiredKwh[s] = Math.min(problem.energyMinKwh[s], reach);
  }
  const slotOrder = new Int32Array(T);
  for (let t = 0; t < T; t++) slotOrder[t] = t;
  const price = problem.importPricePerKwh;
  slotOrder.sort((a, b) => price[a] - price[b] || a - b);

  // DFS order of nodes (children lists from the parent array), sessions grouped by EVSE in that order.
  const childCount = new Int32Array(N);
  for (let n = 1; n < N; n++) if (problem.nodeParent[n] >= 0) childCount[problem.nodeParent[n]]++;
  const childStart = new Int32Array(N + 1);
  for (let n = 0; n < N; n++) childStart[n + 1] = childStart[n] + childCount[n];
  const childFill = childStart.slice(0, N);
  const children = new Int32Array(Math.max(0, N - 1));
  for (let n = 0; n < N; n++) {
    const parent = problem.nodeParent[n];
    if (parent >= 0) children[childFill[parent]++] = n;
  }
  const sessionsAt = new Int32Array(N + 1);
  for (let s = 0; s < S; s++) sessionsAt[problem.sessionNode[s] + 1]++;
  for (let n = 0; n < N; n++) sessionsAt[n + 1] += sessionsAt[n];
  const sessionFill = sessionsAt.slice(0, N);
  const byNode = new Int32Array(S);
  for (let s = 0; s < S; s++) byNode[sessionFill[problem.sessionNode[s]]++] = s;
  const dfsSessions = new Int32Array(S);
  const nodeLo = new Int32Array(N);
  const nodeHi = new Int32Array(N);
  let pos = 0;
  const stack = new Int32Array(N * 2 + 2);
  let sp = 0;
  if (N > 0) {
    stack[sp++] = 0;
    stack[sp++] = 0;
  }
  // Iterative DFS: (node, state) with state 0 = enter, 1 = exit.
  while (sp > 0) {
    const state = stack[--sp];
    const n = stack[--sp];
    if (state === 1) {
      nodeHi[n] = pos;
      continue;
    }
    nodeLo[n] = pos;
    for (let k = sessionsAt[n]; k < sessionsAt[n + 1]; k++) dfsSessions[pos++] = byNode[k];
    stack[sp++] = n;
    stack[sp++] = 1;
    for (let c = childStart[n + 1] - 1; c >= childStart[n]; c--) {
      stack[sp++] = children[c];
      stack[sp++] = 0;
    }
  }

  // Import limits that can never bind: Σ max charge below a node ≤ its limit in every slot.
  const maxBelow = new Float64Array(N);
  for (let s = 0; s < S; s++)
    for (let n = problem.sessionNode[s]; n >= 0; n = problem.nodeParent[n])
      maxBelow[n] += problem.maxChargeKw[s];
  const bindNext = new Int32Array(N).fill(-1);
  for (let n = 1; n < N; n++) {
    let binds = false;
    for (let t = 0; t < T && !binds; t++) if (importKw[n * T + t] < maxBelow[n] - 1e-9) binds = true;
    const parent = problem.nodeParent[n];
    bindNext[n] = binds ? n : parent > 0 ? bindNext[parent] : -1;
  }

  return {
    problem,
    T,
    S,
    h,
    bindNext,
    importKw,
    exportKw,
    flowKw: new Float64Array(N * T),
    kw: new Float64Array(S * T),
    deliveredKwh: new Float64Array(S),
    requiredKwh,
    slotOrder,
    rootCapKw: null,
    dfsSessions,
    nodeLo,
    nodeHi,
    socScratch: new Float64Array(T + 1),
    winScratch: new Int32Array(T),
    searchLeft: 0,
    passWork: Number.POSITIVE_INFINITY,
    journalOn: false,
    journalLen: 0,
    journalS: new Int32Array(256),
    journalT: new Int32Array(256),
    journalBefore: new Float64Array(256),
    winScratchA: new Int32Array(T),
    winScratchB: new Int32Array(T),
    valScratch: new Float64Array(T),
    costScratch: new Float64Array(T),
  };
}

/** Battery kWh per kW in slot for a session at power p (p ≥ 0 charging rate, else discharging rate). */
function rateAt(st: ScheduleState, s: number, p: number, up: boolean): number {
  const P = st.problem;
  // Increasing from exactly 0 charges; decreasing from exactly 0 discharges.
  const charging = up ? p >= 0 : p > 0;
  return charging ? st.h * P.chargeEfficiency[s] : st.h / P.dischargeEfficiency[s];
}

/** Changes session s in slot t by dKw, keeping flows and delivered energy consistent (crossing 0 handled). */
export function addKw(st: ScheduleState, s: number, t: number, dKw: number): void {
  if (dKw === 0) return;
  const P = st.problem;
  const k = s * st.T + t;
  const before = st.kw[k];
  const after = before + dKw;
  st.kw[k] = after;
  if (st.journalOn) journalPush(st, s, t, before);
  const h = st.h;
  const etaC = P.chargeEfficiency[s];
  const etaD = P.dischargeEfficiency[s];
  const eAfter = after >= 0 ? after * h * etaC : (after * h) / etaD;
  const eBefore = before >= 0 ? before * h * etaC : (before * h) / etaD;
  st.deliveredKwh[s] += eAfter - eBefore;
  const T = st.T;
  for (let n = P.sessionNode[s]; n >= 0; n = P.nodeParent[n]) st.flowKw[n * T + t] += dKw;
}

/** Largest increase of session s's power in slot t the node import limits allow. */
export function importHeadroom(st: ScheduleState, s: number, t: number): number {
  const P = st.problem;
  const T = st.T;
  // Root first, then only the nodes that can bind.
  let room = st.importKw[t] - st.flowKw[t];
  const next = st.bindNext;
  for (let n = next[P.sessionNode[s]]; n > 0; n = next[P.nodeParent[n]]) {
    const r = st.importKw[n * T + t] - st.flowKw[n * T + t];
    if (r < room) room = r;
  }
  if (st.rootCapKw) {
    const r = st.rootCapKw[t] - st.flowKw[t];
    if (r < room) room = r;
  }
  return room > 0 ? room : 0;
}

/** Largest decrease of session s's power in slot t the node export limits allow. */
export function exportHeadroom(st: ScheduleState, s: number, t: number): number {
  const P = st.problem;
  const T = st.T;
  let room = Number.POSITIVE_INFINITY;
  for (let n = P.sessionNode[s]; n >= 0; n = P.nodeParent[n]) {
    const r = st.exportKw[n * T + t] + st.flowKw[n * T + t];
    if (r < room) room = r;
  }
  return room > 0 ? room : 0;
}

/** Site net power in slot t (load + EVs). */
export function siteKw(st: ScheduleState, t: number): number {
  return (st.problem.siteLoadKw ? st.problem.siteLoadKw[t] : 0) + st.flowKw[t];
}

/** Marginal site cost per kWh of raising site power at level P in slot t (right derivative). */
export function slopeUp(problem: PlanningProblem, t: number, P: number): number {
  let c = P >= 0 ? problem.importPricePerKwh[t] : problem.exportPricePerKwh[t];
  if (problem.baselineKw)
    c +=
      P >= problem.baselineKw[t] ? problem.baselineDeviationCostPerKwh : -problem.baselineDeviationCostPerKwh;
  return c;
}

/** Marginal site saving per kWh of lowering site power at level P in slot t (left derivative). */
export function slopeDown(problem: PlanningProblem, t: number, P: number): number {
  let c = P > 0 ? problem.importPricePerKwh[t] : problem.exportPricePerKwh[t];
  if (problem.baselineKw)
    c +=
      P > problem.baselineKw[t] ? problem.baselineDeviationCostPerKwh : -problem.baselineDeviationCostPerKwh;
  return c;
}

/** Distance from P up to the next kink of the site cost (∞ if none). */
function kinkAbove(problem: PlanningProblem, t: number, P: number): number {
  let d = Number.POSITIVE_INFINITY;
  if (P < 0) d = -P;
  if (problem.baselineKw && P < problem.baselineKw[t]) d = Math.min(d, problem.baselineKw[t] - P);
  return d;
}

/** Distance from P down to the next kink of the site cost (∞ if none). */
function kinkBelow(problem: PlanningProblem, t: number, P: number): number {
  let d = Number.POSITIVE_INFINITY;
  if (P > 0) d = P;
  if (problem.baselineKw && P > problem.baselineKw[t]) d = Math.min(d, P - problem.baselineKw[t]);
  return d;
}

/** Insertion sort of idx[0..n) by key[idx] ascending (n ≤ slots; no closures, no allocation). */
function sortByKey(idx: Int32Array, n: number, key: Float64Array): void {
  for (let i = 1; i < n; i++) {
    const x = idx[i];
    const k = key[x];
    let j = i - 1;
    while (j >= 0 && key[idx[j]] > k) {
      idx[j + 1] = idx[j];
      j--;
    }
    idx[j + 1] = x;
  }
}

/** Battery kWh session s can still add in slot t without its SoC exceeding capacity later (∞ if charge-only). */
function socRoomUpKwh(st: ScheduleState, s: number, t: number): number {
  const P = st.problem;
  if (P.maxDischargeKw[s] <= 0) return Number.POSITIVE_INFINITY;
  socTrajectory(st, s);
  let hi = Number.NEGATIVE_INFINITY;
  for (let k = t + 1; k <= st.T; k++) if (st.socScratch[k] > hi) hi = st.socScratch[k];
  return Math.max(0, P.capacityKwh[s] - hi);
}

/** Fills st.socScratch[t] with the SoC at the end of slot t (index t+1; [0] = start). */
export function socTrajectory(st: ScheduleState, s: number): void {
  const P = st.problem;
  const T = st.T;
  const h = st.h;
  const etaC = P.chargeEfficiency[s];
  const etaD = P.dischargeEfficiency[s];
  let soc = P.socKwh[s];
  st.socScratch[0] = soc;
  for (let t = 0; t < T; t++) {
    const p = st.kw[s * T + t];
    soc += p >= 0 ? p * h * etaC : (p * h) / etaD;
    st.socScratch[t + 1] = soc;
  }
}

/**
 * Improvement by energy-neutral moves inside one session: lower power in a dear slot a, raise it in a cheap slot b
 * by the same battery energy, while the marginal saving beats the marginal cost. Covers both load shifting and V2G
 * arbitrage (a may go into discharge). Every step respects node limits, power bounds, the AC floor and (V2G) the
 * SoC path. Returns the cost saved.
 */
export function improveSession(
  st: ScheduleState,
  s: number,
  maxSteps: number,
  quantumKwh = Number.POSITIVE_INFINITY,
): number {
  const P = st.problem;
  const T = st.T;
  const first = P.firstSlot[s];
  const end = P.endSlot[s];
  if (end - first < 2) return 0;
  const row = s * T;
  const pMax = P.maxChargeKw[s];
  const dMax = P.maxDischargeKw[s];
  const floor = P.minChargeKw[s];
  const wear = P.wearCostPerKwh[s];
  const h = st.h;
  const v2g = dMax > 0;
  const order = st.slotOrder;
  const socLow = Math.min(P.socKwh[s], P.socMinKwh[s]);
  const cap = P.capacityKwh[s];
  let saved = 0;
  let steps = 0;
  let socValid = false;
  // Window slots in price order (scratch, no allocation).
  const win = st.winScratch;
  let W = 0;
  for (let i = 0; i < T; i++) {
    const t = order[i];
    if (t >= first && t < end) win[W++] = t;
  }
  // a: descending value; b: ascending cost. Charge-only sessions use the static price order (the site rarely
  // exports, so it bounds the search); V2G sessions sort their window by the current marginal values once per call
  // and give up on an a after `perA` evaluations (SoC or limits block the rest).
  const perA = v2g ? 24 : W;
  const winA = st.winScratchA;
  const winB = st.winScratchB;
  if (v2g) {
    const val = st.valScratch;
    for (let i = 0; i < W; i++) {
      const t = win[i];
      const p = st.kw[row + t];
      const Pt = siteKw(st, t);
      val[t] = (slopeDown(P, t, Pt) - (p <= 0 ? wear : 0)) / rateAt(st, s, p, false);
      st.costScratch[t] = (slopeUp(P, t, Pt) - (p < 0 ? wear : 0)) / rateAt(st, s, p, true);
      winA[i] = t;
      winB[i] = t;
    }
    sortByKey(winA, W, val);
    sortByKey(winB, W, st.costScratch);
  } else {
    for (let i = 0; i < W; i++) {
      winA[i] = win[i];
      winB[i] = win[i];
    }
  }
  const cheapest = W > 0 ? (v2g ? st.costScratch[winB[0]] : P.importPricePerKwh[winB[0]]) : 0;
  for (let ia = W - 1; ia >= 0 && steps < maxSteps; ia--) {
    const a = winA[ia];
    // Values fall along winA: once a is worth less than the cheapest b, no later a pays (V2G: as sorted).
    if (v2g ? st.valScratch[a] <= cheapest - 1e-12 : P.importPricePerKwh[a] <= cheapest) break;
    let tried = 0;
    for (let ib = 0; ib < W && steps < maxSteps && tried < perA; ib++) {
      const b = winB[ib];
      if (b === a) continue;
      const pa = st.kw[row + a];
      if (!v2g && pa <= EPS) break;
      if (v2g && pa <= -dMax + EPS) break;
      const pb = st.kw[row + b];
      if (pb >= pMax - EPS) continue;
      if (!v2g && P.importPricePerKwh[b] >= P.importPricePerKwh[a]) break;
      steps++;
      tried++;
      const Pa = siteKw(st, a);
      const Pb = siteKw(st, b);
      const ra = rateAt(st, s, pa, false);
      const rb = rateAt(st, s, pb, true);
      const valueA = (slopeDown(P, a, Pa) - (pa <= 0 ? wear : 0)) / ra;
      const costB = (slopeUp(P, b, Pb) - (pb < 0 ? wear : 0)) / rb;
      if (costB >= valueA - 1e-12) {
        if (v2g) break;
        continue;
      }
      // Step limits in kW at a (decrease) and b (increase), each within one linear piece.
      let da = pa > 0 ? pa : pa + dMax;
      da = Math.min(da, kinkBelow(P, a, Pa));
      // Lowering power also lowers every flow on the path: other sessions' discharge may bind export limits.
      const exportRoomA = exportHeadroom(st, s, a);
      da = Math.min(da, exportRoomA);
      let db = pb < 0 ? -pb : pMax - pb;
      db = Math.min(db, kinkAbove(P, b, Pb), importHeadroom(st, s, b));
      if (floor > 0) {
        // Keep p ∈ {0} ∪ [floor, max]: a lands on 0 or stays ≥ floor; b starts from ≥ floor or jumps to it.
        if (pa > 0 && pa - da < floor - EPS && pa - da > EPS) da = pa - floor > EPS ? pa - floor : pa;
        // Dropping to 0 can take more than the export room (another session discharging behind the node).
        if (da > exportRoomA + 1e-9) continue;
        if (pb >= 0 && pb < floor - EPS && pb + db < floor - EPS) continue;
      }
      // Battery-neutral amount q (kWh).
      let q = Math.min(da * ra, db * rb, quantumKwh);
      if (v2g) {
        if (!socValid) {
          socTrajectory(st, s);
          socValid = true;
        }
        // b < a: SoC rises on [b, a); b > a: SoC falls on [a, b).
        if (b < a) {
          let hi = Number.NEGATIVE_INFINITY;
          for (let t = b + 1; t <= a; t++) if (st.socScratch[t] > hi) hi = st.socScratch[t];
          q = Math.min(q, cap - hi);
        } else {
          let lo = Number.POSITIVE_INFINITY;
          for (let t = a + 1; t <= b; t++) if (st.socScratch[t] < lo) lo = st.socScratch[t];
          q = Math.min(q, lo - socLow);
        }
      }
      if (floor > 0 && pb >= 0 && pb < floor - EPS && q / rb < floor - pb - EPS) continue;
      if (floor > 0 && pa > 0 && pa - q / ra > EPS && pa - q / ra < floor - EPS) continue;
      if (q <= 1e-9) continue;
      addKw(st, s, a, -q / ra);
      addKw(st, s, b, q / rb);
      saved += q * (valueA - costB) * h;
      socValid = false;
    }
  }
  return saved;
}

/**
 * Raises session s toward `wantKwh` delivered, cheapest slots first (static price order), within node limits,
 * power bounds and the AC floor. Charge-only: raises discharge toward 0 before charging. Returns kWh still missing.
 */
export function fillSession(
  st: ScheduleState,
  s: number,
  wantKwh: number,
  maxUnitCost = Number.POSITIVE_INFINITY,
): number {
  const P = st.problem;
  const T = st.T;
  const h = st.h;
  const first = P.firstSlot[s];
  const end = P.endSlot[s];
  const row = s * T;
  const pMax = P.maxChargeKw[s];
  const floor = P.minChargeKw[s];
  const etaC = P.chargeEfficiency[s];
  for (let i = 0; i < T; i++) {
    const missing = wantKwh - st.deliveredKwh[s];
    if (missing <= 1e-9) return 0;
    const t = st.slotOrder[i];
    if (t < first || t >= end) continue;
    if (P.importPricePerKwh[t] / etaC >= maxUnitCost) break;
    const p = st.kw[row + t];
    const head = importHeadroom(st, s, t);
    if (p < 0) {
      const x = Math.min(
        -p,
        head,
        (Math.min(missing, socRoomUpKwh(st, s, t)) * P.dischargeEfficiency[s]) / h,
      );
      if (x > 0) addKw(st, s, t, x);
      continue;
    }
    let x = Math.min(pMax - p, head, missing / (h * etaC), socRoomUpKwh(st, s, t) / (h * etaC));
    if (floor > 0 && p + x < floor) {
      // Round up to the floor when the limits and the energy maximum allow it, else skip this slot.
      const need = floor - p;
      if (
        need <= Math.min(pMax - p, head) &&
        st.deliveredKwh[s] + need * h * etaC <= P.energyMaxKwh[s] + 1e-9
      )
        x = need;
      else continue;
    }
    if (x > 1e-12) addKw(st, s, t, x);
  }
  const missing = wantKwh - st.deliveredKwh[s];
  return missing > 0 ? missing : 0;
}

/**
 * Frees up to `needKw` of import in slot t at node n by lowering sessions below n that have energy above their
 * own requirement (they lose optional energy, never required energy). Returns kW freed.
 */
export function freeImportAtNode(
  st: ScheduleState,
  n: number,
  t: number,
  needKw: number,
  except: number,
): number {
  const P = st.problem;
  const T = st.T;
  const h = st.h;
  let freed = 0;
  for (let i = st.nodeLo[n]; i < st.nodeHi[n] && freed < needKw - 1e-12; i++) {
    const r = st.dfsSessions[i];
    if (r === except || t < P.firstSlot[r] || t >= P.endSlot[r]) continue;
    const dMax = P.maxDischargeKw[r];
    // Two pieces: less charging, then (V2G) discharging — the latter frees import for others (V2V relief).
    for (let piece = 0; piece < 2 && freed < needKw - 1e-12; piece++) {
      const p = st.kw[r * T + t];
      if (p <= 0 && dMax <= 0) break;
      if (p <= -dMax + 1e-12) break;
      const charging = p > 0;
      const rate = charging ? h * P.chargeEfficiency[r] : h / P.dischargeEfficiency[r];
      let spareKwh = st.deliveredKwh[r] - st.requiredKwh[r];
      if (spareKwh <= 1e-9) break;
      if (dMax > 0) {
        // Lower power lowers the SoC from t on: keep it above the reserve.
        socTrajectory(st, r);
        let lo = Number.POSITIVE_INFINITY;
        for (let k = t + 1; k <= T; k++) if (st.socScratch[k] < lo) lo = st.socScratch[k];
        spareKwh = Math.min(spareKwh, lo - Math.min(P.socKwh[r], P.socMinKwh[r]));
        if (spareKwh <= 1e-9) break;
      }
      let x = Math.min(charging ? p : p + dMax, needKw - freed, spareKwh / rate, exportHeadroom(st, r, t));
      const floor = P.minChargeKw[r];
      if (charging && floor > 0 && p - x > 1e-9 && p - x < floor) {
        if (p * rate <= spareKwh + 1e-9 && p <= exportHeadroom(st, r, t)) x = p;
        else x = p - floor;
      }
      if (x <= 1e-12) break;
      addKw(st, r, t, -x);
      freed += x;
    }
  }
  return freed;
}

/**
 * Frees import at node n in slot t by moving charging of sessions below n (other than `except`) to other slots of
 * their windows — where there is headroom, or where it can be made by taking optional energy from others (a
 * length-2 augmenting path). Energy of the moved sessions is kept. Returns kW freed.
 */
export function shiftAway(st: ScheduleState, n: number, t: number, needKw: number, except: number): number {
  const P = st.problem;
  const T = st.T;
  let freed = 0;
  for (let i = st.nodeLo[n]; i < st.nodeHi[n] && freed < needKw - 1e-12; i++) {
    const r = st.dfsSessions[i];
    if (r === except || P.minChargeKw[r] > 0 || t < P.firstSlot[r] || t >= P.endSlot[r]) continue;
    const dMax = P.maxDischargeKw[r];
    for (let j = 0; j < T && freed < needKw - 1e-12; j++) {
      if (st.kw[r * T + t] <= -dMax + 1e-12) break;
      const t2 = st.slotOrder[j];
      if (t2 === t || t2 < P.firstSlot[r] || t2 >= P.endSlot[r]) continue;
      if (st.kw[r * T + t2] >= P.maxChargeKw[r] - 1e-12) continue;
      const want = needKw - freed;
      const room = importHeadroom(st, r, t2);
      if (room < want) {
        const m = bottleneckNode(st, r, t2);
        if (m >= 0) freeImportAtNode(st, m, t2, want - room, r);
      }
      freed += pairStep(st, r, t, t2, want);
    }
  }
  return freed;
}

/**
 * Lowers session s in slot a and raises it in slot b by the same battery energy, within one linear piece of each
 * (charging or discharging), as far as power bounds, node limits (import at b, export at a), the AC floor and the
 * SoC path allow, and at most `maxDownKw` at a. Returns kW lowered at a.
 */
export function pairStep(st: ScheduleState, s: number, a: number, b: number, maxDownKw: number): number {
  const P = st.problem;
  const T = st.T;
  const row = s * T;
  const pa = st.kw[row + a];
  const pb = st.kw[row + b];
  const dMax = P.maxDischargeKw[s];
  const pMax = P.maxChargeKw[s];
  const floor = P.minChargeKw[s];
  let da = pa > 0 ? pa : pa + dMax;
  da = Math.min(da, maxDownKw, exportHeadroom(st, s, a));
  let db = pb < 0 ? -pb : pMax - pb;
  db = Math.min(db, importHeadroom(st, s, b));
  if (da <= 1e-12 || db <= 1e-12) return 0;
  const ra = rateAt(st, s, pa, false);
  const rb = rateAt(st, s, pb, true);
  let q = Math.min(da * ra, db * rb);
  if (dMax > 0) {
    socTrajectory(st, s);
    if (b < a) {
      let hi = Number.NEGATIVE_INFINITY;
      for (let t = b + 1; t <= a; t++) if (st.socScratch[t] > hi) hi = st.socScratch[t];
      q = Math.min(q, P.capacityKwh[s] - hi);
    } else {
      let lo = Number.POSITIVE_INFINITY;
      for (let t = a + 1; t <= b; t++) if (st.socScratch[t] < lo) lo = st.socScratch[t];
      q = Math.min(q, lo - Math.min(P.socKwh[s], P.socMinKwh[s]));
    }
  }
  if (floor > 0) {
    // p ∈ {0} ∪ [floor, max] after the step: a stops on the floor (or 0), b must reach the floor.
    if (pa > 0 && pa - q / ra > EPS && pa - q / ra < floor - EPS) q = Math.max(0, (pa - floor) * ra);
    if (pb >= 0 && pb < floor - EPS && pb + q / rb < floor - EPS) return 0;
  }
  if (q <= 1e-12) return 0;
  addKw(st, s, a, -q / ra);
  addKw(st, s, b, q / rb);
  return q / ra;
}

/** The node on s's path with the least import headroom in slot t. */
export function bottleneckNode(st: ScheduleState, s: number, t: number): number {
  const P = st.problem;
  const T = st.T;
  let best = -1;
  let room = Number.POSITIVE_INFINITY;
  for (let n = P.sessionNode[s]; n >= 0; n = P.nodeParent[n]) {
    const r = st.importKw[n * T + t] - st.flowKw[n * T + t];
    if (r < room) {
      room = r;
      best = n;
    }
  }
  return best;
}

/**
 * Makes sure session s gets its required energy if the limits allow it at all: first free headroom, then by taking
 * optional energy from sessions sharing the bottleneck node. Returns kWh still missing (0 when met).
 */
export function repairRequired(st: ScheduleState, s: number, depth = 3, budget = 64): number {
  const P = st.problem;
  const T = st.T;
  const h = st.h;
  let missing = fillSession(st, s, st.requiredKwh[s]);
  if (missing <= 1e-9) return 0;
  const first = P.firstSlot[s];
  const end = P.endSlot[s];
  const etaC = P.chargeEfficiency[s];
  for (let i = 0; i < T && missing > 1e-9; i++) {
    const t = st.slotOrder[i];
    if (t < first || t >= end) continue;
    const p = st.kw[s * T + t];
    const want = Math.min(P.maxChargeKw[s] - Math.max(p, 0), missing / (h * etaC));
    if (want <= 1e-12) continue;
    // Free capacity at each saturated node on the path, tightest first, a few rounds.
    for (let round = 0; round < 4; round++) {
      const head = importHeadroom(st, s, t);
      if (head >= want - 1e-12) break;
      const n = bottleneckNode(st, s, t);
      if (n < 0) break;
      if (freeImportAtNode(st, n, t, want - head, s) > 1e-12) continue;
      if (shiftAway(st, n, t, want - head, s) > 1e-12) continue;
      if (makeRoom(st, s, t, want, depth, budget, Number.POSITIVE_INFINITY) <= head + 1e-12) break;
    }
    missing = fillSession(st, s, st.requiredKwh[s]);
  }
  return missing;
}

/**
 * Congestion repair by length-2 augmenting paths: session s is short of its target and slot t is full at node n;
 * a charge-only session r below n moves δ from t to another slot t' where it has room, and s takes δ at t. Net gain
 * per kW·h: penalty·η_s − price(t') (s's price at t replaces r's). Scans at most `budget` sessions per blocked slot.
 * Returns kWh added to s.
 */
export function rescueShortfall(st: ScheduleState, s: number, budget: number): number {
  const P = st.problem;
  const T = st.T;
  const h = st.h;
  const etaS = P.chargeEfficiency[s];
  const penalty = P.shortfallPenaltyPerKwh;
  const first = P.firstSlot[s];
  const end = P.endSlot[s];
  const before = st.deliveredKwh[s];
  for (let i = 0; i < T; i++) {
    const missing = P.energyTargetKwh[s] - st.deliveredKwh[s];
    if (missing <= 1e-9) break;
    const t = st.slotOrder[i];
    if (t < first || t >= end) continue;
    if (P.importPricePerKwh[t] >= penalty * etaS) break;
    const p = st.kw[s * T + t];
    if (p < 0) continue;
    const want = Math.min(P.maxChargeKw[s] - p, missing / (h * etaS));
    if (P.minChargeKw[s] > 0) continue;
    if (want <= 1e-12) continue;
    // Journaled: the path is kept only if the whole change lowers the cost (efficiency losses, wear and the
    // other sessions' moves included).
    journalBegin(st);
    const room = makeRoom(st, s, t, want, 3, budget, penalty * etaS);
    // The augmenting path may have moved s itself: re-read its power and energy.
    const x = Math.min(
      room,
      P.maxChargeKw[s] - st.kw[s * T + t],
      (P.energyTargetKwh[s] - st.deliveredKwh[s]) / (h * etaS),
    );
    const capped = Math.min(x, socRoomUpKwh(st, s, t) / (h * etaS));
    if (capped > 1e-12 && st.kw[s * T + t] >= 0) addKw(st, s, t, capped);
    keepIfCheaper(st);
  }
  return st.deliveredKwh[s] - before;
}

/**
 * Cross-session exchange (length-2 augmenting path for cost): s charges in a dear slot a while a cheaper slot b of
 * its window is full at node n; a session r below n that charges in b moves to a slot c it can use that is cheaper
 * than a, and s takes b. Net gain ≈ price(a) − price(c). Scans at most `budget` candidate sessions per call.
 * Returns the number of exchanges made.
 */
export function exchangeSession(st: ScheduleState, s: number, budget: number): number {
  const P = st.problem;
  const T = st.T;
  const price = P.importPricePerKwh;
  const first = P.firstSlot[s];
  const end = P.endSlot[s];
  const order = st.slotOrder;
  let scanned = 0;
  let made = 0;
  // Static import prices are the marginal costs only while the site imports and no baseline is tracked.
  if (P.baselineKw) return 0;
  for (let ia = T - 1; ia >= 0 && scanned < budget; ia--) {
    const a = order[ia];
    if (a < first || a >= end || st.kw[s * T + a] <= 1e-9) continue;
    if (siteKw(st, a) - st.kw[s * T + a] < 0) continue;
    for (let ib = 0; ib < T && scanned < budget; ib++) {
      const b = order[ib];
      if (price[b] >= price[a] - 1e-9) break;
      if (b < first || b >= end || st.kw[s * T + b] >= P.maxChargeKw[s] - 1e-9 || st.kw[s * T + b] < 0)
        continue;
      if (st.kw[s * T + a] <= 1e-9) break;
      // Lowest saturated node on s's path in b, and the room below it.
      let n = -1;
      let below = Number.POSITIVE_INFINITY;
      for (let m = P.sessionNode[s]; m >= 0; m = P.nodeParent[m]) {
        const r = st.importKw[m * T + b] - st.flowKw[m * T + b];
        if (r <= 1e-9) {
          n = m;
          break;
        }
        if (r < below) below = r;
      }
      if (n < 0) {
        if (siteKw(st, b) >= 0 && pairStep(st, s, a, b, st.kw[s * T + a]) > 1e-12) made++;
        continue;
      }
      const want = Math.min(st.kw[s * T + a], P.maxChargeKw[s] - st.kw[s * T + b], below);
      if (want <= 1e-9) continue;
      const lo = st.nodeLo[n];
      const span = st.nodeHi[n] - lo;
      const startAt = (s * 7919 + b * 104729) % Math.max(1, span);
      let freed = 0;
      for (let k = 0; k < span && scanned < budget && freed < want - 1e-9; k++) {
        const r = st.dfsSessions[lo + ((startAt + k) % span)];
        if (r === s || P.minChargeKw[r] > 0 || st.kw[r * T + b] <= 1e-9) continue;
        scanned++;
        for (let ic = 0; ic < T && freed < want - 1e-9; ic++) {
          const c = order[ic];
          if (price[c] >= price[a] - 1e-9) break;
          if (c === b || c < P.firstSlot[r] || c >= P.endSlot[r] || siteKw(st, c) < 0) continue;
          if (st.kw[r * T + c] >= P.maxChargeKw[r] - 1e-9 || importHeadroom(st, r, c) <= 1e-9) continue;
          freed += pairStep(st, r, b, c, Math.min(want - freed, st.kw[r * T + b]));
          if (st.kw[r * T + b] <= 1e-9) break;
        }
      }
      if (freed > 1e-12 && pairStep(st, s, a, b, freed) > 1e-12) made++;
    }
  }
  return made;
}

/**
 * Makes up to `needKw` of import room on session s's path in slot t by moving other sessions' charging to other
 * slots of their windows (cheapest first, below `maxPrice`), recursively up to `depth` levels: an augmenting path
 * through the slot/node graph. Moved sessions keep their energy. Scans at most `budget` sessions per level.
 * Returns the room available to s afterwards (≤ needKw).
 */
export function makeRoom(
  st: ScheduleState,
  s: number,
  t: number,
  needKw: number,
  depth: number,
  budget: number,
  maxPrice: number,
): number {
  // `budget` bounds the whole search (all levels): one shared counter, itself capped by the pass's work left.
  const granted = Math.min(budget, st.passWork);
  st.searchLeft = granted;
  const room = makeRoomRec(st, s, t, needKw, depth, maxPrice);
  st.passWork -= granted - st.searchLeft;
  return room;
}

function makeRoomRec(
  st: ScheduleState,
  s: number,
  t: number,
  needKw: number,
  depth: number,
  maxPrice: number,
): number {
  const P = st.problem;
  const T = st.T;
  let room = importHeadroom(st, s, t);
  if (room >= needKw - 1e-12 || depth <= 0) return Math.min(room, needKw);
  // Lowest saturated node on s's path; below it s still has room.
  let n = -1;
  let below = Number.POSITIVE_INFINITY;
  for (let m = P.sessionNode[s]; m >= 0; m = P.nodeParent[m]) {
    const r = st.importKw[m * T + t] - st.flowKw[m * T + t];
    if (r <= 1e-9) {
      n = m;
      break;
    }
    if (r < below) below = r;
  }
  if (n < 0) return Math.min(room, needKw);
  const want = Math.min(needKw, below) - room;
  const lo = st.nodeLo[n];
  const span = st.nodeHi[n] - lo;
  const startAt = (s * 7919 + t * 104729) % Math.max(1, span);
  let freed = 0;
  for (let k = 0; k < span && st.searchLeft > 0 && freed < want - 1e-12; k++) {
    const r = st.dfsSessions[lo + ((startAt + k) % span)];
    // Charging sessions can move; V2G sessions present in t can also discharge there (vehicle-to-vehicle).
    const dMax = P.maxDischargeKw[r];
    if (r === s || P.minChargeKw[r] > 0 || t < P.firstSlot[r] || t >= P.endSlot[r]) continue;
    if (st.kw[r * T + t] <= (dMax > 0 ? -dMax : 0) + 1e-9) continue;
    st.searchLeft--;
    // Each candidate tries a few target slots (cheapest first); every attempt counts against the shared budget.
    let attempts = 0;
    for (
      let j = 0;
      j < T && attempts < 8 && freed < want - 1e-12 && st.kw[r * T + t] > (dMax > 0 ? -dMax : 0) + 1e-9;
      j++
    ) {
      const t2 = st.slotOrder[j];
      if (P.importPricePerKwh[t2] >= maxPrice) break;
      if (t2 === t || t2 < P.firstSlot[r] || t2 >= P.endSlot[r]) continue;
      if (st.kw[r * T + t2] >= P.maxChargeKw[r] - 1e-9) continue;
      // Without depth left, only slots with direct room can take r.
      if (depth <= 1 && importHeadroom(st, r, t2) <= 1e-9) continue;
      attempts++;
      const pr = st.kw[r * T + t];
      const pr2 = st.kw[r * T + t2];
      const step = Math.min(want - freed, pr > 0 ? pr : pr + dMax, pr2 < 0 ? -pr2 : P.maxChargeKw[r] - pr2);
      if (depth > 1) makeRoomRec(st, r, t2, step, depth - 1, maxPrice);
      freed += pairStep(st, r, t, t2, step);
    }
  }
  room = importHeadroom(st, s, t);
  return Math.min(room, needKw);
}

function journalPush(st: ScheduleState, s: number, t: number, before: number): void {
  if (st.journalLen === st.journalS.length) {
    const n = st.journalLen * 2;
    const js = new Int32Array(n);
    js.set(st.journalS);
    const jt = new Int32Array(n);
    jt.set(st.journalT);
    const jb = new Float64Array(n);
    jb.set(st.journalBefore);
    st.journalS = js;
    st.journalT = jt;
    st.journalBefore = jb;
  }
  st.journalS[st.journalLen] = s;
  st.journalT[st.journalLen] = t;
  st.journalBefore[st.journalLen] = before;
  st.journalLen++;
}

function siteCostAt(P: PlanningProblem, t: number, siteP: number): number {
  let c = (siteP >= 0 ? P.importPricePerKwh[t] : P.exportPricePerKwh[t]) * siteP;
  if (P.baselineKw) c += P.baselineDeviationCostPerKwh * Math.abs(siteP - P.baselineKw[t]);
  return c;
}

/**
 * Exact cost change of the journaled moves (site energy incl. baseline, wear, shortfall, unmet required; not the
 * demand charge). Entries are undone in reverse to recover the "before" state of each touched (s, t).
 */
export function journalCostDelta(st: ScheduleState): number {
  const P = st.problem;
  const T = st.T;
  const h = st.h;
  let delta = 0;
  // Power before the journal per touched (s, t): the first entry for that pair holds it.
  const seen = new Map<number, number>();
  for (let i = 0; i < st.journalLen; i++) {
    const key = st.journalS[i] * T + st.journalT[i];
    if (!seen.has(key)) seen.set(key, st.journalBefore[i]);
  }
  const siteDelta = new Map<number, number>();
  const energyDelta = new Map<number, number>();
  for (const [key, before] of seen) {
    const s = Math.floor(key / T);
    const t = key - s * T;
    const after = st.kw[key];
    if (after === before) continue;
    siteDelta.set(t, (siteDelta.get(t) ?? 0) + after - before);
    const eta = P.chargeEfficiency[s];
    const etaD = P.dischargeEfficiency[s];
    const e = (p: number) => (p >= 0 ? p * h * eta : (p * h) / etaD);
    energyDelta.set(s, (energyDelta.get(s) ?? 0) + e(after) - e(before));
    delta += P.wearCostPerKwh[s] * h * (Math.max(0, -after) - Math.max(0, -before));
  }
  for (const [t, d] of siteDelta) {
    const now = siteKw(st, t);
    delta += (siteCostAt(P, t, now) - siteCostAt(P, t, now - d)) * h;
  }
  const big = 100 * Math.max(1, P.shortfallPenaltyPerKwh);
  for (const [s, d] of energyDelta) {
    const now = st.deliveredKwh[s];
    const was = now - d;
    const tgt = P.energyTargetKwh[s];
    delta += P.shortfallPenaltyPerKwh * (Math.max(0, tgt - now) - Math.max(0, tgt - was));
    const req = st.requiredKwh[s];
    delta += big * (Math.max(0, req - now) - Math.max(0, req - was));
  }
  return delta;
}

/** Starts a trial: moves from here on are journaled until `keepIfCheaper`. */
export function journalBegin(st: ScheduleState): void {
  st.journalOn = true;
  st.journalLen = 0;
}

/** Ends a trial: keeps the journaled moves if they lower the exact cost, else undoes them. Returns the cost saved. */
export function keepIfCheaper(st: ScheduleState): number {
  const delta = journalCostDelta(st);
  if (delta < -1e-9) {
    st.journalOn = false;
    st.journalLen = 0;
    return -delta;
  }
  journalRollback(st);
  return 0;
}

export function journalRollback(st: ScheduleState): void {
  st.journalOn = false;
  for (let i = st.journalLen - 1; i >= 0; i--) {
    const s = st.journalS[i];
    const t = st.journalT[i];
    addKw(st, s, t, st.journalBefore[i] - st.kw[s * st.T + t]);
  }
  st.journalLen = 0;
}

/**
 * Cost-improving augmenting cycles for session s: lower it in a dear slot a, raise it in a cheaper slot b after
 * making room there by moving other sessions along paths of up to `depth` hops (`makeRoom`). Every attempt is
 * journaled and its exact cost change evaluated; attempts that do not lower the cost are undone.
 * Returns the cost saved.
 */
export function exchangeCycles(
  st: ScheduleState,
  s: number,
  depth: number,
  budget: number,
  maxTries: number,
): number {
  const P = st.problem;
  const T = st.T;
  if (P.demandChargePerKw > 0) return 0;
  const price = P.importPricePerKwh;
  const first = P.firstSlot[s];
  const end = P.endSlot[s];
  const order = st.slotOrder;
  let saved = 0;
  let tries = 0;
  for (let ia = T - 1; ia >= 0 && tries < maxTries; ia--) {
    const a = order[ia];
    if (a < first || a >= end) continue;
    for (let ib = 0; ib < T && tries < maxTries; ib++) {
      const b = order[ib];
      if (price[b] >= price[a] - 1e-9) break;
      const pa = st.kw[s * T + a];
      if (pa <= 1e-9) break;
      if (b < first || b >= end) continue;
      const pb = st.kw[s * T + b];
      if (pb < 0 || pb >= P.maxChargeKw[s] - 1e-9) continue;
      if (importHeadroom(st, s, b) > 1e-9) continue; // plain moves are improveSession's job
      tries++;
      const want = Math.min(pa, P.maxChargeKw[s] - pb);
      journalBegin(st);
      const room = makeRoom(st, s, b, want, depth, budget, price[a]);
      if (room > 1e-9) pairStep(st, s, a, b, room);
      saved += keepIfCheaper(st);
    }
  }
  st.journalOn = false;
  st.journalLen = 0;
  return saved;
}

/**
 * Netting move for a V2G session r: where r's discharge would only earn the export price because the site already
 * exports (or sits at 0), move some other session's charging into that slot so the discharge nets against it at the
 * import price; r recharges in its cheapest slot. Composite moves are journaled and kept only if they pay.
 * Returns the cost saved.
 */
export function nettingMoves(st: ScheduleState, r: number, budget: number): number {
  const P = st.problem;
  const T = st.T;
  if (P.maxDischargeKw[r] <= 0 || P.demandChargePerKw > 0) return 0;
  const order = st.slotOrder;
  const first = P.firstSlot[r];
  const end = P.endSlot[r];
  let saved = 0;
  let tries = 0;
  for (let ia = T - 1; ia >= 0 && tries < budget; ia--) {
    const a = order[ia];
    if (a < first || a >= end) continue;
    if (siteKw(st, a) > 1e-9) continue; // the site imports here: r's own moves already see the import price
    if (st.kw[r * T + a] <= -P.maxDischargeKw[r] + 1e-9) continue;
    // Another session that charges elsewhere and could charge more in a.
    const lo = st.nodeLo[0];
    const span = st.nodeHi[0] - lo;
    for (let k = 0; k < span && tries < budget; k++) {
      const s = st.dfsSessions[lo + ((a * 7919 + k) % span)];
      if (s === r || a < P.firstSlot[s] || a >= P.endSlot[s] || P.minChargeKw[s] > 0) continue;
      if (st.kw[s * T + a] < 0 || st.kw[s * T + a] >= P.maxChargeKw[s] - 1e-9) continue;
      // s's dearest charging slot b ≠ a... no: any slot where s charges, cheapest first is least useful; take the
      // one whose price is closest above... simply the first charging slot found in price order from the top.
      let b = -1;
      for (let ib = T - 1; ib >= 0; ib--) {
        const t = order[ib];
        if (t !== a && st.kw[s * T + t] > 1e-9) {
          b = t;
          break;
        }
      }
      if (b < 0) continue;
      tries++;
      // r's cheapest slot to recharge.
      let c = -1;
      for (let ic = 0; ic < T; ic++) {
        const t = order[ic];
        if (
          t !== a &&
          t >= first &&
          t < end &&
          st.kw[r * T + t] < P.maxChargeKw[r] - 1e-9 &&
          importHeadroom(st, r, t) > 1e-9
        ) {
          c = t;
          break;
        }
      }
      if (c < 0) break;
      journalBegin(st);
      const moved = pairStep(st, s, b, a, Math.min(st.kw[s * T + b], P.maxChargeKw[s] - st.kw[s * T + a]));
      if (moved > 1e-9) pairStep(st, r, a, c, moved);
      saved += keepIfCheaper(st);
    }
  }
  st.journalOn = false;
  st.journalLen = 0;
  return saved;
}
