/**
 * Gap scan (not a test): fast vs exact (glpk) over seeded random sites, per instance class.
 *   npx tsx test/optimizers/support/gapScan.ts <class> <fromSeed> <toSeed> [--list]
 * Classes: see `gapInstance` (v2g, plain, tight, reserve, reserveV2g, reserveCharge, overloaded, overloadedV2g,
 * overloadedLarge, overloadedSite<S>, overloadedSiteCharge<S>). Prints the count above 0.5 %, the worst gap and (--list) every gap > 0.5 %.
 */
import { buildPlanningProblem } from '../../../optimizers/buildPlanningProblem';
import { checkFeasibility } from '../../../optimizers/checkFeasibility';
import { exactScheduleGlpk } from '../../../optimizers/exactSchedule';
import { fastSchedule } from '../../../optimizers/fastSchedule';
import { gapInstance } from './gapInstances';
import { loadGlpk } from './solvers';

const [cls = 'v2g', fromArg = '1', toArg = '100', ...rest] = process.argv.slice(2);
const list = rest.includes('--list');
const glpk = await loadGlpk();
let above = 0;
let worst = 0;
let worstSeed = 0;
let n = 0;
let fastMs = 0;
let violations = 0;
const reserveKinds = new Set(['reserveUpUnbacked', 'reserveDownUnbacked', 'energyBelowMin']);
for (let seed = Number(fromArg); seed <= Number(toArg); seed++) {
  const p = buildPlanningProblem(gapInstance(cls, seed));
  const exact = exactScheduleGlpk(p, glpk);
  if (exact.status !== 'optimal') continue;
  const t0 = performance.now();
  const fast = fastSchedule(p);
  fastMs += performance.now() - t0;
  if (checkFeasibility(p, fast.sessionKw).some((v) => !reserveKinds.has(v.kind))) violations++;
  const gap = ((fast.costTotal - exact.costTotal) / Math.max(1e-9, Math.abs(exact.costTotal))) * 100;
  n++;
  if (gap > 0.5) {
    above++;
    if (list)
      console.log(`seed ${seed}: ${gap.toFixed(3)} % (fast ${fast.costTotal}, exact ${exact.costTotal})`);
  }
  if (gap > worst) {
    worst = gap;
    worstSeed = seed;
  }
}
console.log(
  JSON.stringify({
    cls,
    n,
    above,
    worstPct: Number(worst.toFixed(3)),
    worstSeed,
    violations,
    fastMsAvg: fastMs / n,
  }),
);
