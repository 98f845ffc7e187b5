/**
 * Optimizer benchmark: fast scheduler vs exact LP (HiGHS-wasm, glpk.js where small) on synthetic 3-level sites
 * (site → zones → stations → EVSEs) with 30 % V2G, 96 quarter-hour slots, plus incremental re-planning after one
 * arrival at a 500-EVSE site.
 *
 *   npm run bench:optimizers -- --json            one JSON object per line
 *   npm run bench:optimizers -- --sizes 100,1000  subset
 *   npm run bench:optimizers -- --exact-limit-s 60
 *
 * Seeded instances (mulberry32), so runs are comparable. Times are wall-clock medians in this process.
 */
import GLPK from 'glpk.js/node';
import highsLoader from 'highs';
import { buildPlanningProblem } from '../optimizers/buildPlanningProblem';
import { checkFeasibility } from '../optimizers/checkFeasibility';
import {
  type ExactResult,
  exactScheduleGlpk,
  exactScheduleHighs,
  type HighsLike,
} from '../optimizers/exactSchedule';
import { fastSchedule } from '../optimizers/fastSchedule';
import { planSite } from '../optimizers/planSite';
import { syntheticSite } from '../optimizers/syntheticSite';

const args = process.argv.slice(2);
const json = args.includes('--json');
const argValue = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const sizes = (argValue('--sizes') ?? '100,1000,10000,100000').split(',').map(Number);
const exactLimitS = Number(argValue('--exact-limit-s') ?? 60);
/** Largest size the exact solvers are tried at (their model alone takes GBs beyond). */
const highsMaxSessions = Number(argValue('--highs-max') ?? 10000);
const glpkMaxSessions = Number(argValue('--glpk-max') ?? 1000);
const v2gShare = 0.3;
const slots = 96;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function time<T>(f: () => T): [T, number] {
  const t0 = performance.now();
  const r = f();
  return [r, performance.now() - t0];
}

const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;

const highs = (await highsLoader()) as unknown as HighsLike;
const glpk = await GLPK();

for (const sessions of sizes) {
  const problem = buildPlanningProblem(syntheticSite({ sessions, seed: 42, v2gShare, horizonSlots: slots }));
  const runs = sessions >= 100_000 ? 3 : sessions >= 10_000 ? 5 : 7;
  // One warm-up run (JIT), then the measured runs.
  fastSchedule(problem);
  const times: number[] = [];
  const cpuTimes: number[] = [];
  let fast = fastSchedule(problem);
  for (let i = 0; i < runs; i++) {
    const cpu0 = process.cpuUsage();
    const [r, ms] = time(() => fastSchedule(problem));
    const cpu = process.cpuUsage(cpu0);
    fast = r;
    times.push(ms);
    cpuTimes.push((cpu.user + cpu.system) / 1000);
  }
  const violations = checkFeasibility(problem, fast.sessionKw);

  let exact: ExactResult | null = null;
  let exactMs: number | null = null;
  let exactSolver: string | null = null;
  if (sessions <= highsMaxSessions) {
    try {
      const [r, ms] = time(() => exactScheduleHighs(problem, highs, { timeLimitS: exactLimitS }));
      if (r.status === 'optimal' && ms <= exactLimitS * 1000) {
        exact = r;
        exactMs = ms;
        exactSolver = 'highs';
      }
    } catch {
      // Out of memory or a wasm abort on the largest models: reported as not finished.
    }
  }
  let glpkMs: number | null = null;
  let glpkGapPct: number | null = null;
  if (sessions <= glpkMaxSessions) {
    const [r, ms] = time(() => exactScheduleGlpk(problem, glpk, { timeLimitS: exactLimitS }));
    if (r.status === 'optimal' && ms <= exactLimitS * 1000) {
      glpkMs = ms;
      glpkGapPct = ((fast.costTotal - r.costTotal) / Math.abs(r.costTotal)) * 100;
      if (!exact) {
        exact = r;
        exactMs = ms;
        exactSolver = 'glpk';
      }
    }
  }
  const exactViolations = exact ? checkFeasibility(problem, exact.sessionKw).length : null;
  const row = {
    sessions,
    slots,
    nodes: problem.nodeCount,
    v2gShare,
    fastMs: round(median(times), 1),
    // CPU time of this process for the same runs: wall time minus waiting for a shared machine's cores.
    fastCpuMs: round(median(cpuTimes), 1),
    exactMs: exactMs === null ? null : round(exactMs, 0),
    exactSolver,
    gapPct: exact ? round(((fast.costTotal - exact.costTotal) / Math.abs(exact.costTotal)) * 100, 3) : null,
    violations: violations.length,
    fastCost: round(fast.costTotal, 2),
    exactCost: exact ? round(exact.costTotal, 2) : null,
    exactViolations,
    glpkMs: glpkMs === null ? null : round(glpkMs, 0),
    glpkGapPct: glpkGapPct === null ? null : round(glpkGapPct, 3),
    fastMsRuns: times.map((t) => round(t, 1)),
  };
  if (json) console.log(JSON.stringify(row));
  else
    console.log(
      `${String(sessions).padStart(6)} sessions × ${slots} slots, ${problem.nodeCount} nodes: fast ${row.fastMs} ms` +
        `, exact ${row.exactMs ?? '—'} ms (${exactSolver ?? 'did not finish'}), gap ${row.gapPct ?? '—'} %, violations ${row.violations}`,
    );
}

// Incremental re-planning after one arrival at a 500-EVSE site.
{
  const input = syntheticSite({ sessions: 500, seed: 11, v2gShare, horizonSlots: slots });
  const arriving = input.sessions.pop()!;
  const before = buildPlanningProblem(input);
  const previous = planSite(before);
  input.sessions.push(arriving);
  const after = buildPlanningProblem(input);
  planSite(after, previous);
  const replanTimes: number[] = [];
  let plan = previous;
  for (let i = 0; i < 31; i++) {
    const [r, ms] = time(() => planSite(after, previous));
    plan = r;
    replanTimes.push(ms);
  }
  const fullTimes: number[] = [];
  let full = previous;
  for (let i = 0; i < 7; i++) {
    const [r, ms] = time(() => planSite(after));
    full = r;
    fullTimes.push(ms);
  }
  const row = {
    replan: 'arrival',
    evses: 500,
    slots,
    replanMs: round(median(replanTimes), 2),
    fullSolveMs: round(median(fullTimes), 1),
    costVsFullPct: round(((plan.costTotal - full.costTotal) / Math.abs(full.costTotal)) * 100, 3),
    violations: checkFeasibility(after, plan.sessionKw).length,
  };
  if (json) console.log(JSON.stringify(row));
  else
    console.log(
      `re-plan after one arrival at 500 EVSEs: ${row.replanMs} ms (full solve ${row.fullSolveMs} ms), cost vs full ${row.costVsFullPct} %, violations ${row.violations}`,
    );
}
