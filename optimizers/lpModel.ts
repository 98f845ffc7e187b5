import {
  effectiveNodeLimits,
  type PlanningProblem,
  requiredEnergyKwh,
  requiredPenaltyPerKwh,
} from './planningProblem';
import { reserveActive } from './reserveBacking';

/** A sparse LP/MILP in a solver-neutral form: minimise Σ cost·x subject to lo ≤ A x ≤ hi, colLo ≤ x ≤ colHi. */
export interface LpModel {
  colNames: string[];
  colLo: number[];
  colHi: number[];
  colCost: number[];
  binary: boolean[];
  rows: { name: string; idx: number[]; coef: number[]; lo: number; hi: number }[];
  /** Constant added to the objective. */
  objectiveOffset: number;
  /** Charge / discharge column of each (s, t), -1 where none. */
  chargeCol: Int32Array;
  dischargeCol: Int32Array;
}

/**
 * The exact formulation. Per session and slot in its window: charge c ≥ 0, discharge d ≥ 0 (V2G only), plus a binary
 * on/off where the AC floor applies (c ≥ floor·u, c ≤ max·u). Per session a shortfall variable. Per slot the site net
 * power split into import/export parts (and deviations when tracking a baseline), an optional peak variable for the
 * demand charge. Rows: node limits per slot (only nodes with sessions below), energy min/max/target, and for V2G
 * sessions SoC bounds after every slot. With a reserve endurance (see `reserveBacking`): per session and slot the
 * extra discharge ud (V2G) and extra charging wc it holds ready, each bounded by power and by the SoC at both slot
 * boundaries, and per slot Σ(c + ud) and Σ(d + wc) cover the up and down reserve, any unbacked part penalised.
 */
export function buildLpModel(problem: PlanningProblem): LpModel {
  const S = problem.sessionCount;
  const T = problem.slotCount;
  const N = problem.nodeCount;
  const h = problem.slotHours;
  const { importKw, exportKw } = effectiveNodeLimits(problem);
  const colNames: string[] = [];
  const colLo: number[] = [];
  const colHi: number[] = [];
  const colCost: number[] = [];
  const binary: boolean[] = [];
  const rows: LpModel['rows'] = [];
  const cols: LpColumns = { colLo, colHi, colCost };
  const addCol = (name: string, lo: number, hi: number, cost: number, isBinary = false) => {
    colNames.push(name);
    binary.push(isBinary);
    return addLpColumn(cols, lo, hi, cost);
  };
  const chargeCol = new Int32Array(S * T).fill(-1);
  const dischargeCol = new Int32Array(S * T).fill(-1);
  const E = problem.reserveEnduranceHours;
  const reserve = reserveActive(problem);
  const upAt = (t: number) => (reserve && problem.reserveUpKw ? problem.reserveUpKw[t] : 0);
  const downAt = (t: number) => (reserve && problem.reserveDownKw ? problem.reserveDownKw[t] : 0);
  const upRows = Array.from({ length: T }, () => ({ idx: [] as number[], coef: [] as number[] }));
  const downRows = Array.from({ length: T }, () => ({ idx: [] as number[], coef: [] as number[] }));

  // Site balance columns first so session columns can be referenced from per-slot rows.
  const siteRows: { idx: number[]; coef: number[] }[] = [];
  const imp = new Int32Array(T);
  const exp = new Int32Array(T);
  for (let t = 0; t < T; t++) {
    imp[t] = addCol(`pi${t}`, 0, Number.POSITIVE_INFINITY, problem.importPricePerKwh[t] * h);
    exp[t] = addCol(`pe${t}`, 0, Number.POSITIVE_INFINITY, -problem.exportPricePerKwh[t] * h);
    siteRows.push({ idx: [imp[t], exp[t]], coef: [1, -1] });
  }

  const nodeRows: { idx: number[]; coef: number[] }[] = Array.from({ length: N * T }, () => ({
    idx: [],
    coef: [],
  }));
  for (let s = 0; s < S; s++) {
    const etaC = problem.chargeEfficiency[s];
    const etaD = problem.dischargeEfficiency[s];
    const dMax = problem.maxDischargeKw[s];
    const floor = problem.minChargeKw[s];
    const energyIdx: number[] = [];
    const energyCoef: number[] = [];
    const socRows: { idx: number[]; coef: number[] }[] = [];
    // Reserve columns of this session per window slot (k = t − first), tied to the SoC columns once they exist.
    const udCols: number[] = [];
    const wcCols: number[] = [];
    const udP: number[][] = [];
    const udPc: number[][] = [];
    let needSoc = dMax > 0;
    for (let t = problem.firstSlot[s]; t < problem.endSlot[s]; t++) if (downAt(t) > 0) needSoc = true;
    for (let t = problem.firstSlot[s]; t < problem.endSlot[s]; t++) {
      const c = addCol(`c${s}_${t}`, 0, problem.maxChargeKw[s], 0);
      chargeCol[s * T + t] = c;
      energyIdx.push(c);
      energyCoef.push(h * etaC);
      siteRows[t].idx.push(c);
      siteRows[t].coef.push(-1);
      for (let n = problem.sessionNode[s]; n >= 0; n = problem.nodeParent[n]) {
        nodeRows[n * T + t].idx.push(c);
        nodeRows[n * T + t].coef.push(1);
      }
      let u = -1;
      if (floor > 0) {
        u = addCol(`u${s}_${t}`, 0, 1, 0, true);
        rows.push({
          name: `fl${s}_${t}`,
          idx: [c, u],
          coef: [1, -floor],
          lo: 0,
          hi: Number.POSITIVE_INFINITY,
        });
        rows.push({
          name: `fh${s}_${t}`,
          idx: [c, u],
          coef: [1, -problem.maxChargeKw[s]],
          lo: Number.NEGATIVE_INFINITY,
          hi: 0,
        });
      }
      if (dMax > 0) {
        const d = addCol(`d${s}_${t}`, 0, dMax, problem.wearCostPerKwh[s] * h);
        dischargeCol[s * T + t] = d;
        // With a floor, charging and discharging in the same slot would net below the floor: exclude it.
        if (u >= 0)
          rows.push({
            name: `fd${s}_${t}`,
            idx: [d, u],
            coef: [1, dMax],
            lo: Number.NEGATIVE_INFINITY,
            hi: dMax,
          });
        energyIdx.push(d);
        energyCoef.push(-h / etaD);
        siteRows[t].idx.push(d);
        siteRows[t].coef.push(1);
        for (let n = problem.sessionNode[s]; n >= 0; n = problem.nodeParent[n]) {
          nodeRows[n * T + t].idx.push(d);
          nodeRows[n * T + t].coef.push(-1);
        }
        socRows.push({ idx: [c, d], coef: [h * etaC, -h / etaD] });
      } else if (needSoc) socRows.push({ idx: [c], coef: [h * etaC] });
      // Reserve backing (free: negative when the plan itself cannot be held for E): us ≤ p + dMax, ws ≤ pMax − p.
      const d = dischargeCol[s * T + t];
      const pIdx = d >= 0 ? [c, d] : [c];
      const pCoef = d >= 0 ? [1, -1] : [1];
      let us = -1;
      if (upAt(t) > 0) {
        us = addCol(`us${s}_${t}`, Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY, 0);
        rows.push({ name: `ru${s}_${t}`, ...upBackingRow(us, pIdx, pCoef, dMax) });
        upRows[t].idx.push(us);
        upRows[t].coef.push(1);
      }
      udCols.push(dMax > 0 ? us : -1);
      udP.push(pIdx);
      udPc.push(pCoef);
      let ws = -1;
      if (downAt(t) > 0) {
        ws = addCol(`ws${s}_${t}`, Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY, 0);
        rows.push({ name: `rd${s}_${t}`, ...downBackingRow(ws, pIdx, pCoef, problem.maxChargeKw[s]) });
        downRows[t].idx.push(ws);
        downRows[t].coef.push(1);
      }
      wcCols.push(ws);
    }
    // V2G: cumulative energy as variables (q_k = q_{k-1} + ηc·c·h − d·h/ηd, bounded by the SoC range) keeps the
    // model linear in size; the energy rows then refer to the last q only.
    let energyRowIdx = energyIdx;
    let energyRowCoef = energyCoef;
    if (socRows.length > 0) {
      const socLow = Math.min(problem.socKwh[s], problem.socMinKwh[s]) - problem.socKwh[s];
      const socHigh = problem.capacityKwh[s] - problem.socKwh[s];
      let prev = -1;
      for (let k = 0; k < socRows.length; k++) {
        const q = addCol(`q${s}_${k}`, socLow, socHigh, 0);
        const r = socRows[k];
        const idx = [q, ...r.idx];
        const coef = [1, ...r.coef.map((x) => -x)];
        if (prev >= 0) {
          idx.push(prev);
          coef.push(-1);
        }
        rows.push({ name: `soc${s}_${k}`, idx, coef, lo: 0, hi: 0 });
        // Reserve energy at both boundaries of slot k (q relative to the SoC at slot 0; before the window: 0):
        // the power held, us − p below p (V2G) or ws + p above 0, must last E within the SoC range.
        for (const boundary of [prev, q]) {
          const us = udCols[k];
          if (us >= 0)
            rows.push({
              name: `eu${rows.length}`,
              ...upEnduranceRow(boundary, us, udP[k], udPc[k], E, etaD, socLow),
            });
          const ws = wcCols[k];
          if (ws >= 0)
            rows.push({
              name: `ed${rows.length}`,
              ...downEnduranceRow(boundary, ws, udP[k], udPc[k], E, etaC, socHigh),
            });
        }
        prev = q;
      }
      energyRowIdx = [prev];
      energyRowCoef = [1];
    }
    const target = problem.energyTargetKwh[s];
    const minE = requiredEnergyKwh(problem, s);
    const sh = addCol(`sh${s}`, 0, target, problem.shortfallPenaltyPerKwh);
    rows.push({ name: `e${s}`, idx: energyRowIdx, coef: energyRowCoef, lo: 0, hi: problem.energyMaxKwh[s] });
    rows.push({
      name: `et${s}`,
      idx: [...energyRowIdx, sh],
      coef: [...energyRowCoef, 1],
      lo: target,
      hi: Number.POSITIVE_INFINITY,
    });
    if (minE > 0) {
      // Required energy: hard where the limits allow, else the missing part at a dominating penalty.
      const um = addCol(`um${s}`, 0, minE, requiredPenaltyPerKwh(problem));
      rows.push({
        name: `em${s}`,
        idx: [...energyRowIdx, um],
        coef: [...energyRowCoef, 1],
        lo: minE,
        hi: Number.POSITIVE_INFINITY,
      });
    }
  }

  const reservePenalty = requiredPenaltyPerKwh(problem) * E;
  for (let t = 0; t < T; t++) {
    for (const [r, kw, tag] of [
      [upRows[t], upAt(t), 'u'],
      [downRows[t], downAt(t), 'd'],
    ] as const) {
      if (kw <= 0) continue;
      const short = addCol(`rs${tag}${t}`, 0, Number.POSITIVE_INFINITY, reservePenalty);
      rows.push({
        name: `rf${tag}${t}`,
        idx: [...r.idx, short],
        coef: [...r.coef, 1],
        lo: kw,
        hi: Number.POSITIVE_INFINITY,
      });
    }
  }

  for (let n = 0; n < N; n++) {
    for (let t = 0; t < T; t++) {
      const r = nodeRows[n * T + t];
      if (r.idx.length === 0) continue;
      rows.push({
        name: `n${n}_${t}`,
        idx: r.idx,
        coef: r.coef,
        lo: -exportKw[n * T + t],
        hi: importKw[n * T + t],
      });
    }
  }

  let objectiveOffset = 0;
  // Site balance: pi - pe - Σ(c - d) [- dp + dm] = load.
  const base = problem.baselineKw;
  const dev = problem.baselineDeviationCostPerKwh * h;
  const peak =
    problem.demandChargePerKw > 0
      ? addCol('peak', problem.peakFloorKw, Number.POSITIVE_INFINITY, problem.demandChargePerKw)
      : -1;
  if (peak >= 0) objectiveOffset -= problem.demandChargePerKw * problem.peakFloorKw;
  for (let t = 0; t < T; t++) {
    const load = problem.siteLoadKw ? problem.siteLoadKw[t] : 0;
    rows.push({ name: `b${t}`, idx: siteRows[t].idx, coef: siteRows[t].coef, lo: load, hi: load });
    if (base) {
      const dp = addCol(`dp${t}`, 0, Number.POSITIVE_INFINITY, dev);
      const dm = addCol(`dm${t}`, 0, Number.POSITIVE_INFINITY, dev);
      rows.push({
        name: `bl${t}`,
        idx: [imp[t], exp[t], dp, dm],
        coef: [1, -1, -1, 1],
        lo: base[t],
        hi: base[t],
      });
    }
    if (peak >= 0)
      rows.push({
        name: `pk${t}`,
        idx: [peak, imp[t], exp[t]],
        coef: [1, -1, 1],
        lo: 0,
        hi: Number.POSITIVE_INFINITY,
      });
  }
  return { colNames, colLo, colHi, colCost, binary, rows, objectiveOffset, chargeCol, dischargeCol };
}

/** The column bounds and costs of an LP, as in `LpModel` (and `DenseLp`). */
export interface LpColumns {
  colLo: number[];
  colHi: number[];
  colCost: number[];
}

/** One row lo ≤ Σ coef·x[idx] ≤ hi (without the name `LpModel` gives it). */
export interface LpRow {
  idx: number[];
  coef: number[];
  lo: number;
  hi: number;
}

/** Appends the column lo ≤ x ≤ hi at `cost` per unit; returns its index. */
export function addLpColumn(cols: LpColumns, lo: number, hi: number, cost: number): number {
  cols.colLo.push(lo);
  cols.colHi.push(hi);
  cols.colCost.push(cost);
  return cols.colLo.length - 1;
}

/**
 * Reserve rows of one session in one slot (shared with `windowLp` so both formulate the reserve alike), its power
 * p = Σ pCoef·x[pIdx] (c − d): the up reserve held ready `usCol` ≤ p + dMax. Backing columns are free: negative where
 * the plan itself cannot be held for the endurance.
 */
export function upBackingRow(usCol: number, pIdx: number[], pCoef: number[], dMaxKw: number): LpRow {
  return {
    idx: [usCol, ...pIdx],
    coef: [1, ...pCoef.map((x) => -x)],
    lo: Number.NEGATIVE_INFINITY,
    hi: dMaxKw,
  };
}

/** The down reserve held ready `wsCol` ≤ pMax − p (see `upBackingRow`). */
export function downBackingRow(wsCol: number, pIdx: number[], pCoef: number[], pMaxKw: number): LpRow {
  return { idx: [wsCol, ...pIdx], coef: [1, ...pCoef], lo: Number.NEGATIVE_INFINITY, hi: pMaxKw };
}

/**
 * At a slot boundary, SoC − (us − p)·E/ηd ≥ socLow: the extra discharge held lasts E hours. `socCol` is the SoC
 * column there, -1 where the SoC is a constant (folded into `socLowKwh`).
 */
export function upEnduranceRow(
  socCol: number,
  usCol: number,
  pIdx: number[],
  pCoef: number[],
  enduranceHours: number,
  etaD: number,
  socLowKwh: number,
): LpRow {
  const E = enduranceHours;
  const pScaled = pCoef.map((x) => (x * E) / etaD);
  return boundaryRow(socCol, usCol, -E / etaD, pIdx, pScaled, socLowKwh, Number.POSITIVE_INFINITY);
}

/** At a slot boundary, SoC + (ws + p)·E·ηc ≤ socHigh: the extra charging held lasts E hours (see `upEnduranceRow`). */
export function downEnduranceRow(
  socCol: number,
  wsCol: number,
  pIdx: number[],
  pCoef: number[],
  enduranceHours: number,
  etaC: number,
  socHighKwh: number,
): LpRow {
  const E = enduranceHours;
  const pScaled = pCoef.map((x) => x * E * etaC);
  return boundaryRow(socCol, wsCol, E * etaC, pIdx, pScaled, Number.NEGATIVE_INFINITY, socHighKwh);
}

/** lo ≤ SoC (when `socCol` ≥ 0) + reserveCoef·reserve + Σ pScaled·x[pIdx] ≤ hi: the shape both endurance rows share. */
function boundaryRow(
  socCol: number,
  reserveCol: number,
  reserveCoef: number,
  pIdx: number[],
  pScaled: number[],
  lo: number,
  hi: number,
): LpRow {
  return socCol >= 0
    ? { idx: [socCol, reserveCol, ...pIdx], coef: [1, reserveCoef, ...pScaled], lo, hi }
    : { idx: [reserveCol, ...pIdx], coef: [reserveCoef, ...pScaled], lo, hi };
}

const fmt = (x: number) => (Number.isInteger(x) ? String(x) : x.toPrecision(15));

/** CPLEX LP text of the model (accepted by HiGHS and GLPK). */
export function lpModelToCplexLp(model: LpModel): string {
  const out: string[] = ['Minimize', ' obj:'];
  const term = (coef: number, name: string) => `${coef < 0 ? '-' : '+'} ${fmt(Math.abs(coef))} ${name}`;
  let line: string[] = [];
  const flush = () => {
    if (line.length > 0) out.push(`  ${line.join(' ')}`);
    line = [];
  };
  model.colCost.forEach((c, j) => {
    if (c !== 0) {
      line.push(term(c, model.colNames[j]));
      if (line.length >= 8) flush();
    }
  });
  if (model.colCost.every((c) => c === 0)) line.push(`0 ${model.colNames[0]}`);
  flush();
  out.push('Subject To');
  for (const r of model.rows) {
    if (r.idx.length === 0) continue;
    const expr = r.idx.map((j, k) => term(r.coef[k], model.colNames[j])).join(' ');
    if (r.lo === r.hi) out.push(` ${r.name}: ${expr} = ${fmt(r.lo)}`);
    else {
      if (r.lo > Number.NEGATIVE_INFINITY) out.push(` ${r.name}_lo: ${expr} >= ${fmt(r.lo)}`);
      if (r.hi < Number.POSITIVE_INFINITY) out.push(` ${r.name}_hi: ${expr} <= ${fmt(r.hi)}`);
    }
  }
  out.push('Bounds');
  model.colNames.forEach((name, j) => {
    if (model.binary[j]) return;
    const lo = model.colLo[j];
    const hi = model.colHi[j];
    const lower = lo === Number.NEGATIVE_INFINITY ? '-inf' : fmt(lo);
    out.push(
      hi === Number.POSITIVE_INFINITY
        ? lo === Number.NEGATIVE_INFINITY
          ? ` ${name} free`
          : ` ${name} >= ${lower}`
        : ` ${lower} <= ${name} <= ${fmt(hi)}`,
    );
  });
  const bins = model.colNames.filter((_, j) => model.binary[j]);
  if (bins.length > 0) {
    out.push('Binary');
    for (let i = 0; i < bins.length; i += 10) out.push(` ${bins.slice(i, i + 10).join(' ')}`);
  }
  out.push('End');
  return out.join('\n');
}
