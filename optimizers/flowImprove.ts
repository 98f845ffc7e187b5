import { requiredPenaltyPerKwh, socFloorKwh } from './planningProblem';
import { reserveActive, reserveBacking, reserveNeedKw } from './reserveBacking';
import { scheduleCost } from './scheduleCost';
import {
  addKw,
  journalCostDelta,
  journalRollback,
  type ScheduleState,
  siteKw,
  slopeDown,
  slopeUp,
  socTrajectory,
} from './scheduleState';

export interface FlowImproveOptions {
  /** Augmentations at most (each one strictly lowers the exact cost). */
  maxAugments: number;
  /** Arc relaxations at most over all shortest-path searches. */
  maxWork: number;
  /** With a reserve: pushes that do not pay alone but may with a second push, at most (default 50 + 10·S). */
  maxLookahead?: number;
}

const TOL = 1e-7;

/**
 * Final improvement by negative cycles in the residual graph of the schedule seen as a generalized flow (the
 * structure the LP has, without the AC floor):
 * - nodes: the ground G (grid and "energy delivered"; free), (tree node, slot) and (session, slot) battery nodes;
 * - arcs: G ↔ root per slot (site price pieces, the root's limits, reserve backing as a soft bound on the root flow),
 *   parent ↔ child per slot (import / export limits), EVSE ↔ battery per slot (charge with gain ηc, less discharge
 *   1/ηd, less charge 1/ηc, discharge ηd; wear), battery slot t ↔ t+1 (SoC within [floor, capacity]) and last
 *   battery slot ↔ G (delivered energy: shortfall and required-energy penalties, energy maximum).
 * A label-correcting shortest-path search from G (costs per unit arriving, gains applied) finds paths G → … → G of
 * negative cost and cycles (vehicle-to-vehicle transfers under a binding export limit, chains through PV-surplus
 * slots, max-flow augmentations on overloaded sites). Each candidate is pushed up to its bottleneck, checked
 * (limits, SoC, energy maximum) and kept only if the exact cost (`scheduleCost`, reserve included) falls.
 * Sessions with an AC floor keep their schedule. Returns the cost saved.
 */
export function flowImprove(st: ScheduleState, options: FlowImproveOptions): number {
  const P = st.problem;
  if (P.demandChargePerKw > 0) return 0;
  const g = new FlowGraph(st);
  const reserve = reserveActive(P);
  let cost = scheduleCost(P, st.kw).costTotal;
  const start = cost;
  let work = options.maxWork;
  let slight = 0;
  let creditTries = 0;
  const follow = reserve ? new FlowGraph(st) : null;
  let lookahead = reserve ? (options.maxLookahead ?? 50 + 10 * st.S) : 0;
  for (let it = 0; it < options.maxAugments && work > 0; it++) {
    g.build();
    let improved = false;
    for (let dir = 0; dir < 2 && !improved && work > 0; dir++) {
      work -= g.shortestPaths(work, dir === 1);
      const candidates = g.candidates();
      for (let k = 0; k < candidates.length && k < 8 && !improved; k++) {
        if (!g.structure(candidates[k])) continue;
        for (let shrink = 1; shrink >= 1e-3 && !improved; shrink *= 0.1) {
          if (!g.push(shrink)) break;
          if (g.feasible()) {
            // Without a reserve the journal's exact delta (touched sessions and slots only) is the cost change.
            const after = reserve ? scheduleCost(P, st.kw).costTotal : cost + journalCostDelta(st);
            let kept = after;
            if (!(after < cost - 1e-9 * Math.max(1, Math.abs(cost))) && follow && lookahead > 0) {
              // A push that breaks a slot's reserve backing may pay once a second push restores it (the backing is
              // the sum over the slot's sessions: another session can make up for it).
              lookahead--;
              const followed = followUp(follow, st, cost, work);
              work -= followed.work;
              kept = followed.cost;
            }
            if (kept < cost - 1e-9 * Math.max(1, Math.abs(cost))) {
              // A long tail of pushes that each save next to nothing is not worth its searches.
              slight = kept > cost - 1e-5 * Math.max(1, Math.abs(cost)) ? slight + 1 : 0;
              cost = kept;
              improved = true;
              st.journalOn = false;
              st.journalLen = 0;
              break;
            }
          }
          journalRollback(st);
        }
      }
    }
    if (slight >= 16) break;
    if (improved) {
      g.credit = false;
      g.ties = false;
    } else if (reserve && !g.credit && creditTries < 64) {
      // Nothing left at the pessimistic reserve prices (an exactly backed slot charges a loss of backing and pays
      // nothing for a gain): price it at the penalty both ways, so a push whose sessions trade backing among
      // themselves is found; the exact cost of the whole push decides.
      g.credit = true;
      creditTries++;
    } else if (reserve && !g.ties) {
      // Then also count the gain in backing at SoC ties (the slot's lower / higher SoC moves only if both do).
      g.ties = true;
    } else break;
  }
  st.journalOn = false;
  st.journalLen = 0;
  return start - cost;
}

/**
 * Second push after a tentative one (still journaled): a fresh search on the residual graph of the tentative
 * schedule, where the slots the first push left short are priced as short. Keeps the first improving candidate
 * (exact cost below `cost`) and returns its cost; otherwise rolls back both pushes and returns +∞.
 */
function followUp(
  g: FlowGraph,
  st: ScheduleState,
  cost: number,
  maxWork: number,
): { cost: number; work: number } {
  const first = st.journalLen;
  g.build();
  let work = 0;
  for (let dir = 0; dir < 2 && work < maxWork; dir++) {
    work += g.shortestPaths(maxWork - work, dir === 1);
    const candidates = g.candidates();
    for (let k = 0; k < candidates.length && k < 4; k++) {
      if (!g.structure(candidates[k])) continue;
      for (let shrink = 1; shrink >= 1e-2; shrink *= 0.1) {
        if (!g.push(shrink, false)) break;
        if (g.feasible()) {
          const after = scheduleCost(st.problem, st.kw).costTotal;
          if (after < cost - 1e-9 * Math.max(1, Math.abs(cost))) return { cost: after, work };
        }
        rollbackTo(st, first);
      }
    }
  }
  journalRollback(st);
  return { cost: Number.POSITIVE_INFINITY, work };
}

/** Undoes the journaled changes after the first `len` (journal stays on). */
function rollbackTo(st: ScheduleState, len: number): void {
  st.journalOn = false;
  for (let i = st.journalLen - 1; i >= len; i--) {
    const s = st.journalS[i];
    const t = st.journalT[i];
    addKw(st, s, t, st.journalBefore[i] - st.kw[s * st.T + t]);
  }
  st.journalLen = len;
  st.journalOn = true;
}

/** Residual graph over the current schedule, rebuilt after every augmentation (typed arrays, reused). */
class FlowGraph {
  private readonly st: ScheduleState;
  private readonly V: number;
  private readonly N: number;
  // Arcs (CSR by tail after `build`).
  private m = 0;
  private from = new Int32Array(1024);
  private to = new Int32Array(1024);
  private cap = new Float64Array(1024);
  private cost = new Float64Array(1024);
  private gain = new Float64Array(1024);
  /** 0: no schedule change; 1: session up (Δp = +x/h); 2: less charge (−x/(h ηc)); 3: discharge (−x ηd / h). */
  private kind = new Int8Array(1024);
  private sess = new Int32Array(1024);
  private slot = new Int32Array(1024);
  private outStart: Int32Array;
  private outArc = new Int32Array(1024);
  private readonly inStart: Int32Array;
  private inArc = new Int32Array(1024);
  private reverse = false;
  // Shortest paths.
  private readonly dist: Float64Array;
  private readonly pred: Int32Array;
  private readonly count: Int32Array;
  private readonly inQueue: Uint8Array;
  private readonly queue: Int32Array;
  private readonly stamp: Int32Array;
  private stampNow = 0;
  private cycleAt = -1;
  // The structure to push: arcs and multipliers.
  private sArcs: number[] = [];
  private sMul: number[] = [];
  private readonly touchedSlot: Uint8Array;
  private readonly touchedSession: Uint8Array;
  /** Per slot: reserve kW not backed (negative: backed with that much to spare). */
  private readonly upShort: Float64Array;
  private readonly downShort: Float64Array;
  private readonly terms = new Float64Array(4);
  /** Credit mode: an exactly backed slot also pays the penalty back for a change that raises its backing (the
   *  short-side derivative on both sides), so a push that lowers one session's backing and raises another's nets out. */
  credit = false;
  /** Ties mode (with credit): a gain in backing at a boundary whose SoC ties the slot's other one is counted. */
  ties = false;

  constructor(st: ScheduleState) {
    this.st = st;
    this.N = st.problem.nodeCount;
    this.V = 1 + this.N * st.T + st.S * st.T;
    this.outStart = new Int32Array(this.V + 1);
    this.inStart = new Int32Array(this.V + 1);
    this.dist = new Float64Array(this.V);
    this.pred = new Int32Array(this.V);
    this.count = new Int32Array(this.V);
    this.inQueue = new Uint8Array(this.V);
    this.queue = new Int32Array(this.V);
    this.stamp = new Int32Array(this.V);
    this.touchedSlot = new Uint8Array(st.T);
    this.touchedSession = new Uint8Array(st.S);
    this.upShort = new Float64Array(st.T);
    this.downShort = new Float64Array(st.T);
  }

  private treeNode(n: number, t: number): number {
    return 1 + n * this.st.T + t;
  }

  private battery(s: number, t: number): number {
    return 1 + this.N * this.st.T + s * this.st.T + t;
  }

  private arc(u: number, v: number, capacity: number, c: number, gn: number, kd = 0, s = -1, t = -1): void {
    // Slivers of capacity only make label cycles whose push saves nothing.
    if (!(capacity > 1e-6)) return;
    if (this.m === this.from.length) this.grow();
    const i = this.m++;
    this.from[i] = u;
    this.to[i] = v;
    this.cap[i] = capacity;
    this.cost[i] = c;
    this.gain[i] = gn;
    this.kind[i] = kd;
    this.sess[i] = s;
    this.slot[i] = t;
  }

  private grow(): void {
    const n = this.from.length * 2;
    const i32 = (a: Int32Array) => {
      const b = new Int32Array(n);
      b.set(a);
      return b;
    };
    const f64 = (a: Float64Array) => {
      const b = new Float64Array(n);
      b.set(a);
      return b;
    };
    this.from = i32(this.from);
    this.to = i32(this.to);
    this.cap = f64(this.cap);
    this.cost = f64(this.cost);
    this.gain = f64(this.gain);
    const k = new Int8Array(n);
    k.set(this.kind);
    this.kind = k;
    this.sess = i32(this.sess);
    this.slot = i32(this.slot);
  }

  build(): void {
    const st = this.st;
    const P = st.problem;
    const T = st.T;
    const h = st.h;
    this.m = 0;
    const reserve = reserveActive(P);
    if (reserve) {
      const b = reserveBacking(P, st.kw);
      for (let t = 0; t < T; t++) {
        // −∞ where no reserve is held: nothing to back, any change is free.
        this.upShort[t] = reserveNeedKw(P, t, true) - b.upKw[t];
        this.downShort[t] = reserveNeedKw(P, t, false) - b.downKw[t];
      }
    }
    // Unbacked reserve per kWh of root flow: (kW × E) at the required-energy penalty.
    const resPrice = reserve ? (requiredPenaltyPerKwh(P) * P.reserveEnduranceHours) / h : 0;
    for (let t = 0; t < T; t++) {
      const root = this.treeNode(0, t);
      const Pt = siteKw(st, t);
      const f0 = st.flowKw[t];
      let upKw = Math.min(st.importKw[t] - f0, kinkUp(P, t, Pt));
      if (st.rootCapKw) upKw = Math.min(upKw, st.rootCapKw[t] - f0);
      let downKw = Math.min(st.exportKw[t] + f0, kinkDown(P, t, Pt));
      let upCost = slopeUp(P, t, Pt);
      let downCost = -slopeDown(P, t, Pt);
      if (reserve) {
        // Raising the EV flow backs more up-reserve and less down-reserve (1 kW per kW); lowering it the reverse.
        const upShort = this.upShort[t];
        const downShort = this.downShort[t];
        // Short (> 0) or exactly backed (0): a change that lowers the backing costs; a short one gains.
        if (upShort > 1e-9 || (this.credit && upShort > -1e-9)) {
          upCost -= resPrice;
          if (upShort > 1e-9) upKw = Math.min(upKw, upShort);
        } else if (upShort < -1e-9) downKw = Math.min(downKw, -upShort);
        if (upShort > -1e-9) downCost += resPrice;
        if (downShort > 1e-9 || (this.credit && downShort > -1e-9)) {
          downCost -= resPrice;
          if (downShort > 1e-9) downKw = Math.min(downKw, downShort);
        } else if (downShort < -1e-9) upKw = Math.min(upKw, -downShort);
        if (downShort > -1e-9) upCost += resPrice;
      }
      this.arc(0, root, upKw * h, upCost, 1);
      this.arc(root, 0, downKw * h, downCost, 1);
      for (let n = 1; n < this.N; n++) {
        if (st.nodeHi[n] === st.nodeLo[n]) continue;
        const parent = P.nodeParent[n];
        const f = st.flowKw[n * T + t];
        this.arc(this.treeNode(parent, t), this.treeNode(n, t), (st.importKw[n * T + t] - f) * h, 0, 1);
        this.arc(this.treeNode(n, t), this.treeNode(parent, t), (st.exportKw[n * T + t] + f) * h, 0, 1);
      }
    }
    const penalty = P.shortfallPenaltyPerKwh;
    const bigPenalty = requiredPenaltyPerKwh(P);
    for (let s = 0; s < st.S; s++) {
      const first = P.firstSlot[s];
      const end = P.endSlot[s];
      if (end <= first || P.minChargeKw[s] > 0) continue;
      socTrajectory(st, s);
      const soc = st.socScratch;
      const capacity = P.capacityKwh[s];
      const floor = socFloorKwh(P, s);
      const etaC = P.chargeEfficiency[s];
      const etaD = P.dischargeEfficiency[s];
      const pMax = P.maxChargeKw[s];
      const dMax = P.maxDischargeKw[s];
      const wear = P.wearCostPerKwh[s];
      const e = P.sessionNode[s];
      for (let t = first; t < end; t++) {
        const p = st.kw[s * T + t];
        const grid = this.treeNode(e, t);
        const bat = this.battery(s, t);
        // Within 1e-9 kW of 0 the next piece is already the one that counts (a residue must not hide it).
        if (p >= -1e-9) this.arc(grid, bat, (pMax - p) * h, 0, etaC, 1, s, t);
        else this.arc(grid, bat, -p * h, -wear, 1 / etaD, 1, s, t);
        if (p > 1e-9) this.arc(bat, grid, p * h * etaC, 0, 1 / etaC, 2, s, t);
        else if (dMax > 0) this.arc(bat, grid, ((dMax + p) * h) / etaD, wear * etaD, etaD, 3, s, t);
        if (t + 1 < end) {
          const next = this.battery(s, t + 1);
          let raiseCost = 0;
          let lowerCost = 0;
          let raiseCap = capacity - soc[t + 1];
          let lowerCap = soc[t + 1] - floor;
          if (reserve) {
            const terms = this.terms;
            this.socTerms(s, t + 1, soc, terms);
            raiseCost = terms[0];
            raiseCap = Math.min(raiseCap, terms[1]);
            lowerCost = terms[2];
            lowerCap = Math.min(lowerCap, terms[3]);
          }
          this.arc(bat, next, raiseCap, raiseCost, 1);
          this.arc(next, bat, lowerCap, lowerCost, 1);
        }
      }
      // Delivered energy ↔ G, one linear piece at a time.
      const delivered = st.deliveredKwh[s];
      const target = P.energyTargetKwh[s];
      const required = st.requiredKwh[s];
      let upCost = 0;
      let upCap = Math.min(capacity - soc[T], P.energyMaxKwh[s] - delivered);
      if (delivered < target - 1e-9) {
        upCost -= penalty;
        upCap = Math.min(upCap, target - delivered);
      }
      if (delivered < required - 1e-9) {
        upCost -= bigPenalty;
        upCap = Math.min(upCap, required - delivered);
      }
      let downCost = 0;
      // Like the LP: no session leaves with less energy than it came with (delivered ≥ 0).
      let downCap = Math.min(soc[T] - floor, delivered);
      if (delivered <= target + 1e-9) downCost += penalty;
      else downCap = Math.min(downCap, delivered - target);
      if (delivered <= required + 1e-9) downCost += bigPenalty;
      else downCap = Math.min(downCap, delivered - required);
      if (reserve) {
        const terms = this.terms;
        this.socTerms(s, end, soc, terms);
        upCost += terms[0];
        upCap = Math.min(upCap, terms[1]);
        downCost += terms[2];
        downCap = Math.min(downCap, terms[3]);
      }
      // The SoC after the window stays flat: its bounds are those of the last boundary.
      this.arc(this.battery(s, end - 1), 0, upCap, upCost, 1);
      this.arc(0, this.battery(s, end - 1), downCap, downCost, 1);
    }
    // CSR by tail and by head.
    const start = this.outStart;
    start.fill(0);
    const inStart = this.inStart;
    inStart.fill(0);
    for (let i = 0; i < this.m; i++) {
      start[this.from[i] + 1]++;
      inStart[this.to[i] + 1]++;
    }
    for (let v = 0; v < this.V; v++) {
      start[v + 1] += start[v];
      inStart[v + 1] += inStart[v];
    }
    if (this.outArc.length < this.m) {
      this.outArc = new Int32Array(this.from.length);
      this.inArc = new Int32Array(this.from.length);
    }
    const fill = start.slice(0, this.V);
    const inFill = inStart.slice(0, this.V);
    for (let i = 0; i < this.m; i++) {
      this.outArc[fill[this.from[i]]++] = i;
      this.inArc[inFill[this.to[i]]++] = i;
    }
  }

  /**
   * Reserve backing through the SoC at boundary k of session s (see `reserveBacking`): in each window slot next to k,
   * up-backing of a V2G session grows with the lower of the slot's two SoCs (while below dMax), down-backing falls
   * with the higher one (while below pMax). Writes the cost per battery kWh and the linear range of raising the SoC
   * (out[0], out[1]) and of lowering it (out[2], out[3]), at the required-energy penalty per unbacked kW × E.
   */
  private socTerms(s: number, k: number, soc: Float64Array, out: Float64Array): void {
    const P = this.st.problem;
    const E = P.reserveEnduranceHours;
    const penalty = requiredPenaltyPerKwh(P);
    const etaC = P.chargeEfficiency[s];
    const etaD = P.dischargeEfficiency[s];
    const dMax = P.maxDischargeKw[s];
    const pMax = P.maxChargeKw[s];
    const floor = socFloorKwh(P, s);
    const capacity = P.capacityKwh[s];
    const x = soc[k];
    let rc = 0;
    let rCap = Number.POSITIVE_INFINITY;
    let lc = 0;
    let lCap = Number.POSITIVE_INFINITY;
    for (let t = k - 1; t <= k; t++) {
      if (t < P.firstSlot[s] || t >= P.endSlot[s]) continue;
      const o = t === k - 1 ? soc[k - 1] : soc[k + 1];
      const upShort = this.upShort[t];
      const downShort = this.downShort[t];
      if (dMax > 0) {
        // Up: min(dMax, (min SoC − floor)·ηd / E).
        const X = ((Math.min(x, o) - floor) * etaD) / E;
        // Ties mode: at a tie the other boundary may move too (a push along the SoC chain moves both).
        const tie = this.ties && Math.abs(x - o) <= 1e-12;
        if (x < o - 1e-12 || tie) {
          if (!tie) rCap = Math.min(rCap, o - x);
          if (X < dMax - 1e-12) {
            rCap = Math.min(rCap, ((dMax - X) * E) / etaD);
            if (upShort > 1e-9 || (this.credit && upShort > -1e-9)) {
              rc -= penalty * etaD;
              if (upShort > 1e-9) rCap = Math.min(rCap, (upShort * E) / etaD);
            }
          }
        }
        if (x <= o + 1e-12) {
          if (X > dMax + 1e-12) lCap = Math.min(lCap, ((X - dMax) * E) / etaD);
          else if (upShort > -1e-9) lc += penalty * etaD;
          else if (upShort < -1e-9) lCap = Math.min(lCap, (-upShort * E) / etaD);
        } else lCap = Math.min(lCap, x - o);
      }
      // Down: min(pMax, (capacity − max SoC) / (E·ηc)).
      const Y = (capacity - Math.max(x, o)) / (E * etaC);
      if (x >= o - 1e-12) {
        if (Y > pMax + 1e-12) rCap = Math.min(rCap, (Y - pMax) * E * etaC);
        else if (downShort > -1e-9) rc += penalty / etaC;
        else if (downShort < -1e-9) rCap = Math.min(rCap, -downShort * E * etaC);
      } else rCap = Math.min(rCap, o - x);
      const tie = this.ties && Math.abs(x - o) <= 1e-12;
      if (x > o + 1e-12 || tie) {
        if (!tie) lCap = Math.min(lCap, x - o);
        if (Y < pMax - 1e-12) {
          lCap = Math.min(lCap, (pMax - Y) * E * etaC);
          if (downShort > 1e-9 || (this.credit && downShort > -1e-9)) {
            lc -= penalty / etaC;
            if (downShort > 1e-9) lCap = Math.min(lCap, downShort * E * etaC);
          }
        }
      }
    }
    out[0] = rc;
    out[1] = rCap;
    out[2] = lc;
    out[3] = lCap;
  }

  /**
   * Label-correcting search. Forward: dist[v] = least cost of one unit arriving at v from G (pred = arc into v).
   * Reverse: dist[v] = least cost of taking one unit from v to G (pred = arc out of v). Stops at a label cycle (a
   * node relaxed too often whose labels loop) or when the work runs out. Returns the work done.
   */
  shortestPaths(maxWork: number, reverse: boolean): number {
    const V = this.V;
    const dist = this.dist;
    dist.fill(Number.POSITIVE_INFINITY);
    this.pred.fill(-1);
    this.count.fill(0);
    this.inQueue.fill(0);
    this.cycleAt = -1;
    this.reverse = reverse;
    dist[0] = 0;
    const q = this.queue;
    let head = 0;
    let size = 1;
    q[0] = 0;
    this.inQueue[0] = 1;
    let work = 0;
    const first = reverse ? this.inStart : this.outStart;
    const arcs = reverse ? this.inArc : this.outArc;
    const ends = reverse ? this.from : this.to;
    while (size > 0 && work < maxWork) {
      const u = q[head];
      head = head + 1 === V ? 0 : head + 1;
      size--;
      this.inQueue[u] = 0;
      const du = dist[u];
      for (let k = first[u]; k < first[u + 1]; k++) {
        const a = arcs[k];
        const v = ends[a];
        if (v === 0) continue;
        work++;
        const nd = reverse ? this.cost[a] + this.gain[a] * du : (du + this.cost[a]) / this.gain[a];
        const dv = dist[v];
        if (dv === Number.POSITIVE_INFINITY ? nd < dv : nd < dv - 1e-12 * (1 + Math.abs(dv))) {
          dist[v] = nd;
          this.pred[v] = a;
          if (++this.count[v] % 24 === 0 && this.findCycle(v) >= 0) {
            this.cycleAt = v;
            return work;
          }
          if (this.inQueue[v] === 0) {
            this.inQueue[v] = 1;
            q[(head + size) % V] = v;
            size++;
          }
        }
      }
    }
    return work;
  }

  /** The node one label step closer to G. */
  private step(x: number): number {
    const a = this.pred[x];
    if (a < 0) return -1;
    return this.reverse ? this.to[a] : this.from[a];
  }

  /** A node on a cycle of the label graph reached from v, or -1. */
  private findCycle(v: number): number {
    const mark = ++this.stampNow;
    let x = v;
    for (let steps = 0; steps <= this.V && x > 0; steps++) {
      if (this.stamp[x] === mark) return x;
      this.stamp[x] = mark;
      x = this.step(x);
    }
    return -1;
  }

  /** Improving candidates: a label cycle first (encoded −1), then arcs into (forward) or out of (reverse) G. */
  candidates(): number[] {
    const exits: number[] = [];
    const value = new Map<number, number>();
    for (let a = 0; a < this.m; a++) {
      let c: number;
      if (this.reverse) {
        if (this.from[a] !== 0) continue;
        c = this.cost[a] + this.gain[a] * this.dist[this.to[a]];
      } else {
        if (this.to[a] !== 0) continue;
        c = this.dist[this.from[a]] + this.cost[a];
      }
      if (Number.isFinite(c) && c < -1e-9) {
        exits.push(a);
        value.set(a, c);
      }
    }
    exits.sort((x, y) => (value.get(x) ?? 0) - (value.get(y) ?? 0));
    return this.cycleAt >= 0 ? [-1, ...exits] : exits;
  }

  /** Collects the arcs and flow multipliers of candidate `exit` (−1: the label cycle). False if none. */
  structure(exit: number): boolean {
    this.sArcs = [];
    this.sMul = [];
    // The label walk from the candidate's end towards G, in flow order.
    const walk: number[] = [];
    const mark = ++this.stampNow;
    let x = exit < 0 ? this.cycleAt : this.reverse ? this.to[exit] : this.from[exit];
    let repeat = -1;
    while (x !== 0) {
      if (this.stamp[x] === mark) {
        repeat = x;
        break;
      }
      this.stamp[x] = mark;
      const a = this.pred[x];
      if (a < 0) return false;
      walk.push(a);
      x = this.reverse ? this.to[a] : this.from[a];
    }
    if (!this.reverse) walk.reverse();
    const tail = (a: number) => this.from[a];
    const head = (a: number) => this.to[a];
    if (repeat < 0) {
      // A path G → … → G.
      const path = this.reverse ? [exit, ...walk] : [...walk, exit];
      if (exit < 0) return false;
      let m = 1;
      for (const a of path) {
        this.sArcs.push(a);
        this.sMul.push(m);
        m *= this.gain[a];
      }
      return true;
    }
    // The cycle through `repeat`: from the arc leaving it to the arc entering it.
    let i0 = -1;
    for (let i = 0; i < walk.length && i0 < 0; i++) if (tail(walk[i]) === repeat) i0 = i;
    let i1 = -1;
    for (let i = Math.max(0, i0); i < walk.length && i1 < 0; i++) if (head(walk[i]) === repeat) i1 = i;
    if (i0 < 0 || i1 < i0) return false;
    const cycle = walk.slice(i0, i1 + 1);
    let gainAround = 1;
    for (const a of cycle) gainAround *= this.gain[a];
    let cycleFlow = 1;
    if (exit >= 0 && !this.reverse && gainAround > 1 + 1e-9) {
      // Flow-generating cycle as a source at `repeat`; its surplus leaves along the walk to the exit.
      let m = gainAround - 1;
      for (const a of [...walk.slice(i1 + 1), exit]) {
        this.sArcs.push(a);
        this.sMul.push(m);
        m *= this.gain[a];
      }
    } else if (exit >= 0 && this.reverse && gainAround < 1 - 1e-9) {
      // Flow-absorbing cycle as a sink at `repeat`, fed from G along the path to it.
      let m = 1;
      for (const a of [exit, ...walk.slice(0, i0)]) {
        this.sArcs.push(a);
        this.sMul.push(m);
        m *= this.gain[a];
      }
      cycleFlow = m / (1 - gainAround);
    }
    let m = cycleFlow;
    for (const a of cycle) {
      this.sArcs.push(a);
      this.sMul.push(m);
      m *= this.gain[a];
    }
    return true;
  }

  /** Applies the structure at `share` of its bottleneck, journaled. False if the step is empty. */
  push(share: number, fresh = true): boolean {
    const st = this.st;
    const P = st.problem;
    const h = st.h;
    // Multipliers per arc (an arc may appear twice).
    const total = new Map<number, number>();
    for (let i = 0; i < this.sArcs.length; i++)
      total.set(this.sArcs[i], (total.get(this.sArcs[i]) ?? 0) + this.sMul[i]);
    let x = Number.POSITIVE_INFINITY;
    for (const [a, mul] of total) if (mul > 0) x = Math.min(x, this.cap[a] / mul);
    if (!(x > 1e-9) || !Number.isFinite(x)) return false;
    x *= share;
    this.touchedSlot.fill(0);
    this.touchedSession.fill(0);
    st.journalOn = true;
    if (fresh) st.journalLen = 0;
    for (const [a, mul] of total) {
      const k = this.kind[a];
      if (k === 0) continue;
      const s = this.sess[a];
      const t = this.slot[a];
      const flow = mul * x;
      const dKw =
        k === 1
          ? flow / h
          : k === 2
            ? -flow / (h * P.chargeEfficiency[s])
            : (-flow * P.dischargeEfficiency[s]) / h;
      addKw(st, s, t, dKw);
      this.touchedSlot[t] = 1;
      this.touchedSession[s] = 1;
    }
    return true;
  }

  /** Limits, power bounds, SoC and energy maximum on everything the last push touched. */
  feasible(): boolean {
    const st = this.st;
    const P = st.problem;
    const T = st.T;
    for (let t = 0; t < T; t++) {
      if (this.touchedSlot[t] === 0) continue;
      for (let n = 0; n < this.N; n++) {
        const f = st.flowKw[n * T + t];
        if (f > st.importKw[n * T + t] + TOL || -f > st.exportKw[n * T + t] + TOL) return false;
      }
      if (st.rootCapKw && st.flowKw[t] > st.rootCapKw[t] + TOL) return false;
    }
    for (let s = 0; s < st.S; s++) {
      if (this.touchedSession[s] === 0) continue;
      for (let t = 0; t < T; t++) {
        const p = st.kw[s * T + t];
        if (p > P.maxChargeKw[s] + TOL || -p > P.maxDischargeKw[s] + TOL) return false;
      }
      socTrajectory(st, s);
      const floor = socFloorKwh(P, s);
      for (let t = 0; t <= T; t++)
        if (st.socScratch[t] > P.capacityKwh[s] + TOL || st.socScratch[t] < floor - TOL) return false;
      if (st.deliveredKwh[s] > P.energyMaxKwh[s] + TOL || st.deliveredKwh[s] < -TOL) return false;
    }
    return true;
  }
}

/** Distance from site level Pt up to the next kink of the site cost (import/export at 0, baseline). */
function kinkUp(P: ScheduleState['problem'], t: number, Pt: number): number {
  let d = Number.POSITIVE_INFINITY;
  if (Pt < -1e-12) d = -Pt;
  if (P.baselineKw && Pt < P.baselineKw[t] - 1e-12) d = Math.min(d, P.baselineKw[t] - Pt);
  return d;
}

function kinkDown(P: ScheduleState['problem'], t: number, Pt: number): number {
  let d = Number.POSITIVE_INFINITY;
  if (Pt > 1e-12) d = Pt;
  if (P.baselineKw && Pt > P.baselineKw[t] + 1e-12) d = Math.min(d, Pt - P.baselineKw[t]);
  return d;
}
