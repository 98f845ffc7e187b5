import { type PowerVariationMessage, variedLimitKw } from '../models/powerVariation';
import type { Baseline, DemandResponse, PriceCurve } from '../models/rmSignal';
import type { Session } from '../models/session';
import type { SiteTopology, TopologyNode } from '../models/topology';
import type { PlanningProblem } from './planningProblem';

export interface PlanningInput {
  topology: SiteTopology;
  sessions: { evseId: string; session: Session }[];
  variations?: PowerVariationMessage[];
  demandResponses?: DemandResponse[];
  prices?: PriceCurve | null;
  nowMs: number;
  /** Slot length, 1–60 min; default 15. */
  slotMinutes?: number;
  /**
   * true (default): slot 0 starts at nowMs floored to the slot length (market-aligned grid).
   * false: slot 0 starts at nowMs (a receding-horizon grid for MPC, so slot 0 is never a
   * partly elapsed slot the plan would count in full).
   */
  alignToClock?: boolean;
  /** Number of slots; default 24 h worth. */
  horizonSlots?: number;
  /** Price used where the curve has no value; default 0.25 per kWh. */
  defaultImportPricePerKwh?: number;
  defaultExportPricePerKwh?: number;
  /** Default 1.0 per kWh missing at departure. */
  shortfallPenaltyPerKwh?: number;
  /** Default 0.95 / 0.95. */
  chargeEfficiency?: number;
  dischargeEfficiency?: number;
  /** Default 0.05 per kWh discharged. */
  wearCostPerKwh?: number;
  /** Non-EV load minus generation, kW, one value per slot from slot 0. */
  siteLoadKw?: ArrayLike<number>;
  reserveUpKw?: ArrayLike<number>;
  reserveDownKw?: ArrayLike<number>;
  reserveEnduranceHours?: number;
  demandChargePerKw?: number;
  peakFloorKw?: number;
  baseline?: Baseline | null;
  baselineDeviationCostPerKwh?: number;
}

const MS_PER_MINUTE = 60_000;

/** Value of a curve (startMs, slotMinutes, values) at time ms; the last value holds after the end, undefined before. */
function curveAt(startMs: number, slotMinutes: number, values: number[], ms: number): number | undefined {
  if (ms < startMs || values.length === 0) return undefined;
  const i = Math.floor((ms - startMs) / (slotMinutes * MS_PER_MINUTE));
  return values[Math.min(i, values.length - 1)];
}

function perSlot(values: ArrayLike<number> | undefined, T: number): Float64Array | null {
  if (!values) return null;
  const out = new Float64Array(T);
  for (let t = 0; t < T && t < values.length; t++) out[t] = values[t];
  return out;
}

/**
 * Builds the typed-array problem from domain types. Slots are aligned to the clock (slot 0 starts at nowMs floored to
 * the slot length). A session may draw power from the first slot that starts at or after its arrival (slot 0 if it
 * is already plugged in) to the last slot that ends by its departure — conservative, so plans never assume power
 * after the EV has left.
 *
 * Node limits per slot: a DSO variation touching a slot applies to the whole slot, by `variedLimitKw` (the rule
 * the engine's safety clamp uses too: never above the static limit, never below the §14a guaranteed minimum);
 * overlapping variations take the lowest result (DSO limits outrank everything). A
 * demand-response cap lowers the import limit of its node. Export limits are 0 at EVSEs that cannot discharge for
 * the session plugged in; V2G needs EV (maxDischargeKw > 0), EVSE (v2gCapable) and contract (v2gAllowed).
 */
export function buildPlanningProblem(input: PlanningInput): PlanningProblem {
  const slotMinutes = input.slotMinutes ?? 15;
  const slotMs = slotMinutes * MS_PER_MINUTE;
  const T = input.horizonSlots ?? Math.round((24 * 60) / slotMinutes);
  const slotStartMs = input.alignToClock === false ? input.nowMs : Math.floor(input.nowMs / slotMs) * slotMs;
  const slotHours = slotMinutes / 60;
  const warnings: string[] = [];

  // Nodes in BFS order from the root so parents precede children.
  const nodes = input.topology.nodes;
  const children = new Map<string | null, TopologyNode[]>();
  for (const node of nodes) {
    const list = children.get(node.parentId) ?? [];
    list.push(node);
    children.set(node.parentId, list);
  }
  const ordered: TopologyNode[] = [];
  const queue = [...(children.get(null) ?? [])];
  if (queue.length !== 1) throw new Error('topology must have exactly one root');
  while (queue.length > 0) {
    const node = queue.shift()!;
    ordered.push(node);
    for (const child of children.get(node.nodeId) ?? []) queue.push(child);
  }
  const N = ordered.length;
  const index = new Map<string, number>();
  ordered.forEach((node, i) => {
    index.set(node.nodeId, i);
  });
  const nodeParent = new Int32Array(N);
  for (let n = 0; n < N; n++) {
    const parentId = ordered[n].parentId;
    nodeParent[n] = parentId === null ? -1 : index.get(parentId)!;
  }

  const evsesBelow = new Int32Array(N);
  for (let n = N - 1; n >= 0; n--) {
    if (ordered[n].kind === 'evse') evsesBelow[n]++;
    if (nodeParent[n] >= 0) evsesBelow[nodeParent[n]] += evsesBelow[n];
  }

  const nodeImportKw = new Float64Array(N * T);
  const nodeExportKw = new Float64Array(N * T);
  for (let n = 0; n < N; n++) {
    nodeImportKw.fill(ordered[n].importLimitKw, n * T, (n + 1) * T);
    nodeExportKw.fill(ordered[n].exportLimitKw, n * T, (n + 1) * T);
  }

  const slotOf = (ms: number) => Math.floor((ms - slotStartMs) / slotMs);
  const slotRange = (startMs: number, endMs: number): [number, number] => [
    Math.max(0, slotOf(startMs)),
    Math.min(T, Math.ceil((endMs - slotStartMs) / slotMs)),
  ];

  // DSO variations: per touched (node, slot), the lowest resulting limit wins.
  const variedImport = new Float64Array(N * T).fill(Number.POSITIVE_INFINITY);
  const variedExport = new Float64Array(N * T).fill(Number.POSITIVE_INFINITY);
  for (const v of input.variations ?? []) {
    const n = index.get(v.nodeId);
    if (n === undefined) {
      warnings.push(`variation ${v.variationId}: unknown node ${v.nodeId}`);
      continue;
    }
    const [t0, t1] = slotRange(v.startMs, v.endMs);
    const importKw = variedLimitKw(v, 'import', ordered[n].importLimitKw, evsesBelow[n]);
    const exportKw = variedLimitKw(v, 'export', ordered[n].exportLimitKw, evsesBelow[n]);
    for (let t = t0; t < t1; t++) {
      const k = n * T + t;
      if (importKw !== undefined) variedImport[k] = Math.min(variedImport[k], importKw);
      if (exportKw !== undefined) variedExport[k] = Math.min(variedExport[k], exportKw);
    }
  }
  for (let k = 0; k < N * T; k++) {
    if (variedImport[k] !== Number.POSITIVE_INFINITY) nodeImportKw[k] = variedImport[k];
    if (variedExport[k] !== Number.POSITIVE_INFINITY) nodeExportKw[k] = variedExport[k];
  }
  for (const dr of input.demandResponses ?? []) {
    const n = index.get(dr.nodeId);
    if (n === undefined) {
      warnings.push(`demand response ${dr.eventId}: unknown node ${dr.nodeId}`);
      continue;
    }
    const [t0, t1] = slotRange(dr.startMs, dr.endMs);
    for (let t = t0; t < t1; t++) nodeImportKw[n * T + t] = Math.min(nodeImportKw[n * T + t], dr.capKw);
  }
  for (let k = 0; k < N * T; k++) {
    if (nodeImportKw[k] < 0) nodeImportKw[k] = 0;
    if (nodeExportKw[k] < 0) nodeExportKw[k] = 0;
  }

  // Sessions.
  const accepted = input.sessions.filter(({ evseId, session }) => {
    const n = index.get(evseId);
    if (n === undefined || ordered[n].kind !== 'evse') {
      warnings.push(`session ${session.sessionId}: ${evseId} is not an EVSE of this site`);
      return false;
    }
    return true;
  });
  const S = accepted.length;
  const sessionNode = new Int32Array(S);
  const firstSlot = new Int32Array(S);
  const endSlot = new Int32Array(S);
  const f64 = () => new Float64Array(S);
  const maxChargeKw = f64();
  const maxDischargeKw = f64();
  const minChargeKw = f64();
  const chargeEfficiency = f64();
  const dischargeEfficiency = f64();
  const energyTargetKwh = f64();
  const energyMinKwh = f64();
  const energyMaxKwh = f64();
  const socKwh = f64();
  const socMinKwh = f64();
  const capacityKwh = f64();
  const wearCostPerKwh = f64();
  const v2gEvse = new Uint8Array(N);
  accepted.forEach(({ evseId, session }, s) => {
    const n = index.get(evseId)!;
    sessionNode[s] = n;
    // Both within [0, T]: an arrival after the horizon gets an empty window at its end.
    firstSlot[s] =
      session.arrivalMs <= input.nowMs
        ? 0
        : Math.min(T, Math.max(0, Math.ceil((session.arrivalMs - slotStartMs) / slotMs)));
    endSlot[s] = Math.max(
      firstSlot[s],
      Math.min(T, Math.floor((session.departureMs - slotStartMs) / slotMs)),
    );
    const v2g = session.v2gAllowed && ordered[n].v2gCapable === true && session.maxDischargeKw > 0;
    if (v2g) v2gEvse[n] = 1;
    maxChargeKw[s] = session.maxChargeKw;
    maxDischargeKw[s] = v2g ? session.maxDischargeKw : 0;
    minChargeKw[s] = Math.min(session.minChargeKw ?? 0, session.maxChargeKw);
    chargeEfficiency[s] = input.chargeEfficiency ?? 0.95;
    dischargeEfficiency[s] = input.dischargeEfficiency ?? 0.95;
    capacityKwh[s] = session.batteryCapacityKwh;
    socKwh[s] = (session.socPct / 100) * session.batteryCapacityKwh;
    socMinKwh[s] = (session.minSocReservePct / 100) * session.batteryCapacityKwh;
    energyMaxKwh[s] = Math.max(0, Math.min(session.energyMaxKwh, capacityKwh[s] - socKwh[s]));
    energyTargetKwh[s] = Math.min(session.energyTargetKwh, energyMaxKwh[s]);
    energyMinKwh[s] = Math.min(session.energyMinKwh, energyTargetKwh[s]);
    wearCostPerKwh[s] = input.wearCostPerKwh ?? 0.05;
  });
  // EVSEs: export only where a V2G session is plugged in.
  for (let n = 0; n < N; n++) {
    if (ordered[n].kind === 'evse' && v2gEvse[n] === 0) nodeExportKw.fill(0, n * T, (n + 1) * T);
  }

  // Prices at each slot start; export never above import so the site cost stays convex.
  const importPricePerKwh = new Float64Array(T);
  const exportPricePerKwh = new Float64Array(T);
  const defImport = input.defaultImportPricePerKwh ?? 0.25;
  const defExport = input.defaultExportPricePerKwh ?? 0.08;
  let clampedExport = false;
  for (let t = 0; t < T; t++) {
    const ms = slotStartMs + t * slotMs;
    const p = input.prices;
    importPricePerKwh[t] = (p && curveAt(p.startMs, p.slotMinutes, p.importPricePerKwh, ms)) ?? defImport;
    exportPricePerKwh[t] = (p && curveAt(p.startMs, p.slotMinutes, p.exportPricePerKwh, ms)) ?? defExport;
    if (exportPricePerKwh[t] > importPricePerKwh[t]) {
      exportPricePerKwh[t] = importPricePerKwh[t];
      clampedExport = true;
    }
  }
  if (clampedExport) warnings.push('export price above import price clamped to import price');

  let baselineKw: Float64Array | null = null;
  if (input.baseline) {
    const b = input.baseline;
    baselineKw = new Float64Array(T);
    for (let t = 0; t < T; t++)
      baselineKw[t] = curveAt(b.startMs, b.slotMinutes, b.baselineKw, slotStartMs + t * slotMs) ?? 0;
  }

  return {
    siteId: input.topology.siteId,
    slotStartMs,
    slotMinutes,
    slotHours,
    sessionCount: S,
    slotCount: T,
    nodeCount: N,
    nodeIds: ordered.map((n) => n.nodeId),
    nodeParent,
    nodeImportKw,
    nodeExportKw,
    sessionIds: accepted.map((a) => a.session.sessionId),
    evseIds: accepted.map((a) => a.evseId),
    sessionNode,
    firstSlot,
    endSlot,
    maxChargeKw,
    maxDischargeKw,
    minChargeKw,
    chargeEfficiency,
    dischargeEfficiency,
    energyTargetKwh,
    energyMinKwh,
    energyMaxKwh,
    socKwh,
    socMinKwh,
    capacityKwh,
    wearCostPerKwh,
    importPricePerKwh,
    exportPricePerKwh,
    shortfallPenaltyPerKwh: input.shortfallPenaltyPerKwh ?? 1.0,
    siteLoadKw: perSlot(input.siteLoadKw, T),
    reserveUpKw: perSlot(input.reserveUpKw, T),
    reserveDownKw: perSlot(input.reserveDownKw, T),
    reserveEnduranceHours: input.reserveEnduranceHours ?? 0.25,
    demandChargePerKw: input.demandChargePerKw ?? 0,
    peakFloorKw: input.peakFloorKw ?? 0,
    baselineKw,
    baselineDeviationCostPerKwh: baselineKw ? (input.baselineDeviationCostPerKwh ?? 0.1) : 0,
    warnings,
  };
}
