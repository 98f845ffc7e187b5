/** A linear program in the row form of `LpModel`: minimise Σ cost·x subject to lo ≤ A x ≤ hi, colLo ≤ x ≤ colHi. */
export interface DenseLp {
  colLo: ArrayLike<number>;
  colHi: ArrayLike<number>;
  colCost: ArrayLike<number>;
  rows: readonly { idx: ArrayLike<number>; coef: ArrayLike<number>; lo: number; hi: number }[];
}

export interface DenseSimplexOptions {
  /** Pivots and bound flips at most (both phases); default 50·(rows + columns) + 1,000. */
  maxIterations?: number;
  /** Cap on tableau entries touched, counted as rows × (rows + columns) per iteration (rows that can bind only);
   *  default unlimited. */
  maxWork?: number;
  /** Cap on tableau entries actually touched (pivot updates on nonzeros, pricing and ratio passes); default
   *  unlimited. A tighter measure than `maxWork` where pivots are sparse (windows of a reserve site). */
  maxTouched?: number;
  /** Scratch memory reused across solves (the tableau; grown when too small): saves allocating and collecting a
   *  few MB per solve when a caller solves many LPs in a row. */
  workspace?: DenseSimplexWorkspace;
  /** Start values of the structural columns (clamped into their bounds); default each column's finite bound nearest
   *  0. A nonbasic column may then sit between its bounds. A feasible start (e.g. the current schedule) leaves phase 1
   *  almost nothing to do. */
  start?: ArrayLike<number>;
}

export interface DenseSimplexWorkspace {
  tab: Float64Array;
}

export interface DenseSimplexResult {
  status: 'optimal' | 'infeasible' | 'unbounded' | 'iterationLimit';
  /** Column values (the last basis' values unless optimal). */
  x: Float64Array;
  /** Σ cost·x (without any model offset). */
  objective: number;
  iterations: number;
  /** Tableau entries touched (see `maxTouched`). */
  touched: number;
}

const PRIMAL_TOL = 1e-9;
const DUAL_TOL = 1e-9;
const PIVOT_TOL = 1e-9;
/** Consecutive degenerate steps after which the pricing falls back to Bland's rule (no cycling) until one moves. */
const DEGENERATE_LIMIT = 50;
/** The reduced costs are recomputed from the tableau this often in phase 2 (drift of the rank-1 updates). */
const REPRICE_EVERY = 64;

/**
 * Bounded-variable primal simplex on a dense tableau, for LPs of a few hundred rows and columns (the exact model of a
 * tiny site). Every row i gets a logical variable r_i = A_i x bounded by [lo_i, hi_i], so the system is [A −I] z = 0
 * and the start basis is the logicals (tableau [−A I]); structural columns start at a finite bound (free ones at 0).
 * Phase 1 minimises the sum of bound violations of the basic variables (costs ±1 re-derived every iteration, an
 * infeasible variable blocks where it becomes feasible), phase 2 the objective. Dantzig pricing, a two-pass (Harris)
 * ratio test that prefers large pivots, bound flips, and Bland's rule after a run of degenerate steps.
 * O((rows + columns) · rows) per pivot, no allocation inside the loop, deterministic.
 */
export function denseSimplex(lp: DenseLp, options: DenseSimplexOptions = {}): DenseSimplexResult {
  const n = lp.colCost.length;
  const rows = activeRows(lp);
  const m = rows.length;
  const N = n + m;
  const lo = new Float64Array(N);
  const hi = new Float64Array(N);
  const cost = new Float64Array(N);
  for (let j = 0; j < n; j++) {
    lo[j] = lp.colLo[j];
    hi[j] = lp.colHi[j];
    cost[j] = lp.colCost[j];
  }
  for (let i = 0; i < m; i++) {
    lo[n + i] = rows[i].lo;
    hi[n + i] = rows[i].hi;
  }
  // The tableau's set-up alone would exceed the work cap: decline before allocating it (memory stays bounded).
  if (m * N > (options.maxTouched ?? Number.POSITIVE_INFINITY))
    return { status: 'iterationLimit', x: new Float64Array(n), objective: 0, iterations: 0, touched: 0 };
  let tab: Float64Array;
  const ws = options.workspace;
  if (ws) {
    if (ws.tab.length < m * N) ws.tab = new Float64Array(m * N);
    tab = ws.tab;
    tab.fill(0, 0, m * N);
  } else tab = new Float64Array(m * N);
  for (let i = 0; i < m; i++) {
    const r = rows[i];
    const row = i * N;
    for (let k = 0; k < r.idx.length; k++) tab[row + r.idx[k]] -= r.coef[k];
    tab[row + n + i] = 1;
  }
  const x = new Float64Array(N);
  const basis = new Int32Array(m);
  // Row of each basic variable, -1 if nonbasic.
  const rowOf = new Int32Array(N).fill(-1);
  for (let j = 0; j < n; j++)
    x[j] = options.start
      ? Math.min(hi[j], Math.max(lo[j], options.start[j]))
      : lo[j] > Number.NEGATIVE_INFINITY
        ? lo[j]
        : hi[j] < Number.POSITIVE_INFINITY
          ? hi[j]
          : 0;
  for (let i = 0; i < m; i++) {
    basis[i] = n + i;
    rowOf[n + i] = i;
    let v = 0;
    const r = rows[i];
    for (let k = 0; k < r.idx.length; k++) v += r.coef[k] * x[r.idx[k]];
    x[n + i] = v;
  }

  const d = new Float64Array(N);
  const w = new Float64Array(m);
  const nzIdx = new Int32Array(N);
  // Column q of the tableau, gathered once per iteration (the ratio test, the move and the pivot read it; row-major
  // strided reads cost a cache miss each).
  const col = new Float64Array(m);
  const maxIterations = Math.min(
    options.maxIterations ?? 50 * N + 1_000,
    Math.floor((options.maxWork ?? Number.POSITIVE_INFINITY) / Math.max(1, m * N)),
  );
  const maxTouched = options.maxTouched ?? Number.POSITIVE_INFINITY;
  // The tableau's set-up counts too.
  let touched = m * N;
  let iterations = 0;
  let phase = 1;
  let degenerate = 0;
  let sinceReprice = REPRICE_EVERY;

  const infeasibility = (): number => {
    let sum = 0;
    for (let i = 0; i < m; i++) {
      const v = x[basis[i]];
      const b = basis[i];
      const tol = PRIMAL_TOL * Math.max(1, Math.abs(v));
      if (v < lo[b] - tol) {
        w[i] = -1;
        sum += lo[b] - v;
      } else if (v > hi[b] + tol) {
        w[i] = 1;
        sum += v - hi[b];
      } else w[i] = 0;
    }
    return sum;
  };
  /** d_j = c_j − Σ_i c_B(i) tab_ij with the phase's costs (phase 1: c = 0 off the basis, w on it). */
  const price = () => {
    if (phase === 1) d.fill(0);
    else d.set(cost);
    for (let i = 0; i < m; i++) {
      const c = phase === 1 ? w[i] : cost[basis[i]];
      if (c === 0) continue;
      const row = i * N;
      touched += N;
      for (let j = 0; j < N; j++) d[j] -= c * tab[row + j];
    }
    for (let i = 0; i < m; i++) d[basis[i]] = 0;
  };

  while (iterations < maxIterations && touched <= maxTouched) {
    touched += N + 2 * m;
    if (phase === 1) {
      if (infeasibility() <= 0) {
        phase = 2;
        sinceReprice = REPRICE_EVERY;
        degenerate = 0;
        continue;
      }
      price();
    } else if (sinceReprice >= REPRICE_EVERY) {
      price();
      sinceReprice = 0;
    }
    // Pricing: entering column q and its direction.
    const bland = degenerate >= DEGENERATE_LIMIT;
    let q = -1;
    let dir = 0;
    let best = 0;
    for (let j = 0; j < N; j++) {
      if (rowOf[j] >= 0 || lo[j] === hi[j]) continue;
      const dj = d[j];
      let gain = 0;
      let jdir = 0;
      if (dj < -DUAL_TOL && x[j] < hi[j]) {
        gain = -dj;
        jdir = 1;
      } else if (dj > DUAL_TOL && x[j] > lo[j]) {
        gain = dj;
        jdir = -1;
      } else continue;
      if (bland) {
        q = j;
        dir = jdir;
        break;
      }
      if (gain > best) {
        best = gain;
        q = j;
        dir = jdir;
      }
    }
    if (q < 0) {
      if (phase === 1) return finish('infeasible');
      // Confirm with fresh reduced costs before declaring optimality.
      if (sinceReprice > 0) {
        sinceReprice = REPRICE_EVERY;
        continue;
      }
      return finish('optimal');
    }
    iterations++;
    sinceReprice++;
    for (let i = 0; i < m; i++) col[i] = tab[i * N + q];

    // Ratio test, pass 1: the largest step every basic variable allows with bounds relaxed by the tolerance.
    // The entering column's own room (it may start between its bounds).
    const range = dir > 0 ? hi[q] - x[q] : x[q] - lo[q];
    let thetaMax = range;
    for (let i = 0; i < m; i++) {
      const t = blockingStep(col[i] * dir, basis[i], PRIMAL_TOL);
      if (t < thetaMax) thetaMax = t;
    }
    if (thetaMax === Number.POSITIVE_INFINITY) {
      if (phase === 1) return finish('infeasible');
      return finish('unbounded');
    }
    // Pass 2: among the rows blocking within thetaMax, the largest pivot (Bland: the smallest basic index).
    let p = -1;
    let pivotAbs = 0;
    let theta = range;
    for (let i = 0; i < m; i++) {
      const alpha = col[i] * dir;
      const b = basis[i];
      const t = Math.max(0, blockingStep(alpha, b, 0));
      if (t === Number.POSITIVE_INFINITY || t > thetaMax) continue;
      const better = bland ? p < 0 || b < basis[p] : Math.abs(alpha) > pivotAbs;
      if (better) {
        p = i;
        pivotAbs = Math.abs(alpha);
        theta = t;
      }
    }
    if (p < 0 && range === Number.POSITIVE_INFINITY) return finish(phase === 1 ? 'infeasible' : 'unbounded');
    if (p >= 0 && range <= theta) p = -1;
    if (p < 0) theta = range;
    degenerate = theta <= PRIMAL_TOL ? degenerate + 1 : 0;

    // Move: x_q by dir·θ, each basic by −tab_iq·dir·θ.
    if (theta > 0) {
      x[q] += dir * theta;
      for (let i = 0; i < m; i++) {
        const a = col[i];
        if (a !== 0) x[basis[i]] -= a * dir * theta;
      }
    }
    if (p < 0) {
      // Bound flip: q stays nonbasic, at its other bound exactly.
      x[q] = dir > 0 ? hi[q] : lo[q];
      continue;
    }
    const leaving = basis[p];
    const alphaP = tab[p * N + q] * dir;
    // The leaving variable sits at the bound it hit exactly.
    const hit = blockingBound(alphaP, x[leaving] + alphaP * theta, leaving);
    if (hit !== null) x[leaving] = hit;
    pivot(p, q);
    rowOf[leaving] = -1;
    basis[p] = q;
    rowOf[q] = p;
    if (phase === 2) {
      // Reduced costs: d_j −= d_q · (new pivot row)_j.
      const dq = d[q];
      if (dq !== 0) {
        const row = p * N;
        for (let j = 0; j < N; j++) {
          const v = tab[row + j];
          if (v !== 0) d[j] -= dq * v;
        }
      }
      d[q] = 0;
    }
  }
  return finish('iterationLimit');

  /**
   * The bound a basic variable b at value v stops at when it moves by −α·θ (decreasing for α > 0), or null if it
   * does not block. Phase 1: an infeasible variable blocks where it becomes feasible, and not at all moving away.
   */
  function blockingBound(alpha: number, v: number, b: number): number | null {
    const tol = PRIMAL_TOL * Math.max(1, Math.abs(v));
    if (alpha > 0) {
      if (v > hi[b] + tol) return hi[b];
      if (v < lo[b] - tol) return null;
      return lo[b] > Number.NEGATIVE_INFINITY ? lo[b] : null;
    }
    if (v < lo[b] - tol) return lo[b];
    if (v > hi[b] + tol) return null;
    return hi[b] < Number.POSITIVE_INFINITY ? hi[b] : null;
  }

  /**
   * The step θ at which basic variable b, moving by −α·θ, reaches its blocking bound, that bound relaxed by
   * `relTol` · max(1, |bound|) (pass 1 of the ratio test; 0 in pass 2); ∞ if it does not block or α is too small
   * to pivot on.
   */
  function blockingStep(alpha: number, b: number, relTol: number): number {
    if (Math.abs(alpha) <= PIVOT_TOL) return Number.POSITIVE_INFINITY;
    const v = x[b];
    const limit = blockingBound(alpha, v, b);
    if (limit === null) return Number.POSITIVE_INFINITY;
    const tol = relTol * Math.max(1, Math.abs(limit));
    return alpha > 0 ? (v - limit + tol) / alpha : (limit - v + tol) / -alpha;
  }

  /** Gauss-Jordan step on (p, q); the other rows are updated only where the pivot row is nonzero (mostly sparse). */
  function pivot(p: number, q: number): void {
    const prow = p * N;
    const inv = 1 / tab[prow + q];
    let nz = 0;
    for (let j = 0; j < N; j++) {
      const v = tab[prow + j];
      if (v === 0) continue;
      tab[prow + j] = v * inv;
      nzIdx[nz++] = j;
    }
    tab[prow + q] = 1;
    for (let i = 0; i < m; i++) {
      if (i === p) continue;
      const f = col[i];
      if (f === 0) continue;
      const row = i * N;
      touched += nz;
      for (let k = 0; k < nz; k++) {
        const j = nzIdx[k];
        tab[row + j] -= f * tab[prow + j];
      }
      tab[row + q] = 0;
    }
  }

  function finish(status: DenseSimplexResult['status']): DenseSimplexResult {
    const out = x.slice(0, n);
    let objective = 0;
    for (let j = 0; j < n; j++) objective += cost[j] * out[j];
    return { status, x: out, objective, iterations, touched };
  }
}

/**
 * The rows that can bind: a row whose activity over the column bounds already lies within [lo, hi] (a node limit
 * above what the sessions below it can draw) is dropped, which shrinks the tableau of every pivot.
 */
function activeRows(lp: DenseLp): DenseLp['rows'] {
  const out: DenseLp['rows'][number][] = [];
  for (const r of lp.rows) {
    let minAct = 0;
    let maxAct = 0;
    for (let k = 0; k < r.idx.length; k++) {
      const a = r.coef[k];
      const l = lp.colLo[r.idx[k]];
      const h = lp.colHi[r.idx[k]];
      minAct += a > 0 ? a * l : a * h;
      maxAct += a > 0 ? a * h : a * l;
    }
    // NaN (∞ − ∞) compares false: kept.
    if (minAct >= r.lo && maxAct <= r.hi) continue;
    out.push(r);
  }
  return out;
}
