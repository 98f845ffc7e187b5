import { type PlanningProblem, requiredEnergyKwh, requiredPenaltyPerKwh } from './planningProblem';

/**
 * Lagrangian lower bound on the optimal cost (of the exact LP, hence of any feasible schedule).
 *
 * Relaxation: node limits, the AC floor, the reserve and the SoC path between slot 0 and the end are dropped, and the
 * demand charge (≥ 0) is left out. The site cost of slot t is convex piecewise linear in the site power P, so for any
 * slope λ_t between its smallest and largest slope it lies above the line λ_t·P + c_t (c_t = min_P cost_t(P) − λ_t·P,
 * reached at a kink). With that line the sessions decouple: each buys battery kWh in slot t at λ_t/ηc (up to its
 * power), sells them at (λ_t − wear)·ηd (V2G, up to its discharge power) and pays its shortfall penalties on the net
 * energy E, with E within what its SoC range and energy maximum allow at the end. That small LP is solved exactly by
 * its own dual: for a value μ per battery kWh the cost splits per slot; the dual function is concave piecewise linear
 * in μ and is maximised over its breakpoints (one sorted walk, O(window) per session).
 *
 * Any λ gives a valid bound; `siteKw` (a schedule's site power, e.g. the fast scheduler's) picks λ_t as the site cost's
 * slope there (the import price where the site imports, the export price where it exports; at 0 either, or between). It is
 * tight when node limits do not bind and weak when they do (it knows nothing of them).
 */
export function lagrangianLowerBound(problem: PlanningProblem, siteKw?: Float64Array): number {
  // At a kink the best slope is unknown: the right one (import) suits slots where EVs would rather charge; small
  // sites also try the left one and the middle and keep the best bound.
  let best = boundAt(problem, siteKw, 1);
  if (problem.sessionCount * problem.slotCount <= 50_000)
    best = Math.max(best, boundAt(problem, siteKw, 0), boundAt(problem, siteKw, -1));
  return best;
}

/** The bound for slopes taken at `siteKw`; at a kink, the right slope (+1), the left one (−1) or the middle (0). */
function boundAt(problem: PlanningProblem, siteKw: Float64Array | undefined, atKink: number): number {
  const T = problem.slotCount;
  const h = problem.slotHours;
  const imp = problem.importPricePerKwh;
  const exp = problem.exportPricePerKwh;
  const base = problem.baselineKw;
  const dev = base ? problem.baselineDeviationCostPerKwh : 0;
  const lambda = new Float64Array(T);
  let bound = 0;
  for (let t = 0; t < T; t++) {
    const load = problem.siteLoadKw ? problem.siteLoadKw[t] : 0;
    const P = siteKw ? siteKw[t] : load;
    // A subgradient of the site cost at P.
    const left = slopeAt(problem, t, P, -1);
    const right = slopeAt(problem, t, P, 1);
    const lam = atKink > 0 ? right : atKink < 0 ? left : 0.5 * (left + right);
    lambda[t] = lam;
    // c_t = min over the kinks (0 and the baseline) of cost_t(K) − λ·K; valid because exp − dev ≤ λ ≤ imp + dev.
    let c = siteCostPerHour(imp[t], exp[t], dev, base ? base[t] : 0, 0);
    if (base) c = Math.min(c, siteCostPerHour(imp[t], exp[t], dev, base[t], base[t]) - lam * base[t]);
    bound += (c + lam * load) * h;
  }

  const order = new Int32Array(T);
  for (let t = 0; t < T; t++) order[t] = t;
  order.sort((a, b) => lambda[a] - lambda[b] || a - b);
  const win = new Int32Array(T);
  const penalty = problem.shortfallPenaltyPerKwh;
  const big = requiredPenaltyPerKwh(problem);
  const kinks = Float64Array.of(0, penalty, big, penalty + big).sort();
  for (let s = 0; s < problem.sessionCount; s++) {
    const first = problem.firstSlot[s];
    const end = problem.endSlot[s];
    let W = 0;
    for (let i = 0; i < T; i++) {
      const t = order[i];
      if (t >= first && t < end) win[W++] = t;
    }
    const etaC = problem.chargeEfficiency[s];
    const etaD = problem.dischargeEfficiency[s];
    const wear = problem.wearCostPerKwh[s];
    const X = problem.maxChargeKw[s] * h * etaC;
    const Y = (problem.maxDischargeKw[s] * h) / etaD;
    const eLo = Math.min(0, problem.socMinKwh[s] - problem.socKwh[s]);
    const eHi = Math.max(eLo, Math.min(problem.energyMaxKwh[s], problem.capacityKwh[s] - problem.socKwh[s]));
    const target = problem.energyTargetKwh[s];
    const required = requiredEnergyKwh(problem, s);
    const e2 = clamp(required, eLo, eHi);
    const e3 = clamp(target, eLo, eHi);
    // Walk μ upward over all breakpoints: buy prices a (ascending with λ), sell prices b (ascending with λ) and the
    // penalty kinks. Sums over a < μ (bought) and b > μ (sold) are kept incrementally.
    let sumX = 0;
    let sumAX = 0;
    let sumY = Y > 0 ? W * Y : 0;
    let sumBY = 0;
    if (Y > 0) for (let i = 0; i < W; i++) sumBY += (lambda[win[i]] - wear) * etaD * Y;
    let ia = 0;
    let ib = 0;
    let ik = 0;
    let best = Number.NEGATIVE_INFINITY;
    for (;;) {
      const a = ia < W ? lambda[win[ia]] / etaC : Number.POSITIVE_INFINITY;
      const b = Y > 0 && ib < W ? (lambda[win[ib]] - wear) * etaD : Number.POSITIVE_INFINITY;
      const k = ik < kinks.length ? kinks[ik] : Number.POSITIVE_INFINITY;
      const mu = Math.min(a, b, k);
      if (mu === Number.POSITIVE_INFINITY) break;
      // L(μ) with the sums of the points strictly on each side; the point μ itself contributes 0 either way.
      // min over E of penalty(E) + μ·E: convex piecewise linear, so one of its kinks or ends.
      const energyPart = Math.min(
        penaltyAt(eLo, target, required, penalty, big) + mu * eLo,
        penaltyAt(eHi, target, required, penalty, big) + mu * eHi,
        penaltyAt(e2, target, required, penalty, big) + mu * e2,
        penaltyAt(e3, target, required, penalty, big) + mu * e3,
      );
      const value = sumAX - mu * sumX + mu * sumY - sumBY + energyPart;
      if (value > best) best = value;
      if (mu === a) {
        sumX += X;
        sumAX += a * X;
        ia++;
      } else if (mu === b) {
        sumY -= Y;
        sumBY -= b * Y;
        ib++;
      } else ik++;
    }
    bound += best;
  }
  return bound;
}

function penaltyAt(e: number, target: number, required: number, penalty: number, big: number): number {
  return penalty * Math.max(0, target - e) + big * Math.max(0, required - e);
}

function clamp(x: number, lo: number, hi: number): number {
  return x < lo ? lo : x > hi ? hi : x;
}

function siteCostPerHour(imp: number, exp: number, dev: number, base: number, P: number): number {
  return (P >= 0 ? imp : exp) * P + dev * Math.abs(P - base);
}

/** Left (dir −1) or right (dir +1) slope of slot t's site cost at site power P. */
function slopeAt(problem: PlanningProblem, t: number, P: number, dir: number): number {
  const onRight = dir > 0 ? P >= 0 : P > 0;
  let c = onRight ? problem.importPricePerKwh[t] : problem.exportPricePerKwh[t];
  if (problem.baselineKw) {
    const B = problem.baselineKw[t];
    const above = dir > 0 ? P >= B : P > B;
    c += above ? problem.baselineDeviationCostPerKwh : -problem.baselineDeviationCostPerKwh;
  }
  return c;
}
