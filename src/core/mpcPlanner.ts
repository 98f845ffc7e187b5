import type { Session } from '../../models/session';
import { buildPlanningProblem } from '../../optimizers/buildPlanningProblem';
import { flexEnvelope } from '../../optimizers/flexEnvelope';
import { planSite, type SitePlan } from '../../optimizers/planSite';
import type { EvflexConfig } from '../config/configSchema';
import type { SiteEnvelope, SitePlanner, SlotDecision } from './ports/sitePlanner';
import type { SiteRuntime } from './siteRuntime';

/**
 * Events that may re-plan incrementally from the previous plan; anything else solves afresh.
 * `replan` is the optimised plan that follows a limit change the engine first answered by
 * clamping (comply first): a new limit, which the incremental re-plan is for — a full solve
 * there cost every DSO request ~5 ms of engine time at 50 EVSEs, behind which the next
 * request waited.
 */
const INCREMENTAL_TRIGGERS = new Set([
  'arrival',
  'departure',
  'evUpdate',
  'dsoVariation',
  'demandResponse',
  'replan',
]);

/**
 * Model-predictive control over the optimizers: every decision re-plans the horizon from the
 * site's current state and applies the first slot. Event bursts re-plan incrementally from
 * the previous plan; the timer (and new prices) solve from scratch, so incremental drift
 * never lasts longer than one re-plan interval. The core clamps the result into the node
 * limits of the validity window again, so a plan can never push a setpoint over a limit.
 */
export function createMpcPlanner(config: EvflexConfig): SitePlanner {
  const slotMinutes = config.time.slotMinutes;
  const horizonSlots = Math.round((config.time.horizonHours * 60) / slotMinutes);
  // Built once: the reserve is config, not state.
  const reserveUpKw = constant(horizonSlots, config.frequency.reservedUpKw);
  const reserveDownKw = constant(horizonSlots, config.frequency.reservedDownKw);
  return {
    name: 'mpc-fast',
    decide(runtime: SiteRuntime, nowMs: number, _limits, trigger: string): SlotDecision {
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
      const problem = buildPlanningProblem({
        topology: state.topology!,
        sessions,
        variations: state.variations,
        demandResponses: state.demandResponses,
        prices: state.prices,
        nowMs,
        alignToClock: false,
        slotMinutes,
        horizonSlots,
        reserveUpKw,
        reserveDownKw,
        reserveEnduranceHours: config.frequency.reserveEnduranceMin / 60,
      });
      const incremental = trigger.split('+').every((t) => INCREMENTAL_TRIGGERS.has(t));
      const previous = incremental ? (runtime.plannerMemory as SitePlan | null) : null;
      const plan = planSite(problem, previous ?? undefined, {
        flowSizeLimit: config.planner.cycleSearchMaxSessionSlots,
      });
      const T = problem.slotCount;
      for (let s = 0; s < problem.sessionCount; s++) {
        const e = index.evseIndexById.get(problem.evseIds[s]);
        if (e !== undefined) evseKw[e] = plan.sessionKw[s * T];
      }
      // The plan only counts whole slots before departure, so an EV leaving within the
      // first slot has no slot left in it: let it finish its target at full power.
      const slotMs = slotMinutes * 60_000;
      for (const { evseId, session } of sessions) {
        if (session.departureMs - nowMs < slotMs && session.energyTargetKwh > 1e-6) {
          evseKw[index.evseIndexById.get(evseId)!] = session.maxChargeKw;
        }
      }
      runtime.plannerMemory = plan;
      return {
        evseKw,
        solver: `mpc-${plan.solver}`,
        objective: plan.costTotal,
        energyCost: plan.energyCost,
        shortfallKwh: plan.shortfallKwh,
        fallback: false,
        envelope: () => siteEnvelope(flexEnvelope(problem, plan.sessionKw), T, problem.slotHours),
      };
    },
  };
}

function constant(length: number, value: number): Float64Array | undefined {
  return value > 0 ? new Float64Array(length).fill(value) : undefined;
}

/** The root row (node 0 = the site) of the optimizer's envelope, as plain arrays for the wire. */
function siteEnvelope(env: ReturnType<typeof flexEnvelope>, slots: number, slotHours: number): SiteEnvelope {
  const row = (a: Float64Array) => Array.from(a.subarray(0, slots), (v) => Math.round(v * 1000) / 1000);
  const minKw = row(env.minKw);
  const maxKw = row(env.maxKw);
  const cumulative = (kw: number[]) => {
    let sum = 0;
    return kw.map((v) => {
      sum += v * slotHours;
      return Math.round(sum * 1000) / 1000;
    });
  };
  return {
    startMs: env.slotStartMs,
    slotMinutes: env.slotMinutes,
    baselineKw: row(env.plannedKw),
    minKw,
    maxKw,
    energyMinKwh: cumulative(minKw),
    energyMaxKwh: cumulative(maxKw),
    reservedUpKw: row(env.reservedUpKw),
    reservedDownKw: row(env.reservedDownKw),
    reserveBackedUpKw: row(env.reserveBackedUpKw),
    reserveBackedDownKw: row(env.reserveBackedDownKw),
    reserveEnduranceMin: Math.round(env.reserveEnduranceHours * 60 * 1000) / 1000,
  };
}
