import { type PlanningProblem, requiredEnergyKwh, requiredPenaltyPerKwh } from './planningProblem';
import { reserveActive, reserveBacking } from './reserveBacking';

/** Cost terms of a schedule under the problem's cost model (see `PlanningProblem`). */
export interface ScheduleCost {
  costTotal: number;
  /** Site import cost minus export revenue. */
  energyCost: number;
  wearCost: number;
  shortfallKwh: number;
  shortfallCost: number;
  /** Required (minimum) energy the limits did not allow, and its penalty. */
  unmetRequiredKwh: number;
  unmetRequiredCost: number;
  demandCost: number;
  baselineCost: number;
  /** Reserve activation energy the plan cannot sustain for the endurance (see `reserveBacking`), and its penalty. */
  reserveUnbackedKwh: number;
  reserveCost: number;
  /** Site net power per slot (load + EVs), kW. */
  siteKw: Float64Array;
  /** Battery-side kWh delivered per session over the horizon. */
  deliveredKwh: Float64Array;
}

/** Battery-side energy change of grid power `kw` for `hours` at the given efficiencies. */
export function batteryKwh(kw: number, hours: number, etaCharge: number, etaDischarge: number): number {
  return kw >= 0 ? kw * hours * etaCharge : (kw * hours) / etaDischarge;
}

export function scheduleCost(problem: PlanningProblem, sessionKw: Float64Array): ScheduleCost {
  const S = problem.sessionCount;
  const T = problem.slotCount;
  const h = problem.slotHours;
  const siteKw = new Float64Array(T);
  if (problem.siteLoadKw) siteKw.set(problem.siteLoadKw);
  const deliveredKwh = new Float64Array(S);
  let wearCost = 0;
  let shortfallKwh = 0;
  let unmetRequiredKwh = 0;
  for (let s = 0; s < S; s++) {
    const etaC = problem.chargeEfficiency[s];
    const etaD = problem.dischargeEfficiency[s];
    let e = 0;
    let discharged = 0;
    const row = s * T;
    for (let t = 0; t < T; t++) {
      const p = sessionKw[row + t];
      if (p === 0) continue;
      siteKw[t] += p;
      if (p > 0) e += p * h * etaC;
      else {
        e += (p * h) / etaD;
        discharged -= p * h;
      }
    }
    deliveredKwh[s] = e;
    wearCost += discharged * problem.wearCostPerKwh[s];
    shortfallKwh += Math.max(0, problem.energyTargetKwh[s] - e);
    const unmet = requiredEnergyKwh(problem, s) - e;
    if (unmet > 1e-9) unmetRequiredKwh += unmet;
  }
  let energyCost = 0;
  let baselineCost = 0;
  let peak = Number.NEGATIVE_INFINITY;
  for (let t = 0; t < T; t++) {
    const P = siteKw[t];
    energyCost += (P >= 0 ? problem.importPricePerKwh[t] : problem.exportPricePerKwh[t]) * P * h;
    if (problem.baselineKw)
      baselineCost += problem.baselineDeviationCostPerKwh * Math.abs(P - problem.baselineKw[t]) * h;
    if (P > peak) peak = P;
  }
  const demandCost =
    problem.demandChargePerKw > 0 ? problem.demandChargePerKw * Math.max(0, peak - problem.peakFloorKw) : 0;
  const shortfallCost = shortfallKwh * problem.shortfallPenaltyPerKwh;
  const unmetRequiredCost = unmetRequiredKwh * requiredPenaltyPerKwh(problem);
  const reserveUnbackedKwh = reserveActive(problem) ? reserveBacking(problem, sessionKw).unbackedKwh : 0;
  const reserveCost = reserveUnbackedKwh * requiredPenaltyPerKwh(problem);
  return {
    costTotal:
      energyCost + wearCost + shortfallCost + unmetRequiredCost + demandCost + baselineCost + reserveCost,
    energyCost,
    wearCost,
    shortfallKwh,
    shortfallCost,
    unmetRequiredKwh,
    unmetRequiredCost,
    demandCost,
    baselineCost,
    reserveUnbackedKwh,
    reserveCost,
    siteKw,
    deliveredKwh,
  };
}
