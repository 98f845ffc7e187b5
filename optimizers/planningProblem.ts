/**
 * The site scheduling problem as typed arrays: S sessions × T slots over a node tree.
 *
 * Sign convention: positive kW = import / charging, negative kW = discharge / export.
 * Per-slot arrays are row-major: node arrays `[n * T + t]`, session schedules `[s * T + t]`.
 * Energies are battery-side kWh still to deliver from the start of slot 0 (ISO 15118-20 style).
 *
 * Battery model: grid power p in a slot of `slotHours` h changes the battery by
 * `chargeEfficiency * p * h` when p > 0 and by `p * h / dischargeEfficiency` when p < 0.
 *
 * Cost model (shared by every solver and by `scheduleCost`):
 * - site energy: site net power P_t = siteLoadKw[t] + Σ_s p[s,t]; cost `import * max(P,0) - export * max(-P,0)`
 *   per hour (export ≤ import is enforced by the builder so the cost is convex);
 * - wear: `wearCostPerKwh[s]` per grid-side kWh discharged (the extra throughput V2G causes);
 * - shortfall: `shortfallPenaltyPerKwh` per battery kWh below the energy target;
 * - optional demand charge: `demandChargePerKw * max(0, max_t P_t - peakFloorKw)`;
 * - optional baseline tracking: `baselineDeviationCostPerKwh * Σ_t |P_t - baselineKw[t]| * h`.
 *
 * Hard constraints: node import/export limits per slot (the root's limits shrink by the site load and the
 * reserved capacity, see `effectiveNodeLimits`), session windows, power bounds, the minimum charging
 * power floor (p = 0 or p ≥ minChargeKw when charging), SoC within [min(socKwh, socMinKwh), capacityKwh],
 * delivered energy ≤ energyMaxKwh and ≥ energyMinKwh (where reachable).
 */
export interface PlanningProblem {
  siteId: string;
  /** Start of slot 0, aligned to the slot length. */
  slotStartMs: number;
  slotMinutes: number;
  slotHours: number;
  sessionCount: number;
  slotCount: number;
  nodeCount: number;

  /** Nodes in topological order: index 0 is the site root; a parent's index is below its children's. */
  nodeIds: string[];
  /** Parent index, -1 for the root. */
  nodeParent: Int32Array;
  /** Per node per slot import limit, kW ≥ 0, `[n * T + t]`. */
  nodeImportKw: Float64Array;
  /** Per node per slot export limit magnitude, kW ≥ 0, `[n * T + t]`. */
  nodeExportKw: Float64Array;

  sessionIds: string[];
  evseIds: string[];
  /** Index of the session's EVSE (leaf) node. */
  sessionNode: Int32Array;
  /** The session may draw power in slots `firstSlot ≤ t < endSlot`. */
  firstSlot: Int32Array;
  endSlot: Int32Array;
  maxChargeKw: Float64Array;
  /** 0 unless V2G is allowed by EV, EVSE and contract. */
  maxDischargeKw: Float64Array;
  /** AC floor: when charging at all, at least this much; 0 = none. */
  minChargeKw: Float64Array;
  chargeEfficiency: Float64Array;
  dischargeEfficiency: Float64Array;
  /** Battery-side kWh still wanted by departure (soft, penalised). */
  energyTargetKwh: Float64Array;
  /** Battery-side kWh required by departure (hard where reachable). */
  energyMinKwh: Float64Array;
  /** Battery-side kWh allowed at most by departure. */
  energyMaxKwh: Float64Array;
  /** Battery energy at the start of slot 0. */
  socKwh: Float64Array;
  /** Discharging must not take the battery below this (the minimum SoC reserve). */
  socMinKwh: Float64Array;
  capacityKwh: Float64Array;
  /** Cost per grid-side kWh discharged. */
  wearCostPerKwh: Float64Array;

  importPricePerKwh: Float64Array;
  exportPricePerKwh: Float64Array;
  shortfallPenaltyPerKwh: number;
  /** Non-EV site load minus local generation per slot, kW (positive = import); null = none. */
  siteLoadKw: Float64Array | null;
  /** Capacity kept free at the site connection for frequency response: up = lower import, down = raise it. */
  reserveUpKw: Float64Array | null;
  reserveDownKw: Float64Array | null;
  /** How long the reserve must be sustainable, hours (reported in the envelope; see README gaps). */
  reserveEnduranceHours: number;
  demandChargePerKw: number;
  /** Peak already reached in the billing period: the demand charge applies only above it. */
  peakFloorKw: number;
  baselineKw: Float64Array | null;
  baselineDeviationCostPerKwh: number;
  /** Inputs the builder had to drop or clamp, for logging by the caller. */
  warnings: string[];
}

/**
 * Per-slot import and export limits every solver and the checker use: the root's limits net of site load and
 * reserve. Read-only: without load or reserve these are the problem's own arrays.
 */
export interface EffectiveLimits {
  importKw: Float64Array;
  exportKw: Float64Array;
}

/**
 * The root has to carry the non-EV load and keep the reserved capacity free: EV import at the root is limited to
 * `import - load - reserveDown` and EV export to `export + load - reserveUp`, both clamped at 0 (a load above the
 * limit is not the schedule's to fix; the checker applies the same clamp).
 */
export function effectiveNodeLimits(problem: PlanningProblem): EffectiveLimits {
  const T = problem.slotCount;
  // Nothing to net out: share the problem's arrays (callers only read them) instead of copying N × T values.
  if (!problem.siteLoadKw && !problem.reserveUpKw && !problem.reserveDownKw)
    return { importKw: problem.nodeImportKw, exportKw: problem.nodeExportKw };
  const importKw = problem.nodeImportKw.slice();
  const exportKw = problem.nodeExportKw.slice();
  for (let t = 0; t < T; t++) {
    const load = problem.siteLoadKw ? problem.siteLoadKw[t] : 0;
    const down = problem.reserveDownKw ? problem.reserveDownKw[t] : 0;
    const up = problem.reserveUpKw ? problem.reserveUpKw[t] : 0;
    importKw[t] = Math.max(0, importKw[t] - load - down);
    exportKw[t] = Math.max(0, exportKw[t] + load - up);
  }
  return { importKw, exportKw };
}

/** Battery-side kWh a session can take on its own (window, power, capacity), ignoring other sessions. */
export function reachableEnergyKwh(problem: PlanningProblem, s: number): number {
  const slots = Math.max(0, problem.endSlot[s] - problem.firstSlot[s]);
  const byPower = slots * problem.maxChargeKw[s] * problem.slotHours * problem.chargeEfficiency[s];
  return Math.min(byPower, problem.energyMaxKwh[s]);
}

/**
 * Required energy is hard where reachable; when the limits make it jointly unreachable, every solver minimises the
 * missing part first: it is priced at this (large) penalty per kWh in the shared cost model.
 */
export function requiredPenaltyPerKwh(problem: PlanningProblem): number {
  return 100 * Math.max(1, problem.shortfallPenaltyPerKwh);
}

/** Energy the session must get: its minimum, capped by what it can reach on its own. */
export function requiredEnergyKwh(problem: PlanningProblem, s: number): number {
  return Math.min(problem.energyMinKwh[s], reachableEnergyKwh(problem, s));
}

/** Smallest SoC the schedule may reach: the reserve, or the current SoC if already below it. */
export function socFloorKwh(problem: PlanningProblem, s: number): number {
  return Math.min(problem.socKwh[s], problem.socMinKwh[s]);
}
