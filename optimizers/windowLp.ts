import { checkFeasibility } from './checkFeasibility';
import { type DenseLp, type DenseSimplexWorkspace, denseSimplex } from './denseSimplex';
import {
  addLpColumn,
  downBackingRow,
  downEnduranceRow,
  type LpColumns,
  type LpRow,
  upBackingRow,
  upEnduranceRow,
} from './lpModel';
import {
  effectiveNodeLimits,
  type PlanningProblem,
  requiredEnergyKwh,
  requiredPenaltyPerKwh,
} from './planningProblem';
import { reserveActive, sessionBackingKw } from './reserveBacking';
import { scheduleCost } from './scheduleCost';

export interface WindowLpOptions {
  /** Cap on simplex work per solve in tableau entries touched (`denseSimplex`'s maxTouched); default 5·10⁷. */
  maxTouched?: number;
  /** Re-solves with a charge or discharge column fixed at 0 where the LP used both in one slot; default 2. */
  complementarityRounds?: number;
  /** Scratch memory for the simplex, reused across windows. */
  workspace?: DenseSimplexWorkspace;
}

export interface WindowLpResult {
  /** The schedule with the window re-planned, or null when it is not cheaper (or the LP did not finish). */
  sessionKw: Float64Array | null;
  /** Simplex work spent, in tableau entries touched (for the caller's budget). */
  touched: number;
  /** The window's LP was solved to its optimum without a restriction (so the schedule returned, or the one given
   *  where none is returned, is optimal for the window: over the whole horizon, optimal outright). */
  optimal: boolean;
}

/**
 * The exact LP of a reserve site restricted to the slots [from, to): every other slot keeps the schedule's power,
 * and every later slot keeps the reserve its sessions back (so a session's SoC after the window may only move where
 * that backing and its SoC range allow). Inside the window: charge, discharge and SoC per session, node limits, site
 * import / export, the reserve rows with their backing columns (as in `buildLpModel`), and each session's delivered
 * energy against its target, minimum and maximum (the energy outside the window as a constant). A large-neighbourhood
 * step for reserve sites too big for the whole LP (`smallSiteLp`): the reserve couples the sessions of a slot, which
 * a window of all sessions present sees exactly; over the whole horizon it is the site's exact LP. The simplex starts
 * from the schedule itself (feasible: phase 1 has almost nothing to do). With `sessions` (a 0/1 mask) only those
 * sessions are re-planned, the others held (their power and backing as constants). Returns the schedule with the
 * window re-planned when its exact `scheduleCost` is lower and `checkFeasibility` finds nothing but a jointly
 * unreachable minimum or unbacked reserve; else null. Not for floors (a MILP), demand charges or baselines (they
 * couple all slots).
 */
export function windowLp(
  problem: PlanningProblem,
  sessionKw: Float64Array,
  from: number,
  to: number,
  options: WindowLpOptions = {},
  sessions?: Uint8Array,
): WindowLpResult {
  const none: WindowLpResult = { sessionKw: null, touched: 0, optimal: false };
  if (!reserveActive(problem) || problem.demandChargePerKw > 0 || problem.baselineKw) return none;
  const S = problem.sessionCount;
  const T = problem.slotCount;
  const h = problem.slotHours;
  const E = problem.reserveEnduranceHours;
  for (let s = 0; s < S; s++) if (problem.minChargeKw[s] > 0) return none;
  const { importKw, exportKw } = effectiveNodeLimits(problem);
  const W = to - from;
  const upAt = (t: number) => problem.reserveUpKw?.[t] ?? 0;
  const downAt = (t: number) => problem.reserveDownKw?.[t] ?? 0;

  const colLo: number[] = [];
  const colHi: number[] = [];
  const colCost: number[] = [];
  // The schedule as the simplex's start (feasible up to rounding: phase 1 has almost nothing to do).
  const start: number[] = [];
  const rows: LpRow[] = [];
  const cols: LpColumns = { colLo, colHi, colCost };
  const addCol = (lo: number, hi: number, cost: number, x0: number) => {
    start.push(x0);
    return addLpColumn(cols, lo, hi, cost);
  };
  const chargeCol = new Int32Array(S * W).fill(-1);
  const dischargeCol = new Int32Array(S * W).fill(-1);
  const siteIdx: number[][] = Array.from({ length: W }, () => []);
  const siteCoef: number[][] = Array.from({ length: W }, () => []);
  const nodeIdx: number[][] = Array.from({ length: problem.nodeCount * W }, () => []);
  const nodeCoef: number[][] = Array.from({ length: problem.nodeCount * W }, () => []);
  const upIdx: number[][] = Array.from({ length: W }, () => []);
  const downIdx: number[][] = Array.from({ length: W }, () => []);
  const pair = new Float64Array(2);
  // Sessions held (outside `sessions`): their power and backing inside the window as constants.
  const heldKw = new Float64Array(problem.nodeCount * W);
  const heldSiteKw = new Float64Array(W);
  const heldUpKw = new Float64Array(W);
  const heldDownKw = new Float64Array(W);
  const modelKw = new Float64Array(W);
  const modelNodeKw = new Float64Array(problem.nodeCount * W);
  const modelUpKw = new Float64Array(W);
  const modelDownKw = new Float64Array(W);

  for (let s = 0; s < S; s++) {
    const a = Math.max(from, problem.firstSlot[s]);
    const b = Math.min(to, problem.endSlot[s]);
    if (a >= b) continue;
    if (sessions && !sessions[s]) {
      let socHeld = problem.socKwh[s];
      for (let t = 0; t < b; t++) {
        const p = sessionKw[s * T + t];
        const next =
          socHeld + (p >= 0 ? p * h * problem.chargeEfficiency[s] : (p * h) / problem.dischargeEfficiency[s]);
        if (t >= a) {
          const w = t - from;
          heldSiteKw[w] += p;
          for (let n = problem.sessionNode[s]; n >= 0; n = problem.nodeParent[n]) heldKw[n * W + w] += p;
          sessionBackingKw(problem, s, p, socHeld, next, pair);
          heldUpKw[w] += pair[0];
          heldDownKw[w] += pair[1];
        }
        socHeld = next;
      }
      continue;
    }
    const etaC = problem.chargeEfficiency[s];
    const etaD = problem.dischargeEfficiency[s];
    const dMax = problem.maxDischargeKw[s];
    const pMax = problem.maxChargeKw[s];
    const socLow = Math.min(problem.socKwh[s], problem.socMinKwh[s]);
    const socHigh = problem.capacityKwh[s];
    // SoC along the schedule: at the window's start, its end, and the energy delivered outside the window.
    let soc = problem.socKwh[s];
    let socStart = soc;
    let socEnd = soc;
    let outsideKwh = 0;
    for (let t = 0; t < problem.endSlot[s]; t++) {
      if (t === a) socStart = soc;
      const p = sessionKw[s * T + t];
      const de = p >= 0 ? p * h * etaC : (p * h) / etaD;
      soc += de;
      if (t < a || t >= b) outsideKwh += de;
      if (t === b - 1) socEnd = soc;
    }
    // Later slots keep their backing and SoC range: bounds on the shift Δ of the SoC after the window.
    let shiftLo = Number.NEGATIVE_INFINITY;
    let shiftHi = Number.POSITIVE_INFINITY;
    soc = socEnd;
    for (let t = b; t < problem.endSlot[s]; t++) {
      const p = sessionKw[s * T + t];
      const next = soc + (p >= 0 ? p * h * etaC : (p * h) / etaD);
      shiftLo = Math.max(shiftLo, socLow - Math.min(soc, next));
      shiftHi = Math.min(shiftHi, socHigh - Math.max(soc, next));
      if (E > 0) {
        sessionBackingKw(problem, s, p, soc, next, pair);
        // Up backing p + min(dMax, (minSoc − floor)·ηd/E) keeps its value only while the SoC term stays at or
        // above it; down backing min(pMax, (cap − maxSoc)/(ηc·E)) − p likewise.
        if (upAt(t) > 0 && dMax > 0) {
          const x = ((Math.min(soc, next) - socLow) * etaD) / E;
          shiftLo = Math.max(shiftLo, x >= dMax ? ((dMax - x) * E) / etaD : 0);
        }
        if (downAt(t) > 0) {
          const y = (socHigh - Math.max(soc, next)) / (etaC * E);
          shiftHi = Math.min(shiftHi, y >= pMax ? (y - pMax) * etaC * E : 0);
        }
      }
      soc = next;
    }
    // Delivered energy = outside + (y_end − socStart) within [0, energyMax]; target and minimum with slack columns.
    const base = outsideKwh - socStart;
    let yEndLo = Math.max(socLow, -base, socEnd + shiftLo);
    let yEndHi = Math.min(socHigh, problem.energyMaxKwh[s] - base, socEnd + shiftHi);
    // The schedule's own end SoC stays feasible (rounding).
    yEndLo = Math.min(yEndLo, socEnd);
    yEndHi = Math.max(yEndHi, socEnd);
    let prevY = -1;
    let socAt = socStart;
    for (let t = a; t < b; t++) {
      const k = s * W + (t - from);
      const p0 = sessionKw[s * T + t];
      const socNext = socAt + (p0 >= 0 ? p0 * h * etaC : (p0 * h) / etaD);
      sessionBackingKw(problem, s, p0, socAt, socNext, pair);
      socAt = socNext;
      modelKw[t - from] += p0;
      const c = addCol(0, pMax, 0, Math.max(0, p0));
      chargeCol[k] = c;
      let d = -1;
      if (dMax > 0) {
        d = addCol(0, dMax, problem.wearCostPerKwh[s] * h, Math.max(0, -p0));
        dischargeCol[k] = d;
      }
      const y = t === b - 1 ? addCol(yEndLo, yEndHi, 0, socNext) : addCol(socLow, socHigh, 0, socNext);
      const idx = [y, c];
      const coef = [1, -h * etaC];
      if (d >= 0) {
        idx.push(d);
        coef.push(h / etaD);
      }
      if (prevY >= 0) {
        idx.push(prevY);
        coef.push(-1);
      }
      rows.push({ idx, coef, lo: prevY >= 0 ? 0 : socStart, hi: prevY >= 0 ? 0 : socStart });
      const w = t - from;
      siteIdx[w].push(c);
      siteCoef[w].push(-1);
      if (d >= 0) {
        siteIdx[w].push(d);
        siteCoef[w].push(1);
      }
      for (let n = problem.sessionNode[s]; n >= 0; n = problem.nodeParent[n]) {
        modelNodeKw[n * W + w] += p0;
        nodeIdx[n * W + w].push(c);
        nodeCoef[n * W + w].push(1);
        if (d >= 0) {
          nodeIdx[n * W + w].push(d);
          nodeCoef[n * W + w].push(-1);
        }
      }
      const pIdx = d >= 0 ? [c, d] : [c];
      const pCoef = d >= 0 ? [1, -1] : [1];
      // Boundaries of slot t: the SoC before (a constant at the window's start) and after.
      const bounds: [number, number][] = [prevY >= 0 ? [prevY, 0] : [-1, socStart], [y, 0]];
      if (upAt(t) > 0) {
        const us = addCol(Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY, 0, pair[0]);
        modelUpKw[w] += pair[0];
        rows.push(upBackingRow(us, pIdx, pCoef, dMax));
        upIdx[w].push(us);
        if (dMax > 0)
          for (const [col, constant] of bounds)
            rows.push(upEnduranceRow(col, us, pIdx, pCoef, E, etaD, socLow - constant));
      }
      if (downAt(t) > 0) {
        const ws = addCol(Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY, 0, pair[1]);
        modelDownKw[w] += pair[1];
        rows.push(downBackingRow(ws, pIdx, pCoef, pMax));
        downIdx[w].push(ws);
        for (const [col, constant] of bounds)
          rows.push(downEnduranceRow(col, ws, pIdx, pCoef, E, etaC, socHigh - constant));
      }
      prevY = y;
    }
    const target = problem.energyTargetKwh[s];
    const delivered = base + socEnd;
    const sh = addCol(0, Math.max(0, target), problem.shortfallPenaltyPerKwh, target - delivered);
    rows.push({ idx: [prevY, sh], coef: [1, 1], lo: target - base, hi: Number.POSITIVE_INFINITY });
    const minE = requiredEnergyKwh(problem, s);
    if (minE > 0) {
      const um = addCol(0, minE, requiredPenaltyPerKwh(problem), minE - delivered);
      rows.push({ idx: [prevY, um], coef: [1, 1], lo: minE - base, hi: Number.POSITIVE_INFINITY });
    }
  }

  const reservePenalty = requiredPenaltyPerKwh(problem) * E;
  for (let w = 0; w < W; w++) {
    const t = from + w;
    for (const [idx, kw, held, backed] of [
      [upIdx[w], upAt(t), heldUpKw[w], modelUpKw[w]],
      [downIdx[w], downAt(t), heldDownKw[w], modelDownKw[w]],
    ] as const) {
      if (kw <= 0) continue;
      const short = addCol(0, Number.POSITIVE_INFINITY, reservePenalty, kw - held - backed);
      rows.push({
        idx: [...idx, short],
        coef: [...idx.map(() => 1), 1],
        lo: kw - held,
        hi: Number.POSITIVE_INFINITY,
      });
    }
    for (let n = 0; n < problem.nodeCount; n++) {
      const idx = nodeIdx[n * W + w];
      const held = heldKw[n * W + w];
      const now = modelNodeKw[n * W + w];
      // The schedule at its limit (rounding) keeps the row feasible at the start.
      if (idx.length > 0)
        rows.push({
          idx,
          coef: nodeCoef[n * W + w],
          lo: Math.min(now, -exportKw[n * T + t] - held),
          hi: Math.max(now, importKw[n * T + t] - held),
        });
    }
    const load = (problem.siteLoadKw ? problem.siteLoadKw[t] : 0) + heldSiteKw[w];
    const pi = addCol(0, Number.POSITIVE_INFINITY, problem.importPricePerKwh[t] * h, load + modelKw[w]);
    const pe = addCol(0, Number.POSITIVE_INFINITY, -problem.exportPricePerKwh[t] * h, -load - modelKw[w]);
    rows.push({ idx: [pi, pe, ...siteIdx[w]], coef: [1, -1, ...siteCoef[w]], lo: load, hi: load });
  }

  const lp: DenseLp = { colLo, colHi, colCost, rows };
  const x0: ArrayLike<number> = start;
  const maxTouched = options.maxTouched ?? 50_000_000;
  let touched = 0;
  const before = scheduleCost(problem, sessionKw).costTotal;
  let best: Float64Array | null = null;
  let bestCost = before - 1e-9 * Math.max(1, Math.abs(before));
  const netOf = (x: Float64Array): Float64Array => {
    const kw = sessionKw.slice();
    for (let s = 0; s < S; s++)
      for (let t = Math.max(from, problem.firstSlot[s]); t < Math.min(to, problem.endSlot[s]); t++) {
        const k = s * W + (t - from);
        if (chargeCol[k] < 0) continue; // held (outside `sessions`)
        let p = x[chargeCol[k]];
        if (dischargeCol[k] >= 0) p -= x[dischargeCol[k]];
        if (Math.abs(p) < 1e-9) p = 0;
        kw[s * T + t] = Math.min(problem.maxChargeKw[s], Math.max(-problem.maxDischargeKw[s], p));
      }
    return kw;
  };
  const burns = (x: Float64Array): boolean => {
    for (let k = 0; k < S * W; k++) {
      const c = chargeCol[k];
      const d = dischargeCol[k];
      if (c >= 0 && d >= 0 && x[c] > 1e-9 && x[d] > 1e-9) return true;
    }
    return false;
  };
  const consider = (x: Float64Array): void => {
    const kw = netOf(x);
    const cost = scheduleCost(problem, kw).costTotal;
    if (cost < bestCost && allowed(problem, kw)) {
      best = kw;
      bestCost = cost;
    }
  };
  const first = denseSimplex(lp, { maxTouched, workspace: options.workspace, start: x0 });
  touched += first.touched;
  if (first.status !== 'optimal') return { sessionKw: null, touched, optimal: false };
  let x = first.x;
  if (burns(x)) {
    // The LP charges and discharges one session in one slot at once (burning energy in the losses). Among its optimal
    // solutions, the one with the least charge + discharge is net where a net optimum exists (glpk's vertex often is).
    const objIdx: number[] = [];
    const objCoef: number[] = [];
    for (let j = 0; j < colCost.length; j++)
      if (colCost[j] !== 0) {
        objIdx.push(j);
        objCoef.push(colCost[j]);
      }
    const secondary = new Float64Array(colCost.length);
    for (let k = 0; k < S * W; k++) {
      if (chargeCol[k] >= 0) secondary[chargeCol[k]] = 1;
      if (dischargeCol[k] >= 0) secondary[dischargeCol[k]] = 1;
    }
    const cap = first.objective + 1e-9 * Math.max(1, Math.abs(first.objective));
    const least = denseSimplex(
      {
        colLo,
        colHi,
        colCost: secondary,
        rows: [...rows, { idx: objIdx, coef: objCoef, lo: Number.NEGATIVE_INFINITY, hi: cap }],
      },
      { maxTouched: maxTouched - touched, workspace: options.workspace, start: x },
    );
    touched += least.touched;
    if (least.status === 'optimal') x = least.x;
  }
  consider(x);
  if (!burns(x)) return { sessionKw: best, touched, optimal: true };
  // Still burning: the net schedule was a candidate (its SoC is higher, which may cost backing or capacity, or not);
  // now the smaller side of each such pair is fixed at 0 and the LP re-solved, warm (a restriction).
  for (let round = 1; round <= (options.complementarityRounds ?? 2); round++) {
    for (let k = 0; k < S * W; k++) {
      const c = chargeCol[k];
      const d = dischargeCol[k];
      if (c < 0 || d < 0 || x[c] <= 1e-9 || x[d] <= 1e-9) continue;
      if (x[c] >= x[d]) colHi[d] = 0;
      else colHi[c] = 0;
    }
    const result = denseSimplex(lp, {
      maxTouched: maxTouched - touched,
      workspace: options.workspace,
      start: x,
    });
    touched += result.touched;
    if (result.status !== 'optimal') break;
    x = result.x;
    consider(x);
    if (!burns(x)) break;
  }
  return { sessionKw: best, touched, optimal: false };
}

/** Only a jointly unreachable minimum and unbacked reserve, both priced in the cost. */
function allowed(problem: PlanningProblem, kw: Float64Array): boolean {
  for (const v of checkFeasibility(problem, kw))
    if (v.kind !== 'energyBelowMin' && v.kind !== 'reserveUpUnbacked' && v.kind !== 'reserveDownUnbacked')
      return false;
  return true;
}
