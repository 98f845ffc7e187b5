// Public surface of the simulator; the files behind it are internal.
export {
  type BadInput,
  type BadInputContext,
  duplicateInput,
  keyMismatchInput,
  malformedJsonInput,
  schemaViolationInput,
  simulatedBadInputs,
  staleInput,
  unauthorizedSourceInput,
  unknownNodeInput,
  unknownSiteInput,
} from './badInputs';
export { createRng, deriveSeed, type Rng } from './rng';
export { type RawSimulatedInput, serializeInputs } from './serializeInputs';
export {
  SIMULATION_SOURCES,
  type SimulatedInput,
  type Simulation,
  type SimulationOptions,
  type SimulationSources,
  simulateDay,
} from './simulateDay';
export type { SimulatedSession } from './simulatedSessions';
export type { EvseKind, SimulatedEvse } from './simulatedTopology';
export { simulationAcl } from './simulationAcl';
