import type { AclEntry } from '../config/configSchema';
import type { SimulationSources } from './simulateDay';

/**
 * The ACL a demo engine needs for a simulated site: each party only on its own topic, so
 * the simulated unauthorized input (a DSO limit from someone else) is rejected.
 */
export function simulationAcl(siteId: string, sources: SimulationSources): AclEntry[] {
  return [
    { siteId, topic: 'fleet.state', sources: [sources.csms] },
    { siteId, topic: 'fleet.meter', sources: [sources.csms, sources.meter] },
    { siteId, topic: 'grid.frequency', sources: [sources.meter] },
    { siteId, topic: 'dso.power-variation', sources: [sources.dso] },
    { siteId, topic: 'rm.signals', sources: [sources.fo] },
  ];
}
