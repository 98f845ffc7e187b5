import { type FastScheduleOptions, fastSchedule } from './fastSchedule';
import type { PlanningProblem } from './planningProblem';
import { replan } from './replan';
import { scheduleCost } from './scheduleCost';

/** A site's plan: per-session per-slot kW (positive = charge, negative = discharge) and its cost terms. */
export interface SitePlan {
  /** S × T row-major: `sessionKw[s * T + t]`. */
  sessionKw: Float64Array;
  slotStartMs: number;
  slotMinutes: number;
  sessionIds: string[];
  evseIds: string[];
  costTotal: number;
  energyCost: number;
  shortfallKwh: number;
  /** A valid lower bound on the optimal cost where the solver has one. */
  lowerBound: number | null;
  /** `fast` (full solve) or `replan` (incremental from `previous`). */
  solver: string;
  solveMs?: never;
}

/**
 * The planner's single entry point. With `previous` (the last plan of the same site) it re-plans incrementally
 * (cheap, for event bursts); without it, or when the previous plan cannot be mapped onto the new slot grid, it
 * solves from scratch. Pure and synchronous; the caller measures time and schedules periodic full solves (call
 * without `previous`) so incremental drift never accumulates for long.
 */
export function planSite(
  problem: PlanningProblem,
  previous?: SitePlan,
  options?: FastScheduleOptions,
): SitePlan {
  const base = {
    slotStartMs: problem.slotStartMs,
    slotMinutes: problem.slotMinutes,
    sessionIds: problem.sessionIds,
    evseIds: problem.evseIds,
  };
  if (previous) {
    const result = replan(problem, previous);
    if (result) {
      const cost = scheduleCost(problem, result.state.kw);
      return {
        ...base,
        sessionKw: result.state.kw,
        costTotal: cost.costTotal,
        energyCost: cost.energyCost,
        shortfallKwh: cost.shortfallKwh,
        lowerBound: null,
        solver: 'replan',
      };
    }
  }
  const fast = fastSchedule(problem, options);
  return {
    ...base,
    sessionKw: fast.sessionKw,
    costTotal: fast.costTotal,
    energyCost: fast.energyCost,
    shortfallKwh: fast.shortfallKwh,
    lowerBound: fast.lowerBound,
    solver: 'fast',
  };
}
