import type { EvflexConfig } from '../config/configSchema';
import { createMpcPlanner } from '../core/mpcPlanner';
import { placeholderPlanner } from '../core/placeholderPlanner';
import type { SitePlanner } from '../core/ports/sitePlanner';

/** The planner the config asks for: MPC over the fast scheduler, or the safe equal-share policy. */
export function plannerFor(config: EvflexConfig): SitePlanner {
  return config.planner.solver === 'fast' ? createMpcPlanner(config) : placeholderPlanner;
}
