import { z } from 'zod';
import { messageHeaderShape } from './messageHeader';
import { sessionSchema } from './session';
import { siteTopologySchema } from './topology';

/** OCPP 2.0.1 ConnectorStatus, reduced to what the planner needs. */
export const evseStatusSchema = z.enum(['available', 'occupied', 'faulted', 'unavailable']);
export type EvseStatus = z.infer<typeof evseStatusSchema>;

export const evseStateMessageSchema = z.object({
  ...messageHeaderShape,
  kind: z.literal('evseState'),
  stationId: z.string().min(1),
  evseId: z.string().min(1),
  status: evseStatusSchema,
  /** Present while an EV is connected; absent or null means no session. */
  session: sessionSchema.nullable().optional(),
});
export type EvseStateMessage = z.infer<typeof evseStateMessageSchema>;

/** The CSMS announces (or replaces) a site's topology on the same topic. */
export const topologyMessageSchema = z.object({
  ...messageHeaderShape,
  kind: z.literal('topology'),
  topology: siteTopologySchema,
});
export type TopologyMessage = z.infer<typeof topologyMessageSchema>;

export const fleetStateMessageSchema = z.discriminatedUnion('kind', [
  evseStateMessageSchema,
  topologyMessageSchema,
]);
export type FleetStateMessage = z.infer<typeof fleetStateMessageSchema>;
