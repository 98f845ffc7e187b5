import { allocateWithinLimits } from './allocateWithinLimits';
import { chargeDemandKw } from './chargeDemandKw';
import type { NodeLimits } from './effectiveNodeLimits';
import type { SitePlanner, SlotDecision } from './ports/sitePlanner';
import type { SiteRuntime } from './siteRuntime';

/**
 * The safe policy: every EV that still wants energy gets an equal share of the headroom
 * (water-filled through the tree), nobody discharges. Also the fallback when a real
 * planner fails or overruns its budget.
 */
export const placeholderPlanner: SitePlanner = {
  name: 'equal-share',
  decide(runtime: SiteRuntime, nowMs: number, limits: NodeLimits): SlotDecision {
    const index = runtime.index!;
    const demand = new Float64Array(index.evseIds.length);
    runtime.state.evses.forEach((evse, e) => {
      demand[e] = chargeDemandKw(evse, nowMs);
    });
    const evseKw = allocateWithinLimits(index, limits.importKw, demand);
    return { evseKw, solver: 'equal-share', objective: 0, energyCost: 0, shortfallKwh: 0, fallback: false };
  },
};
