import type { Session } from '../../models/session';
import { buildPlanningProblem } from '../../optimizers/buildPlanningProblem';
import { fastSchedule } from '../../optimizers/fastSchedule';
import type { PlanningProblem } from '../../optimizers/planningProblem';
import type { EvflexConfig } from '../config/configSchema';
import type { SitePlanner, SlotDecision } from './ports/sitePlanner';
import type { SiteRuntime } from './siteRuntime';

/** What the planner remembers per site between decisions (for incremental re-planning and envelopes). */
export interface MpcMemory {
  problem: PlanningProblem;
  sessionKw: Float64Array;
}

/**
 * Model-predictive control over the fast scheduler: every decision re-plans the whole
 * horizon from the site's current state and applies the first slot. The node limits the
 * core hands in are enforced again by the core's safety clamp, so the plan's own view of
 * limits per slot (from DSO variations and demand-response caps) only has to be good, not
 * perfect.
 */
export function createMpcPlanner(config: EvflexConfig): SitePlanner {
  const slotMinutes = config.time.slotMinutes;
  const horizonSlots = Math.round((config.time.horizonHours * 60) / slotMinutes);
  return {
    name: 'mpc-fast',
    decide(runtime: SiteRuntime, nowMs: number): SlotDecision {
      const index = runtime.index!;
      const state = runtime.state;
      const sessions: { evseId: string; session: Session }[] = [];
      for (const evse of state.evses) {
        const s = evse.session;
        if (!s || evse.status === 'faulted' || evse.status === 'unavailable' || s.departureMs <= nowMs)
          continue;
        sessions.push({ evseId: evse.evseId, session: s });
      }
      const evseKw = new Float64Array(index.evseIds.length);
      if (sessions.length === 0) {
        runtime.plannerMemory = null;
        return { evseKw, solver: 'mpc-fast', objective: 0, energyCost: 0, shortfallKwh: 0, fallback: false };
      }
      const problem = buildPlanningProblem({
        topology: state.topology!,
        sessions,
        variations: state.variations,
        demandResponses: state.demandResponses,
        prices: state.prices,
        nowMs,
        slotMinutes,
        horizonSlots,
      });
      const result = fastSchedule(problem);
      const T = problem.slotCount;
      for (let s = 0; s < problem.sessionCount; s++) {
        const e = index.evseIndexById.get(problem.evseIds[s]);
        if (e !== undefined) evseKw[e] = result.sessionKw[s * T];
      }
      runtime.plannerMemory = { problem, sessionKw: result.sessionKw } satisfies MpcMemory;
      return {
        evseKw,
        solver: 'mpc-fast',
        objective: result.costTotal,
        energyCost: result.energyCost,
        shortfallKwh: result.shortfallKwh,
        fallback: false,
      };
    },
  };
}
