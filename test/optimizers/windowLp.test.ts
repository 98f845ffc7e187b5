import { describe, expect, it } from 'vitest';
import { buildPlanningProblem } from '../../optimizers/buildPlanningProblem';
import { checkFeasibility } from '../../optimizers/checkFeasibility';
import { fastSchedule } from '../../optimizers/fastSchedule';
import type { PlanningProblem } from '../../optimizers/planningProblem';
import { scheduleCost } from '../../optimizers/scheduleCost';
import { smallSiteLp } from '../../optimizers/smallSiteLp';
import { windowLp } from '../../optimizers/windowLp';
import { gapInstance } from './support/gapInstances';
import { randomInstance } from './support/randomInstance';

/** What `windowLp` may leave: a jointly unreachable minimum and unbacked reserve, both priced in the cost. */
const priced = new Set(['energyBelowMin', 'reserveUpUnbacked', 'reserveDownUnbacked']);
const hard = (p: PlanningProblem, kw: Float64Array) =>
  checkFeasibility(p, kw).filter((v) => !priced.has(v.kind));

describe('windowLp', () => {
  it('over the whole horizon reaches the exact LP optimum', () => {
    // reserveEngine 110: 10 sessions × 15 slots, above the exact-LP step's 128 session-slots; the heuristic plan was
    // 24 % above the optimum.
    const p = buildPlanningProblem(gapInstance('reserveEngine', 110));
    const heuristic = fastSchedule(p, { windowLpSessionSlots: 0 }).sessionKw;
    const full = windowLp(p, heuristic, 0, p.slotCount);
    expect(full.optimal).toBe(true);
    const kw = full.sessionKw;
    expect(kw).not.toBeNull();
    if (!kw) return;
    expect(hard(p, kw)).toEqual([]);
    const lp = smallSiteLp(p, { maxModelSize: 10_000, maxWork: 1e11 });
    expect(lp).not.toBeNull();
    expect(scheduleCost(p, kw).costTotal).toBeCloseTo(lp?.objective ?? 0, 4);
  });

  it('re-plans only the window, keeps it only when the exact cost falls, and is feasible', () => {
    const p = buildPlanningProblem(gapInstance('reserveEngine', 134));
    const T = p.slotCount;
    let kw = fastSchedule(p, { windowLpSessionSlots: 0 }).sessionKw;
    // Without the windows the heuristic plan is far above the optimum (32 % in the gap scan).
    expect(scheduleCost(p, kw).costTotal).toBeGreaterThan(1.2 * fastSchedule(p).costTotal);
    let improved = 0;
    for (let from = 0; from < T; from += 6) {
      const to = Math.min(T, from + 12);
      const next = windowLp(p, kw, from, to).sessionKw;
      if (!next) continue;
      improved++;
      expect(hard(p, next)).toEqual([]);
      expect(scheduleCost(p, next).costTotal).toBeLessThan(scheduleCost(p, kw).costTotal);
      for (let s = 0; s < p.sessionCount; s++)
        for (let t = 0; t < T; t++) if (t < from || t >= to) expect(next[s * T + t]).toBe(kw[s * T + t]);
      // At its own optimum the same window finds nothing more.
      expect(windowLp(p, next, from, to).sessionKw).toBeNull();
      kw = next;
    }
    expect(improved).toBeGreaterThan(0);
  });

  it('re-plans only the sessions of its mask', () => {
    const p = buildPlanningProblem(gapInstance('reserveEngine', 110));
    const T = p.slotCount;
    const kw = fastSchedule(p, { windowLpSessionSlots: 0 }).sessionKw;
    let improved = 0;
    for (let s = 0; s < p.sessionCount; s++) {
      const mask = new Uint8Array(p.sessionCount);
      mask[s] = 1;
      const next = windowLp(p, kw, 0, T, {}, mask).sessionKw;
      if (!next) continue;
      improved++;
      expect(hard(p, next)).toEqual([]);
      expect(scheduleCost(p, next).costTotal).toBeLessThan(scheduleCost(p, kw).costTotal);
      for (let o = 0; o < p.sessionCount; o++)
        if (o !== s) for (let t = 0; t < T; t++) expect(next[o * T + t]).toBe(kw[o * T + t]);
    }
    expect(improved).toBeGreaterThan(0);
  });

  it('declines sites without a reserve', () => {
    const p = buildPlanningProblem(randomInstance(3, { v2g: true }));
    expect(windowLp(p, new Float64Array(p.sessionCount * p.slotCount), 0, p.slotCount).sessionKw).toBeNull();
  });
});
