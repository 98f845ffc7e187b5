import { backReserve } from './backReserve';
import { chargeFlow } from './chargeFlow';
import { checkFeasibility } from './checkFeasibility';
import { flowImprove } from './flowImprove';
import { lagrangianLowerBound } from './lowerBound';
import type { PlanningProblem } from './planningProblem';
import { reserveActive, reserveBacking, reserveNeedKw } from './reserveBacking';
import { type ScheduleCost, scheduleCost } from './scheduleCost';
import {
  addKw,
  createScheduleState,
  exchangeCycles,
  exchangeSession,
  importHeadroom,
  improveSession,
  nettingMoves,
  repairRequired,
  rescueShortfall,
  type ScheduleState,
  siteKw,
  slopeUp,
} from './scheduleState';
import { slotExchanges } from './slotExchanges';
import { smallSiteLp } from './smallSiteLp';
import { v2gPriceMoves } from './v2gPriceMoves';
import { windowLp } from './windowLp';

export interface FastScheduleOptions {
  /** Improvement sweeps over all sessions after the greedy; default 2. */
  improvementSweeps?: number;
  /** Greedy rounds with priorities re-estimated from the previous round (best kept); default 2. */
  greedyRounds?: number;
  /** Cap on pair examinations per session and sweep; default 8 × slots. */
  maxStepsPerSession?: number;
  /** V2G moves first run in quanta of this share of max discharge for a few sweeps; default 0.25 and 0 (off: full steps measured as good). */
  v2gQuantumShare?: number;
  v2gQuantumSweeps?: number;
  /** Augmenting passes for short sessions and sessions scanned per blocked slot; default 2 and 64. */
  rescuePasses?: number;
  rescueBudget?: number;
  /** Candidate sessions the rescue pass may examine in total; default 20 × sessions + 2,000. */
  rescueWork?: number;
  /** Cross-session exchange passes and sessions scanned per session and pass; default 2 and 32. */
  exchangePasses?: number;
  exchangeBudget?: number;
  /** Negative-cycle phase: largest sessions × slots it runs on, augmentations and arc relaxations at most. */
  flowSizeLimit?: number;
  flowAugments?: number;
  flowWork?: number;
  /** Min-cost flow over the charge-only sessions of congested sites: largest sessions × slots, arc scans at most. */
  chargeFlowSizeLimit?: number;
  chargeFlowWork?: number;
  /** Tiny reserve sites up to this many session-slots get the exact LP (`smallSiteLp`); default 128, 0 off. */
  smallLpSizeLimit?: number;
  /** Reserve sites above `smallLpSizeLimit`: the exact LP of slot windows of about this many session-slots
   *  (`windowLp`), swept over the horizon; default 120, 0 off. */
  windowLpSessionSlots?: number;
  /** Sweeps of the narrow window LPs at most (stopped when a sweep finds nothing); default 2. */
  windowLpSweeps?: number;
  /** Simplex work of all window LPs of one solve, in tableau entries touched; default 10⁸ (≈ 150–250 ms). */
  windowLpWork?: number;
  /** Of which the first attempt, the whole horizon as one window (the exact LP), at most; default 2·10⁷. */
  windowLpFullWork?: number;
  /** Rounds of V2G moves against `chargeFlow`'s node prices, each followed by `chargeFlow` (V2G sites); default 16. */
  v2gPriceRounds?: number;
}

export interface FastScheduleResult extends ScheduleCost {
  sessionKw: Float64Array;
  /** Valid lower bound on the optimal cost where the scheduler has one, else null. */
  lowerBound: number | null;
  /** Sessions whose required energy could not be met within the limits. */
  unmetRequiredSessions: number;
}

/**
 * Fast scheduler, designed for the structure: all sessions see the same slot prices, so a kWh is worth buying in the
 * cheapest slot the tree's capacity leaves to it.
 *
 * 1. Greedy water-filling over (slot, site-cost piece) in increasing marginal cost; within a slot, sessions in
 *    decreasing order of their marginal price θ (the price they would pay for their last kWh elsewhere), each up to
 *    its power, its want (target, or only the minimum where the cost exceeds the shortfall penalty) and the
 *    headroom along its path (a tree-capacity oracle: O(depth) per call). Round 2 re-estimates θ from round 1's
 *    outcome.
 * 2. Repair: sessions short of their required (minimum) energy take headroom, then optional energy of sessions
 *    sharing the bottleneck node.
 * 3. Improvement: energy-neutral moves within each session (dear slot → cheap slot; V2G arbitrage with SoC path).
 * 4. Demand charge (if any): golden-section search over a root import cap, repeating 1–3.
 *
 * Always feasible: every step checks node headroom, power bounds, floor and SoC; all-zero is feasible and the
 * scheduler only adds what fits.
 */
export function fastSchedule(
  problem: PlanningProblem,
  options: FastScheduleOptions = {},
): FastScheduleResult {
  if (problem.demandChargePerKw > 0) return withDemandCharge(problem, options);
  const st = createScheduleState(problem);
  runPipeline(st, options);
  return finish(st);
}

function finish(st: ScheduleState): FastScheduleResult {
  let unmet = 0;
  for (let s = 0; s < st.S; s++) if (st.deliveredKwh[s] < st.requiredKwh[s] - 1e-6) unmet++;
  const cost = scheduleCost(st.problem, st.kw);
  return {
    ...cost,
    sessionKw: st.kw,
    lowerBound: lagrangianLowerBound(st.problem, cost.siteKw),
    unmetRequiredSessions: unmet,
  };
}

export function runPipeline(st: ScheduleState, options: FastScheduleOptions): void {
  const rounds = Math.max(1, options.greedyRounds ?? 2);
  const S = st.S;
  const P = st.problem;
  const theta = initialTheta(st);
  let bestKw: Float64Array | null = null;
  let bestCost = Number.POSITIVE_INFINITY;
  for (let round = 0; round < rounds; round++) {
    if (round > 0) {
      // Only congested sites (sessions short of what they could take alone) get another round.
      let congestedKwh = 0;
      let targetKwh = 0;
      for (let s = 0; s < S; s++) {
        const alone = Math.min(P.energyTargetKwh[s], reachableKwh(st, s));
        if (st.deliveredKwh[s] < alone - 1e-6) congestedKwh += alone - st.deliveredKwh[s];
        targetKwh += P.energyTargetKwh[s];
      }
      if (congestedKwh <= 0.02 * targetKwh) break;
      // Keep this round's plan to compare with the next (only now: most sites stop after round 0).
      if (!bestKw) {
        bestCost = scheduleCost(P, st.kw).costTotal;
        bestKw = st.kw.slice();
      }
      resetState(st);
    }
    if (round === 1) greedyEarliestDeadline(st);
    else {
      if (round > 1) reestimateTheta(st, theta);
      greedy(st, theta);
    }
    for (let s = 0; s < S; s++) if (st.deliveredKwh[s] < st.requiredKwh[s] - 1e-9) repairRequired(st, s);
    rescueAll(st, options);
    improveAll(st, options);
    exchangeAll(st, options);
    repairAgain(st);
    backReserve(st);
    if (round > 0 && bestKw) {
      const cost = scheduleCost(P, st.kw).costTotal;
      if (cost < bestCost - 1e-12) {
        bestCost = cost;
        bestKw = st.kw.slice();
      } else loadSchedule(st, bestKw);
    }
  }
  flowPhase(st, options);
}

/**
 * Negative cycles in the residual graph (`flowImprove`): to a fixpoint on small sites, capped on mid-sized ones, off
 * on large ones (their measured gap is already small and the search is not linear).
 */
function flowPhase(st: ScheduleState, options: FastScheduleOptions): void {
  const size = st.S * st.T;
  const P = st.problem;
  if (
    size <= (options.chargeFlowSizeLimit ?? 30_000) &&
    P.demandChargePerKw <= 0 &&
    !reserveActive(P) &&
    congested(st)
  ) {
    const maxWork = options.chargeFlowWork ?? 2_000_000 + 1_000 * size;
    let v2g = false;
    for (let s = 0; s < st.S && !v2g; s++) v2g = P.maxDischargeKw[s] > 0 && P.minChargeKw[s] <= 0;
    // Sites the negative-cycle phase covers get their V2G plan from it (to the optimum on the measured classes).
    const rounds = v2g && size > 5_000 ? (options.v2gPriceRounds ?? 16) : 0;
    const up = rounds > 0 ? new Float64Array(P.nodeCount * st.T) : undefined;
    const down = rounds > 0 ? new Float64Array(P.nodeCount * st.T) : undefined;
    const kw = chargeFlow(st, { maxWork, pricesUp: up, pricesDown: down });
    if (kw) {
      const before = scheduleCost(P, st.kw).costTotal;
      if (scheduleCost(P, kw).costTotal < before - 1e-9 * Math.max(1, Math.abs(before))) loadSchedule(st, kw);
      if (up && down) priceRounds(st, up, down, rounds, maxWork);
    }
  }
  const limit = options.flowSizeLimit ?? 5_000;
  if (size > limit) return;
  const budget = {
    maxAugments: options.flowAugments ?? 200 + 50 * st.S,
    maxWork: options.flowWork ?? 5_000_000 + 200 * size,
  };
  flowImprove(st, budget);
  // Tiny reserve sites only (≤ 128 session-slots, e.g. 8 × 16): an engine plan over 96 slots keeps its cost.
  const smallLimit = options.smallLpSizeLimit ?? 128;
  if (reserveActive(P) && size <= smallLimit && !st.rootCapKw) {
    // The exact LP where it is cheap; when its schedule reaches the LP optimum nothing can beat it.
    if (exactSmallSite(st)) return;
  }
  if (reserveActive(P) && size > smallLimit && !st.rootCapKw) reserveWindows(st, options);
  if (reserveActive(P) && size <= 128) {
    for (let k = 0; k < 4; k++) if (!retryRequired(st, budget)) break;
    // Backing couples the sessions of a slot: one-slot exchanges between sessions (the giver taking it back in
    // another slot), then the negative-cycle phase again, while they pay.
    // Capped at 3·10⁵ session-slot cost terms per call (a few ms); the tiny sites where it matters finish inside.
    const evaluations = Math.floor(300_000 / Math.max(1, size));
    for (let k = 0; k < 3; k++) {
      if (slotExchanges(st, 3, evaluations) <= 0) break;
      flowImprove(st, budget);
    }
  }
}

/**
 * Reserve sites above the exact-LP step's size: the exact LP of windows of consecutive slots with every session
 * present (`windowLp`: the reserve couples the sessions of a slot; outside the window the plan and the later slots'
 * backing are held). Windows of about `windowLpSessionSlots` session-slots overlapping by half are swept over the
 * horizon while a sweep improves (at most `windowLpSweeps`), then windows three times as wide overlapping by a
 * quarter (a backing that needs SoC from far earlier), then the narrow ones again. Each window is kept only if the
 * exact cost falls; all of it within `windowLpWork` tableau entries touched by the simplex.
 */
function reserveWindows(st: ScheduleState, options: FastScheduleOptions): void {
  const target = options.windowLpSessionSlots ?? 120;
  if (target <= 0) return;
  const P = st.problem;
  const T = st.T;
  let budget = options.windowLpWork ?? 100_000_000;
  const workspace = { tab: new Float64Array(0) };
  const sweep = (sessionSlots: number, overlap: number): boolean => {
    const width = Math.max(2, Math.min(T, Math.floor(sessionSlots / Math.max(1, st.S))));
    const step = Math.max(1, Math.floor(width * (1 - overlap)));
    let improved = false;
    let backing = reserveBacking(P, st.kw);
    for (let from = 0; from < T && budget > 0; from += step) {
      const to = Math.min(T, from + width);
      // The later slots' backing is held, so a window gains reserve only inside itself: windows whose reserve is
      // backed are left alone (their energy cost is the other phases' job).
      let unbacked = false;
      for (let t = from; t < to && !unbacked; t++)
        unbacked =
          reserveNeedKw(P, t, true) > backing.upKw[t] + 1e-9 ||
          reserveNeedKw(P, t, false) > backing.downKw[t] + 1e-9;
      if (unbacked) {
        const r = windowLp(P, st.kw, from, to, { maxTouched: Math.min(budget, 100_000_000), workspace });
        budget -= r.touched;
        if (r.sessionKw) {
          loadSchedule(st, r.sessionKw);
          backing = reserveBacking(P, st.kw);
          improved = true;
        }
      }
      if (to === T) break;
    }
    return improved;
  };
  // First the whole horizon (the site's exact LP), warm-started from the plan: most sites finish within a few 10⁶
  // entries (measured: median 1·10⁶, 90 % within 1.2·10⁷ on reserveEngine); the windows only where it does not.
  const full = windowLp(P, st.kw, 0, T, {
    maxTouched: Math.min(budget, options.windowLpFullWork ?? 20_000_000),
    workspace,
  });
  budget -= full.touched;
  if (full.sessionKw) loadSchedule(st, full.sessionKw);
  if (full.optimal) return;
  const sweeps = options.windowLpSweeps ?? 2;
  for (let k = 0; k < sweeps && budget > 0; k++) if (!sweep(target, 0.5)) break;
  if (budget > 0 && sweep(3 * target, 0.75) && budget > 0) sweep(target, 0.5);
}

/**
 * Tiny reserve sites: the exact LP (`smallSiteLp`), kept if its schedule is cheaper. True when the schedule held is
 * the LP optimum (its cost equals the LP objective, a lower bound on every schedule's cost).
 */
function exactSmallSite(st: ScheduleState): boolean {
  const P = st.problem;
  const lp = smallSiteLp(P);
  if (!lp) return false;
  const cost = scheduleCost(P, lp.sessionKw).costTotal;
  const before = scheduleCost(P, st.kw).costTotal;
  const tol = 1e-9 * Math.max(1, Math.abs(cost));
  if (cost < before - tol) loadSchedule(st, lp.sessionKw);
  return Math.min(cost, before) <= lp.objective + tol;
}

/**
 * Reserve sites: the negative-cycle phase may give up a session's required energy to back the reserve (both priced
 * at 100× the shortfall penalty) where the optimum keeps both. Repair the required energy again, back the reserve
 * again, search again; keep it only if the exact cost falls (up to 4 times while it does).
 */
function retryRequired(st: ScheduleState, budget: { maxAugments: number; maxWork: number }): boolean {
  let short = false;
  for (let s = 0; s < st.S && !short; s++) short = st.deliveredKwh[s] < st.requiredKwh[s] - 1e-9;
  if (!short) return false;
  const P = st.problem;
  const saved = st.kw.slice();
  const before = scheduleCost(P, saved).costTotal;
  repairAgain(st);
  backReserve(st);
  flowImprove(st, budget);
  if (scheduleCost(P, st.kw).costTotal < before - 1e-9 * Math.max(1, Math.abs(before))) return true;
  loadSchedule(st, saved);
  return false;
}

/**
 * V2G sessions against `chargeFlow`'s node prices, then `chargeFlow` again around them: each round moves the V2G
 * sessions (pairs of slots, or one slot raising a session short of its energy; at most `quantum` battery kWh per move
 * and per slot in all) where the prices say it pays, re-plans the charge-only sessions exactly and keeps the result
 * only if the exact cost falls and the checker finds nothing. The first rounds price both directions at the midpoint
 * of the one-sided prices (fast progress, may overshoot); after the first failure, moves pay the one-sided prices
 * (lower at the down price, raise at the up price: a descent for one session and small steps). Sessions moved
 * together still collide on the same spare capacity, so further failures first split them (every 2nd, then every
 * 4th V2G session per round, in turn), then halve the quantum (the prices hold only near the flow they came from).
 */
function priceRounds(
  st: ScheduleState,
  up: Float64Array,
  down: Float64Array,
  rounds: number,
  maxWork: number,
): void {
  const P = st.problem;
  let best: Float64Array = st.kw.slice();
  let bestCost = scheduleCost(P, best).costTotal;
  const nextUp = new Float64Array(up.length);
  const nextDown = new Float64Array(down.length);
  let quantumKwh = 0;
  for (let s = 0; s < st.S; s++)
    if (P.maxDischargeKw[s] > 0) quantumKwh = Math.max(quantumKwh, P.maxDischargeKw[s] * st.h);
  const mid = new Float64Array(up.length);
  let useMid = true;
  let stride = 1;
  for (let round = 0; round < rounds && quantumKwh > 1e-3; round++) {
    const slotBudgetKw = quantumKwh / st.h;
    if (useMid)
      for (let k = 0; k < mid.length; k++) {
        const u = up[k];
        const d = down[k];
        mid[k] = Number.isFinite(u) ? (Number.isFinite(d) ? (u + d) / 2 : u) : d;
      }
    const lo = useMid ? mid : down;
    const hi = useMid ? mid : up;
    const offset = round % stride;
    if (
      v2gPriceMoves(st, hi, lo, {
        quantumKwh,
        maxStepsPerSession: 4 * st.T,
        slotBudgetKw,
        stride,
        offset,
      }) === 0
    ) {
      if (!useMid && stride === 1) break;
      if (!useMid) continue;
      useMid = false;
      loadSchedule(st, best);
      continue;
    }
    const kw = chargeFlow(st, { maxWork, pricesUp: nextUp, pricesDown: nextDown });
    const cost = kw ? scheduleCost(P, kw).costTotal : Number.POSITIVE_INFINITY;
    if (kw && cost < bestCost - 1e-9 * Math.max(1, Math.abs(bestCost)) && !hardViolations(P, kw)) {
      best = kw;
      bestCost = cost;
      up.set(nextUp);
      down.set(nextDown);
    } else if (useMid) useMid = false;
    else if (stride < 4) stride *= 2;
    else quantumKwh /= 2;
    loadSchedule(st, best);
  }
}

function hardViolations(problem: PlanningProblem, kw: Float64Array): boolean {
  for (const v of checkFeasibility(problem, kw)) if (v.kind !== 'energyBelowMin') return true;
  return false;
}

/** More than 2 % of what the sessions want (each capped by what it reaches alone) is not delivered. */
function congested(st: ScheduleState): boolean {
  const P = st.problem;
  let shortKwh = 0;
  let targetKwh = 0;
  for (let s = 0; s < st.S; s++) {
    const alone = Math.min(P.energyTargetKwh[s], reachableKwh(st, s));
    if (st.deliveredKwh[s] < alone) shortKwh += alone - st.deliveredKwh[s];
    targetKwh += P.energyTargetKwh[s];
  }
  return shortKwh > 0.02 * targetKwh;
}

function reachableKwh(st: ScheduleState, s: number): number {
  const P = st.problem;
  const slots = Math.max(0, P.endSlot[s] - P.firstSlot[s]);
  return Math.min(slots * P.maxChargeKw[s] * st.h * P.chargeEfficiency[s], P.energyMaxKwh[s]);
}

/** Cross-session exchanges (congested cheap slots), then one more improvement sweep over the sessions moved. */
export function exchangeAll(st: ScheduleState, options: FastScheduleOptions): void {
  // Large sites: the measured gain of exchanges there is small (≤ 0.01 %), their cost is not: off by default.
  const large = st.S * st.T > 200_000;
  const budget = options.exchangeBudget ?? 32;
  st.passWork = 20 * st.S + 2_000;
  for (let pass = 0; pass < (options.exchangePasses ?? (large ? 0 : 2)); pass++) {
    let made = 0;
    for (let s = 0; s < st.S; s++) made += exchangeSession(st, s, budget);
    // Longer cycles, journaled and kept only when they pay: small sites only (the search is not cheap).
    // Deep searches on small sites (property tests: ≤ 10 sessions); shallower beyond 100 sessions to stay fast.
    const small = st.S <= 100;
    if (!large)
      for (let s = 0; s < st.S; s++)
        if (exchangeCycles(st, s, small ? 3 : 2, small ? 24 : 8, small ? 8 : 4) > 1e-9) made++;
    if (!large) for (let s = 0; s < st.S; s++) if (nettingMoves(st, s, small ? 16 : 4) > 1e-9) made++;
    if (!large && made > 0) for (let s = 0; s < st.S; s++) improveSession(st, s, 8 * st.T);
    if (made === 0) break;
  }
  st.passWork = Number.POSITIVE_INFINITY;
}

/**
 * Second chance for required energy after the cost passes: sessions still short, earliest departure first, with a
 * deeper augmenting search (moves of others may have opened paths the first repair did not have).
 */
function repairAgain(st: ScheduleState): void {
  const P = st.problem;
  const short: number[] = [];
  for (let s = 0; s < st.S; s++) if (st.deliveredKwh[s] < st.requiredKwh[s] - 1e-9) short.push(s);
  if (short.length === 0) return;
  short.sort((a, b) => P.endSlot[a] - P.endSlot[b] || a - b);
  st.passWork = 50 * st.S + 5_000;
  for (let pass = 0; pass < 2; pass++) for (const s of short) repairRequired(st, s, 4, 256);
  st.passWork = Number.POSITIVE_INFINITY;
}

/** Length-2 augmenting paths for sessions short of their target (congested sites). */
export function rescueAll(st: ScheduleState, options: FastScheduleOptions): void {
  const P = st.problem;
  for (let pass = 0; pass < (options.rescuePasses ?? 2); pass++) {
    // Search budget per blocked slot shrinks with the number of short sessions so that a heavily overloaded site
    // costs tens of ms, not seconds (measured: 200 sessions at 5 % site capacity, 1.2 s → ~0.15 s, cost +1 %).
    let short = 0;
    for (let s = 0; s < st.S; s++) if (st.deliveredKwh[s] < P.energyTargetKwh[s] - 1e-6) short++;
    const budget =
      options.rescueBudget ?? Math.max(4, Math.min(64, Math.floor(200_000 / Math.max(1, short * st.T))));
    // And a cap on the whole pass (candidate sessions examined), linear in the site size.
    st.passWork = options.rescueWork ?? 20 * st.S + 2_000;
    let gained = 0;
    for (let s = 0; s < st.S; s++)
      if (st.deliveredKwh[s] < P.energyTargetKwh[s] - 1e-6) gained += rescueShortfall(st, s, budget);
    if (gained <= 1e-6) break;
  }
  st.passWork = Number.POSITIVE_INFINITY;
}

export function improveAll(st: ScheduleState, options: FastScheduleOptions): void {
  const sweeps = options.improvementSweeps ?? 1;
  const maxSteps = options.maxStepsPerSession ?? 8 * st.T;
  // V2G moves compete for the slots where the site still imports (discharge there is worth the import price, not
  // the export price): small quanta in round-robin sweeps share those slots out, then full steps finish the job.
  const quantumShare = options.v2gQuantumShare ?? 0.25;
  const quantumSweeps = options.v2gQuantumSweeps ?? 0;
  const P = st.problem;
  for (let sweep = 0; sweep < quantumSweeps; sweep++) {
    let saved = 0;
    for (let s = 0; s < st.S; s++)
      if (P.maxDischargeKw[s] > 0)
        saved += improveSession(
          st,
          s,
          maxSteps,
          (quantumShare * P.maxDischargeKw[s] * st.h) / P.dischargeEfficiency[s],
        );
    if (saved <= 1e-9) break;
  }
  // Later sweeps revisit only the sessions that still moved in the previous one.
  const active = new Uint8Array(st.S).fill(1);
  for (let sweep = 0; sweep < sweeps; sweep++) {
    let saved = 0;
    for (let s = 0; s < st.S; s++) {
      if (active[s] === 0) continue;
      const gain = improveSession(st, s, maxSteps);
      active[s] = gain > 1e-9 ? 1 : 0;
      saved += gain;
    }
    if (saved <= 1e-9) break;
  }
}

function resetState(st: ScheduleState): void {
  st.kw.fill(0);
  st.flowKw.fill(0);
  st.deliveredKwh.fill(0);
}

/** Replaces the state's schedule by `kw` (recomputing flows and energies). */
export function loadSchedule(st: ScheduleState, kw: Float64Array): void {
  resetState(st);
  const T = st.T;
  for (let s = 0; s < st.S; s++)
    for (let t = 0; t < T; t++) {
      const p = kw[s * T + t];
      if (p !== 0) addKw(st, s, t, p);
    }
}

/**
 * Throughput-first greedy for congested sites: slots in time order, sessions by earliest departure, each up to its
 * target. Cost is then recovered by the improvement moves, which keep every session's energy.
 */
function greedyEarliestDeadline(st: ScheduleState): void {
  const P = st.problem;
  const T = st.T;
  const S = st.S;
  const order = new Int32Array(S);
  for (let s = 0; s < S; s++) order[s] = s;
  order.sort((a, b) => P.endSlot[a] - P.endSlot[b] || P.firstSlot[a] - P.firstSlot[b] || a - b);
  for (let t = 0; t < T; t++) {
    for (let i = 0; i < S; i++) {
      const s = order[i];
      if (t < P.firstSlot[s] || t >= P.endSlot[s]) continue;
      const e = P.chargeEfficiency[s];
      const cost = slopeUp(P, t, siteKw(st, t));
      const want =
        (cost / e < P.shortfallPenaltyPerKwh ? P.energyTargetKwh[s] : st.requiredKwh[s]) - st.deliveredKwh[s];
      if (want <= 1e-9) continue;
      const p = st.kw[s * T + t];
      let x = Math.min(P.maxChargeKw[s] - p, want / (st.h * e), importHeadroom(st, s, t));
      const floor = P.minChargeKw[s];
      if (floor > 0 && p + x < floor) {
        if (
          floor - p <= Math.min(P.maxChargeKw[s] - p, importHeadroom(st, s, t)) &&
          st.deliveredKwh[s] + (floor - p) * st.h * e <= P.energyMaxKwh[s] + 1e-9
        )
          x = floor - p;
        else continue;
      }
      if (x > 1e-12) addKw(st, s, t, x);
    }
  }
}

/** θ_s: the static import price of the slot where s would buy its last target kWh if nothing else competed. */
function initialTheta(st: ScheduleState): Float64Array {
  const P = st.problem;
  const T = st.T;
  const theta = new Float64Array(st.S);
  for (let s = 0; s < st.S; s++) {
    const perSlot = P.maxChargeKw[s] * st.h * P.chargeEfficiency[s];
    let remaining = P.energyTargetKwh[s];
    let th = 0;
    if (perSlot > 0)
      for (let i = 0; i < T && remaining > 1e-9; i++) {
        const t = st.slotOrder[i];
        if (t < P.firstSlot[s] || t >= P.endSlot[s]) continue;
        remaining -= perSlot;
        th = P.importPricePerKwh[t];
      }
    // Sessions that cannot reach their target pay the penalty on the rest: most urgent.
    theta[s] = remaining > 1e-9 ? P.shortfallPenaltyPerKwh + th : th;
  }
  return theta;
}

/** After a round, θ_s becomes the dearest price s actually paid, or the penalty if it fell short. */
function reestimateTheta(st: ScheduleState, theta: Float64Array): void {
  const P = st.problem;
  const T = st.T;
  for (let s = 0; s < st.S; s++) {
    let th = 0;
    for (let t = P.firstSlot[s]; t < P.endSlot[s]; t++)
      if (st.kw[s * T + t] > 1e-9 && P.importPricePerKwh[t] > th) th = P.importPricePerKwh[t];
    const short = P.energyTargetKwh[s] - st.deliveredKwh[s];
    theta[s] = short > 1e-6 ? P.shortfallPenaltyPerKwh + th : 0.5 * (theta[s] + th);
  }
}

/**
 * Greedy water-filling. Site cost pieces per slot (import/export and baseline kinks) are sorted by marginal cost;
 * each piece is filled up to its upper site level.
 */
function greedy(st: ScheduleState, theta: Float64Array): void {
  const P = st.problem;
  const T = st.T;
  const S = st.S;
  const h = st.h;
  // Pieces: at most 3 per slot (kinks at 0 and at the baseline).
  const pieceSlot = new Int32Array(3 * T);
  const pieceEnd = new Float64Array(3 * T);
  const pieceCost = new Float64Array(3 * T);
  let pieces = 0;
  const kinks = new Float64Array(2);
  for (let t = 0; t < T; t++) {
    const start = siteKw(st, t);
    let k = 0;
    if (start < 0) kinks[k++] = 0;
    if (P.baselineKw && start < P.baselineKw[t]) kinks[k++] = P.baselineKw[t];
    if (k === 2 && kinks[0] > kinks[1]) {
      const x = kinks[0];
      kinks[0] = kinks[1];
      kinks[1] = x;
    }
    let lo = start;
    for (let i = 0; i <= k; i++) {
      pieceSlot[pieces] = t;
      pieceEnd[pieces] = i < k ? kinks[i] : Number.POSITIVE_INFINITY;
      pieceCost[pieces] = slopeUp(P, t, lo);
      pieces++;
      if (i < k) lo = kinks[i];
    }
  }
  const pieceOrder = new Int32Array(pieces);
  for (let i = 0; i < pieces; i++) pieceOrder[i] = i;
  pieceOrder.sort((a, b) => pieceCost[a] - pieceCost[b] || pieceSlot[a] - pieceSlot[b] || a - b);

  const order = new Int32Array(S);
  for (let s = 0; s < S; s++) order[s] = s;
  order.sort((a, b) => theta[b] - theta[a] || P.endSlot[a] - P.endSlot[b] || a - b);

  const kw = st.kw;
  const flow = st.flowKw;
  const imp = st.importKw;
  const parent = P.nodeParent;
  const first = P.firstSlot;
  const endSlot = P.endSlot;
  const penalty = P.shortfallPenaltyPerKwh;
  const load = P.siteLoadKw;
  const rootCap = st.rootCapKw;
  // Sessions renumbered by priority rank: every slot's list is ascending in rank, so the per-session data the
  // inner loop reads streams through memory instead of jumping (this dominates at 100k sessions).
  const node = new Int32Array(S);
  const pMax = new Float64Array(S);
  const floorKw = new Float64Array(S);
  const eta = new Float64Array(S);
  const target = new Float64Array(S);
  const required = new Float64Array(S);
  const delivered = new Float64Array(S);
  const energyMax = new Float64Array(S);
  for (let i = 0; i < S; i++) {
    const s = order[i];
    node[i] = P.sessionNode[s];
    pMax[i] = P.maxChargeKw[s];
    floorKw[i] = P.minChargeKw[s];
    eta[i] = P.chargeEfficiency[s];
    target[i] = P.energyTargetKwh[s];
    required[i] = st.requiredKwh[s];
    delivered[i] = st.deliveredKwh[s];
    energyMax[i] = P.energyMaxKwh[s];
  }

  // Sessions present in each slot, by rank (CSR), so a slot only visits its own sessions.
  const slotStart = new Int32Array(T + 1);
  for (let s = 0; s < S; s++) for (let t = first[s]; t < endSlot[s]; t++) slotStart[t + 1]++;
  for (let t = 0; t < T; t++) slotStart[t + 1] += slotStart[t];
  const fill = slotStart.slice(0, T);
  const present = new Int32Array(slotStart[T]);
  for (let i = 0; i < S; i++) {
    const s = order[i];
    for (let t = first[s]; t < endSlot[s]; t++) present[fill[t]++] = i;
  }

  // Cache-friendly working set: allocations kept in CSR order (sequential); node flows and limits of the current
  // slot loaded lazily into node-indexed scratch (a stamp per node says whether it is loaded for this piece) and
  // written back for the touched nodes only — a slot that fills early never reads the rest of the tree.
  const alloc = new Float64Array(present.length);
  const next = st.bindNext;
  const N = P.nodeCount;
  const flowSlot = new Float64Array(N);
  const impSlot = new Float64Array(N);
  const stamp = new Int32Array(N).fill(-1);
  const touched = new Int32Array(N);
  for (let pi = 0; pi < pieces; pi++) {
    const piece = pieceOrder[pi];
    const t = pieceSlot[piece];
    const endLevel = pieceEnd[piece];
    const cost = pieceCost[piece];
    const loadT = load ? load[t] : 0;
    let siteRoom = endLevel - (loadT + flow[t]);
    if (rootCap) siteRoom = Math.min(siteRoom, rootCap[t] - flow[t]);
    if (imp[t] - flow[t] < siteRoom) siteRoom = imp[t] - flow[t];
    if (siteRoom <= 1e-12) continue;
    let nTouched = 0;
    const stop = slotStart[t + 1];
    for (let i = slotStart[t]; i < stop; i++) {
      const s = present[i];
      const e = eta[s];
      const want = (cost / e < penalty ? target[s] : required[s]) - delivered[s];
      if (want <= 1e-9) continue;
      const p = alloc[i];
      let x = pMax[s] - p;
      if (x <= 1e-12) continue;
      const byEnergy = want / (h * e);
      if (byEnergy < x) x = byEnergy;
      if (siteRoom < x) x = siteRoom;
      for (let n = next[node[s]]; n > 0; n = next[parent[n]]) {
        if (stamp[n] !== pi) {
          stamp[n] = pi;
          flowSlot[n] = flow[n * T + t];
          impSlot[n] = imp[n * T + t];
          touched[nTouched++] = n;
        }
        const r = impSlot[n] - flowSlot[n];
        if (r < x) x = r;
      }
      const floor = floorKw[s];
      if (floor > 0 && p + x < floor) {
        // Round up to the floor if it fits in every limit and the energy maximum, else leave this slot.
        const need = floor - p;
        let room = Math.min(pMax[s] - p, siteRoom);
        for (let n = next[node[s]]; n > 0; n = next[parent[n]])
          room = Math.min(room, impSlot[n] - flowSlot[n]);
        if (need <= room + 1e-12 && delivered[s] + need * h * e <= energyMax[s] + 1e-9) x = need;
        else continue;
      }
      if (x <= 1e-12) continue;
      alloc[i] = p + x;
      delivered[s] += x * h * e;
      for (let n = next[node[s]]; n > 0; n = next[parent[n]]) flowSlot[n] += x;
      flow[t] += x;
      siteRoom -= x;
      if (siteRoom <= 1e-12) break;
    }
    for (let k = 0; k < nTouched; k++) {
      const n = touched[k];
      flow[n * T + t] = flowSlot[n];
    }
  }
  for (let t = 0; t < T; t++)
    for (let i = slotStart[t]; i < slotStart[t + 1]; i++)
      if (alloc[i] !== 0) kw[order[present[i]] * T + t] = alloc[i];
  for (let i = 0; i < S; i++) st.deliveredKwh[order[i]] = delivered[i];
  // Only binding nodes (and the root) were tracked: rebuild every node's flow from the rows (sequential access).
  flow.fill(0);
  for (let s = 0; s < S; s++) {
    const row = s * T;
    for (let n = P.sessionNode[s]; n >= 0; n = parent[n]) {
      const base = n * T;
      for (let t = first[s]; t < endSlot[s]; t++) flow[base + t] += kw[row + t];
    }
  }
}

/** Demand charge: the cost is convex in the peak, so search the root import cap and keep the best plan. */
function withDemandCharge(problem: PlanningProblem, options: FastScheduleOptions): FastScheduleResult {
  const T = problem.slotCount;
  const st = createScheduleState(problem);
  runPipeline(st, options);
  let best = finish(st);
  best = { ...best, sessionKw: best.sessionKw.slice() };
  const baseUnmet = best.unmetRequiredSessions;
  let hi = 0;
  for (let t = 0; t < T; t++) hi = Math.max(hi, st.flowKw[t]);
  let lo = 0;
  const tryCap = (capKw: number): FastScheduleResult => {
    st.rootCapKw = new Float64Array(T).fill(capKw);
    resetState(st);
    runPipeline(st, options);
    const r = finish(st);
    // A cap that costs required energy is not allowed: score it as infinitely dear.
    if (r.unmetRequiredSessions > baseUnmet) return { ...r, costTotal: Number.POSITIVE_INFINITY };
    return { ...r, sessionKw: r.sessionKw.slice() };
  };
  const phi = (Math.sqrt(5) - 1) / 2;
  let x1 = hi - phi * (hi - lo);
  let x2 = lo + phi * (hi - lo);
  let f1 = tryCap(x1);
  let f2 = tryCap(x2);
  for (let i = 0; i < 12; i++) {
    if (f1.costTotal <= f2.costTotal) {
      hi = x2;
      x2 = x1;
      f2 = f1;
      x1 = hi - phi * (hi - lo);
      f1 = tryCap(x1);
    } else {
      lo = x1;
      x1 = x2;
      f1 = f2;
      x2 = lo + phi * (hi - lo);
      f2 = tryCap(x2);
    }
    for (const f of [f1, f2]) if (f.costTotal < best.costTotal) best = f;
  }
  return best;
}
