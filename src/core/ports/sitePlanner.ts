import type { NodeLimits } from '../effectiveNodeLimits';
import type { SiteRuntime } from '../siteRuntime';

/** What a planner decides for the current slot, per EVSE (signed kW, negative = discharge). */
export interface SlotDecision {
  evseKw: Float64Array;
  solver: string;
  objective: number;
  energyCost: number;
  shortfallKwh: number;
  /** Set when the planner gave up and the safe policy decided instead. */
  fallback: boolean;
  /** The site's flexibility around the plan, per slot, computed only when asked for. */
  envelope?: () => SiteEnvelope;
}

/** Per slot of the horizon, at the site connection point (kW, positive = import). */
export interface SiteEnvelope {
  startMs: number;
  slotMinutes: number;
  baselineKw: number[];
  minKw: number[];
  maxKw: number[];
  /** Cumulative energy (kWh from the start) if the site ran at minKw / maxKw in every slot. */
  energyMinKwh: number[];
  energyMaxKwh: number[];
  reservedUpKw: number[];
  reservedDownKw: number[];
  /** What the planned EVs can hold for the endurance (a planner that does not model it omits these). */
  reserveBackedUpKw?: number[];
  reserveBackedDownKw?: number[];
  reserveEnduranceMin?: number;
}

/**
 * Port between the core and the optimizers: the placeholder policy and the MPC planner
 * both implement it. `limits` are the node limits that hold over the setpoints' validity.
 */
export interface SitePlanner {
  readonly name: string;
  decide(runtime: SiteRuntime, nowMs: number, limits: NodeLimits, trigger: string): SlotDecision;
}
