import { requiredPenaltyPerKwh } from './planningProblem';
import { type ScheduleState, slopeDown } from './scheduleState';

export interface ChargeFlowOptions {
  /** Arc scans at most over all shortest-path and augmenting searches. */
  maxWork: number;
  /**
   * When given (nodes × slots), filled with the flow's one-sided prices of a grid kWh at each node and slot, from the
   * shortest paths in the final residual graph: `pricesUp` what one more kWh drawn there costs (cheapest path to the
   * sink: site price, or the penalty of a session it displaces), `pricesDown` what one kWh less is worth (cheapest
   * path back from the sink, through the held sessions' flow too). A move priced by them is a descent for small steps
   * even where the duals are not unique. Nodes the flow never reaches take their nearest binding ancestor's prices.
   */
  pricesUp?: Float64Array;
  pricesDown?: Float64Array;
}

/**
 * Exact re-plan of the charge-only sessions as a min-cost flow, the other sessions (V2G, AC floor) held where they
 * are. For sessions without discharge or floor the LP is a transportation problem on the time-expanded tree:
 *
 *   source → session (its energy value, concave: required, then target, then up to the energy maximum and the
 *   capacity, each piece at minus its penalty per grid kWh) → (EVSE, slot) (max power × slot) → … → (root, slot)
 *   (each node's import limit less the held sessions' flow) → sink (site cost pieces: export / import price and the
 *   baseline deviation, convex in the site power).
 *
 * Successive shortest paths from the zero flow with node potentials (the graph starts acyclic, so one topological
 * pass prices it): each phase is one Dijkstra on reduced costs, stopped at the sink, then a blocking flow (Dinic) on
 * the arcs of zero reduced cost, all on one residual graph built once. Stops when the cheapest path no longer lowers
 * the cost (optimal) or the work runs out (the flow so far is feasible and each phase lowered its cost).
 * Returns the new schedule (`[s * T + t]`, the held sessions unchanged), or null when there is nothing to plan.
 */
export function chargeFlow(st: ScheduleState, options: ChargeFlowOptions): Float64Array | null {
  const P = st.problem;
  const S = st.S;
  const T = st.T;
  const N = P.nodeCount;
  const h = st.h;
  const free = new Uint8Array(S);
  let freeCount = 0;
  let windowSlots = 0;
  for (let s = 0; s < S; s++)
    if (P.maxDischargeKw[s] <= 0 && P.minChargeKw[s] <= 0 && P.endSlot[s] > P.firstSlot[s]) {
      free[s] = 1;
      freeCount++;
      windowSlots += P.endSlot[s] - P.firstSlot[s];
    }
  if (freeCount === 0) return null;

  // Flow of the held sessions through each node and slot.
  const heldKw = new Float64Array(N * T);
  for (let s = 0; s < S; s++) {
    if (free[s]) continue;
    for (let t = P.firstSlot[s]; t < P.endSlot[s]; t++) {
      const p = st.kw[s * T + t];
      if (p !== 0) for (let n = P.sessionNode[s]; n >= 0; n = P.nodeParent[n]) heldKw[n * T + t] += p;
    }
  }

  // The planned sessions only add import, so the export limits hold for any flow if the held sessions alone keep
  // them; where held V2G export is netted by charging that may be re-planned, give up (a lower bound, not modelled).
  for (let k = 0; k < N * T; k++) if (heldKw[k] < -st.exportKw[k] - 1e-9) return null;

  const g = new ResidualGraph(2 + S + N * T, 2 * (4 * freeCount + windowSlots + N * T + 3 * T));
  const SOURCE = 0;
  const SINK = 1;
  const tree = (n: number, t: number) => 2 + S + n * T + t;
  const sessionArc = new Int32Array(S * T).fill(-1);
  const penalty = P.shortfallPenaltyPerKwh;
  const bigPenalty = requiredPenaltyPerKwh(P);
  const cut = new Float64Array(4);
  // Root → sink arcs per slot (first, end) for the site level at the end.
  const rootArcs = new Int32Array(2 * T);
  const up = (n: number) => {
    const b = st.bindNext[n];
    return b > 0 ? b : 0;
  };
  for (let s = 0; s < S; s++) {
    if (!free[s]) continue;
    const etaC = P.chargeEfficiency[s];
    // Charge only: the SoC rises monotonically, so capacity is a cap on the energy delivered.
    const most = Math.max(0, Math.min(P.energyMaxKwh[s], P.capacityKwh[s] - P.socKwh[s]));
    const required = Math.min(Math.max(0, st.requiredKwh[s]), most);
    const target = Math.min(Math.max(0, P.energyTargetKwh[s]), most);
    cut[0] = Math.min(required, target);
    cut[1] = Math.max(required, target);
    cut[2] = most;
    let from = 0;
    for (let k = 0; k < 3; k++) {
      const to = cut[k];
      if (to <= from + 1e-12) continue;
      const value = (from < required ? bigPenalty : 0) + (from < target ? penalty : 0);
      g.arc(SOURCE, 2 + s, (to - from) / etaC, -value * etaC);
      from = to;
    }
    // Straight to the nearest node whose limit can bind (the others cover every session below them).
    const e = up(P.sessionNode[s]);
    const capKwh = P.maxChargeKw[s] * h;
    for (let t = P.firstSlot[s]; t < P.endSlot[s]; t++)
      sessionArc[s * T + t] = g.arc(2 + s, tree(e, t), capKwh, 0);
  }
  for (let t = 0; t < T; t++) {
    for (let n = N - 1; n >= 1; n--) {
      if (st.bindNext[n] !== n) continue;
      const room = st.importKw[n * T + t] - heldKw[n * T + t];
      g.arc(tree(n, t), tree(up(P.nodeParent[n]), t), Math.max(0, room) * h, 0);
    }
    // Root → sink: the site cost from the held level up, piece by piece between its kinks.
    let room = st.importKw[t] - heldKw[t];
    if (st.rootCapKw) room = Math.min(room, st.rootCapKw[t] - heldKw[t]);
    let level = (P.siteLoadKw ? P.siteLoadKw[t] : 0) + heldKw[t];
    const baseline = P.baselineKw ? P.baselineKw[t] : Number.NaN;
    rootArcs[2 * t] = g.m;
    rootArcs[2 * t + 1] = g.m;
    while (room > 1e-12) {
      let step = room;
      if (level < 0) step = Math.min(step, -level);
      if (level < baseline) step = Math.min(step, baseline - level);
      let price = level >= 0 ? P.importPricePerKwh[t] : P.exportPricePerKwh[t];
      if (P.baselineKw) price += (level >= baseline ? 1 : -1) * P.baselineDeviationCostPerKwh;
      g.arc(tree(0, t), SINK, step * h, price);
      room -= step;
      level += step;
      rootArcs[2 * t + 1] = g.m;
    }
  }
  g.finish();

  // Potentials: shortest distances on the acyclic start graph, in topological order.
  const pi = g.pi;
  pi.fill(Number.POSITIVE_INFINITY);
  pi[SOURCE] = 0;
  const relaxFrom = (u: number) => {
    const du = pi[u];
    if (du === Number.POSITIVE_INFINITY) return;
    for (let k = g.start[u]; k < g.start[u + 1]; k++) {
      const a = g.adj[k];
      if (g.cap[a] <= 0) continue;
      const v = g.head[a];
      const d = du + g.cost[a];
      if (d < pi[v]) pi[v] = d;
    }
  };
  relaxFrom(SOURCE);
  for (let s = 0; s < S; s++) relaxFrom(2 + s);
  for (let n = N - 1; n >= 0; n--) for (let t = 0; t < T; t++) relaxFrom(tree(n, t));
  if (pi[SINK] === Number.POSITIVE_INFINITY) return null;

  let work = options.maxWork;
  while (work > 0) {
    work -= g.dijkstra(SOURCE, SINK);
    if (g.dist[SINK] === Number.POSITIVE_INFINITY) break;
    // Goldberg's update: settled nodes by their distance, the rest by the sink's; reduced costs stay ≥ 0.
    const dSink = g.dist[SINK];
    for (let v = 0; v < g.V; v++) if (pi[v] !== Number.POSITIVE_INFINITY) pi[v] += Math.min(g.dist[v], dSink);
    if (pi[SINK] - pi[SOURCE] >= -1e-12 * g.costScale) break;
    work -= g.blockingFlow(SOURCE, SINK, work);
  }

  if (options.pricesUp && options.pricesDown)
    sidedPrices(st, g, SINK, 2 + S, heldKw, rootArcs, options.pricesUp, options.pricesDown);

  const kw = st.kw.slice();
  for (let s = 0; s < S; s++) {
    if (!free[s]) continue;
    const pMax = P.maxChargeKw[s];
    for (let t = P.firstSlot[s]; t < P.endSlot[s]; t++) {
      const a = sessionArc[s * T + t];
      const p = a >= 0 ? g.cap[a ^ 1] / h : 0;
      kw[s * T + t] = p < 1e-9 ? 0 : Math.min(p, pMax);
    }
  }
  return kw;
}

/**
 * One-sided prices at every (binding node, slot): up = shortest path node → sink in the residual graph (reverse
 * Dijkstra on reduced costs), down = minus the shortest path sink → node, label-correcting because it may also go
 * down the tree against the held sessions' flow (a virtual arc per binding node and slot, cost 0, while the held flow
 * and the export limit leave room) and below the held site level (a virtual sink → root arc at the site's marginal
 * saving there). Unreached nodes inherit their nearest binding ancestor's prices.
 */
function sidedPrices(
  st: ScheduleState,
  g: ResidualGraph,
  sink: number,
  treeBase: number,
  heldKw: Float64Array,
  rootArcs: Int32Array,
  up: Float64Array,
  down: Float64Array,
): void {
  const P = st.problem;
  const T = st.T;
  const N = P.nodeCount;
  const INF = Number.POSITIVE_INFINITY;
  const pi = g.pi;
  // Up: true distance x → sink = dπ(x) − π(x) + π(sink).
  g.dijkstraToSink(sink);
  const dUp = g.dist;
  for (let n = 0; n < N; n++) {
    if (n > 0 && st.bindNext[n] !== n) continue;
    for (let t = 0; t < T; t++) {
      const x = treeBase + n * T + t;
      up[n * T + t] = dUp[x] === INF || pi[x] === INF ? INF : dUp[x] - pi[x] + pi[sink];
    }
  }
  // Down: label-correcting from the sink on true costs, residual arcs plus the virtual ones.
  const V = g.V;
  const dist = new Float64Array(V).fill(INF);
  const inQueue = new Uint8Array(V);
  const queue = new Int32Array(V + 1);
  let qh = 0;
  let qt = 0;
  const push = (v: number, d: number) => {
    if (d >= dist[v] - 1e-12) return;
    dist[v] = d;
    if (!inQueue[v]) {
      inQueue[v] = 1;
      queue[qt] = v;
      qt = qt === V ? 0 : qt + 1;
    }
  };
  dist[sink] = 0;
  // Virtual sink → root per slot: one kWh less at the site level the flow ends with.
  for (let t = 0; t < T; t++) {
    let level = (P.siteLoadKw ? P.siteLoadKw[t] : 0) + heldKw[t];
    for (let a = rootArcs[2 * t]; a < rootArcs[2 * t + 1]; a += 2) level += g.cap[a ^ 1] / st.h;
    push(treeBase + t, -slopeDown(P, t, level));
  }
  // Binding children of each binding node (CSR).
  const childStart = new Int32Array(N + 1);
  const children = new Int32Array(N);
  const parentOf = (c: number) => {
    const b = st.bindNext[P.nodeParent[c]];
    return b > 0 ? b : 0;
  };
  for (let c = 1; c < N; c++) if (st.bindNext[c] === c) childStart[parentOf(c) + 1]++;
  for (let n = 0; n < N; n++) childStart[n + 1] += childStart[n];
  const fill = childStart.slice(0, N);
  for (let c = 1; c < N; c++) if (st.bindNext[c] === c) children[fill[parentOf(c)]++] = c;
  let budget = 50 * V;
  while (qh !== qt && budget-- > 0) {
    const u = queue[qh];
    qh = qh === V ? 0 : qh + 1;
    inQueue[u] = 0;
    const du = dist[u];
    for (let k = g.start[u]; k < g.start[u + 1]; k++) {
      const a = g.adj[k];
      if (g.cap[a] > 1e-12) push(g.head[a], du + g.cost[a]);
    }
    const local = u - treeBase;
    if (local >= 0 && local < N * T) {
      // Down the tree against held flow: to every binding child whose nearest binding ancestor is this node.
      const n = Math.floor(local / T);
      const t = local - n * T;
      for (let k = childStart[n]; k < childStart[n + 1]; k++) {
        const c = children[k];
        if (heldKw[c * T + t] + st.exportKw[c * T + t] > 1e-9) push(treeBase + c * T + t, du);
      }
    }
  }
  for (let n = 0; n < N; n++) {
    if (n > 0 && st.bindNext[n] !== n) continue;
    for (let t = 0; t < T; t++) {
      const d = dist[treeBase + n * T + t];
      down[n * T + t] = d === INF ? -INF : -d;
    }
  }
  // Unreached and non-binding nodes: the nearest binding ancestor's prices (top-down).
  for (let n = 1; n < N; n++) {
    const b = st.bindNext[P.nodeParent[n]];
    const above = (b > 0 ? b : 0) * T;
    const own = st.bindNext[n] === n;
    for (let t = 0; t < T; t++) {
      if (!own || up[n * T + t] === INF) up[n * T + t] = up[above + t];
      if (!own || down[n * T + t] === -INF) down[n * T + t] = down[above + t];
    }
  }
}

/** Arcs in pairs (a, a ^ 1 its reverse), adjacency as CSR after `finish`; typed arrays throughout. */
class ResidualGraph {
  readonly V: number;
  m = 0;
  readonly head: Int32Array;
  readonly cap: Float64Array;
  readonly cost: Float64Array;
  readonly start: Int32Array;
  adj: Int32Array;
  readonly pi: Float64Array;
  readonly dist: Float64Array;
  costScale = 1;
  private readonly heap: Int32Array;
  private readonly heapPos: Int32Array;
  private readonly level: Int32Array;
  private readonly next: Int32Array;
  private readonly queue: Int32Array;
  private pathArc: Int32Array;
  private labelled = 0;

  constructor(V: number, arcCapacity: number) {
    this.V = V;
    this.head = new Int32Array(arcCapacity);
    this.cap = new Float64Array(arcCapacity);
    this.cost = new Float64Array(arcCapacity);
    this.start = new Int32Array(V + 1);
    this.adj = new Int32Array(0);
    this.pi = new Float64Array(V);
    this.dist = new Float64Array(V);
    this.heap = new Int32Array(V);
    this.heapPos = new Int32Array(V).fill(-1);
    this.level = new Int32Array(V).fill(-1);
    this.next = new Int32Array(V);
    this.queue = new Int32Array(V);
    this.pathArc = new Int32Array(64);
  }

  /** Adds u → v (capacity, cost per unit) and its empty reverse; returns the forward arc. */
  arc(u: number, v: number, capacity: number, c: number): number {
    const a = this.m;
    this.head[a] = v;
    this.cap[a] = capacity;
    this.cost[a] = c;
    this.head[a + 1] = u;
    this.cap[a + 1] = 0;
    this.cost[a + 1] = -c;
    this.m += 2;
    const abs = Math.abs(c);
    if (abs > this.costScale) this.costScale = abs;
    return a;
  }

  finish(): void {
    const start = this.start;
    for (let a = 0; a < this.m; a++) start[this.head[a ^ 1] + 1]++;
    for (let v = 0; v < this.V; v++) start[v + 1] += start[v];
    const fill = start.slice(0, this.V);
    this.adj = new Int32Array(this.m);
    for (let a = 0; a < this.m; a++) this.adj[fill[this.head[a ^ 1]]++] = a;
  }

  /** Dijkstra on reduced costs from `src`, stopped once `dst` is settled. Returns the arc scans. */
  dijkstra(src: number, dst: number): number {
    const dist = this.dist;
    const pi = this.pi;
    let size = this.seedHeap(src);
    let work = 1;
    while (size > 0) {
      const u = this.popMin(size);
      size--;
      if (u === dst) break;
      const du = dist[u];
      const pu = pi[u];
      for (let k = this.start[u]; k < this.start[u + 1]; k++) {
        const a = this.adj[k];
        if (this.cap[a] <= 1e-12) continue;
        work++;
        size = this.relax(a, this.head[a], du, pu, size, false);
      }
    }
    for (let i = 0; i < size; i++) this.heapPos[this.heap[i]] = -1;
    return work;
  }

  /** Full Dijkstra on reduced costs over the reversed residual arcs, from `dst` (distances to it). */
  dijkstraToSink(dst: number): void {
    const dist = this.dist;
    const pi = this.pi;
    let size = this.seedHeap(dst);
    while (size > 0) {
      const v = this.popMin(size);
      size--;
      const dv = dist[v];
      const pv = pi[v];
      if (pv === Number.POSITIVE_INFINITY) continue;
      for (let k = this.start[v]; k < this.start[v + 1]; k++) {
        const b = this.adj[k] ^ 1; // u → v
        if (this.cap[b] <= 1e-12) continue;
        size = this.relax(b, this.head[this.adj[k]], dv, pv, size, true);
      }
    }
  }

  /** Resets the distances to ∞ and the heap to `v` alone at distance 0; returns the heap size. */
  private seedHeap(v: number): number {
    this.dist.fill(Number.POSITIVE_INFINITY);
    this.dist[v] = 0;
    this.heap[0] = v;
    this.heapPos[v] = 0;
    return 1;
  }

  /** Takes the nearest node off a heap of `size` entries (the caller's size drops by one) and returns it. */
  private popMin(size: number): number {
    const heap = this.heap;
    const pos = this.heapPos;
    const u = heap[0];
    pos[u] = -1;
    const last = size - 1;
    if (last > 0) {
      heap[0] = heap[last];
      pos[heap[0]] = 0;
      this.siftDown(0, last);
    }
    return u;
  }

  /**
   * Offers `to` the settled node's distance `d` plus the reduced cost of arc `a` (clamped at 0 against rounding),
   * `pFrom` the settled node's potential; reversed (scan towards the sink), `to` is the arc's tail, not its head, so
   * the potentials change sides. Returns the heap size.
   */
  private relax(a: number, to: number, d: number, pFrom: number, size: number, reversed: boolean): number {
    const pTo = this.pi[to];
    if (pTo === Number.POSITIVE_INFINITY) return size;
    let rc = reversed ? this.cost[a] + pTo - pFrom : this.cost[a] + pFrom - pTo;
    if (rc < 0) rc = 0;
    const nd = d + rc;
    if (!(nd < this.dist[to])) return size;
    this.dist[to] = nd;
    const pos = this.heapPos;
    let n = size;
    if (pos[to] < 0) {
      this.heap[n] = to;
      pos[to] = n++;
    }
    this.siftUp(pos[to]);
    return n;
  }

  private siftUp(i0: number): void {
    const heap = this.heap;
    const pos = this.heapPos;
    const dist = this.dist;
    let i = i0;
    const v = heap[i];
    const d = dist[v];
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const w = heap[parent];
      if (dist[w] <= d) break;
      heap[i] = w;
      pos[w] = i;
      i = parent;
    }
    heap[i] = v;
    pos[v] = i;
  }

  private siftDown(i0: number, size: number): void {
    const heap = this.heap;
    const pos = this.heapPos;
    const dist = this.dist;
    let i = i0;
    const v = heap[i];
    const d = dist[v];
    for (;;) {
      let c = 2 * i + 1;
      if (c >= size) break;
      if (c + 1 < size && dist[heap[c + 1]] < dist[heap[c]]) c++;
      if (dist[heap[c]] >= d) break;
      heap[i] = heap[c];
      pos[heap[c]] = i;
      i = c;
    }
    heap[i] = v;
    pos[v] = i;
  }

  private admissible(a: number, u: number): boolean {
    if (this.cap[a] <= 1e-12) return false;
    const v = this.head[a];
    const pv = this.pi[v];
    if (pv === Number.POSITIVE_INFINITY) return false;
    return this.cost[a] + this.pi[u] - pv <= 1e-11 * this.costScale;
  }

  /** Dinic on the arcs of zero reduced cost: BFS levels, then augmenting paths along them. Returns the arc scans. */
  blockingFlow(src: number, dst: number, maxWork: number): number {
    const level = this.level;
    const next = this.next;
    let work = 0;
    const q = this.queue;
    while (work < maxWork) {
      // Only the nodes the last search labelled carry a level (no O(V) pass per phase).
      for (let i = 0; i < this.labelled; i++) level[q[i]] = -1;
      let qh = 0;
      let qt = 0;
      level[src] = 0;
      q[qt++] = src;
      while (qh < qt) {
        const u = q[qh++];
        // Nodes at the sink's level or beyond are on no shortest admissible path.
        if (level[dst] >= 0 && level[u] >= level[dst]) break;
        for (let k = this.start[u]; k < this.start[u + 1]; k++) {
          const a = this.adj[k];
          work++;
          const v = this.head[a];
          if (level[v] >= 0 || !this.admissible(a, u)) continue;
          level[v] = level[u] + 1;
          q[qt++] = v;
        }
      }
      this.labelled = qt;
      if (level[dst] < 0) break;
      for (let i = 0; i < qt; i++) next[q[i]] = this.start[q[i]];
      if (this.pathArc.length < level[dst] + 1) this.pathArc = new Int32Array(2 * (level[dst] + 1));
      const path = this.pathArc;
      let depth = 0;
      let u = src;
      let pushed = false;
      while (work < maxWork) {
        if (u === dst) {
          let x = Number.POSITIVE_INFINITY;
          for (let i = 0; i < depth; i++) if (this.cap[path[i]] < x) x = this.cap[path[i]];
          for (let i = 0; i < depth; i++) {
            this.cap[path[i]] -= x;
            this.cap[path[i] ^ 1] += x;
          }
          pushed = true;
          // Resume from the tail of the first saturated arc (the path before it is still admissible).
          let cut = 0;
          while (cut < depth && this.cap[path[cut]] > 1e-12) cut++;
          if (cut === depth) {
            depth = 0;
            u = src;
          } else {
            u = this.head[path[cut] ^ 1];
            depth = cut;
          }
          continue;
        }
        let advanced = false;
        for (; next[u] < this.start[u + 1]; next[u]++) {
          const a = this.adj[next[u]];
          work++;
          const v = this.head[a];
          if (level[v] !== level[u] + 1 || !this.admissible(a, u)) continue;
          path[depth++] = a;
          u = v;
          advanced = true;
          break;
        }
        if (advanced) continue;
        // Dead end: retreat and skip the arc that led here.
        level[u] = -1;
        if (depth === 0) break;
        const back = path[--depth];
        u = this.head[back ^ 1];
        next[u]++;
      }
      if (!pushed) break;
    }
    return work;
  }
}
