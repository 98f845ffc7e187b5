import type { EvflexConfig } from '../config/configSchema';
import { placeholderPlanner } from '../core/placeholderPlanner';
import type { SitePlanner } from '../core/ports/sitePlanner';

/** The planner the config asks for (the MPC planner over the fast scheduler once wired). */
export function plannerFor(_config: EvflexConfig): SitePlanner {
  return placeholderPlanner;
}
