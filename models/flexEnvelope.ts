import { z } from 'zod';
import { messageHeaderShape } from './messageHeader';

/** Per-slot flexibility of a node or portfolio around its plan (IEC 63110-1 8.2.5). */
export const flexEnvelopeMessageSchema = z.object({
  ...messageHeaderShape,
  kind: z.literal('flexEnvelope'),
  nodeId: z.string().min(1),
  startMs: z.number().int().nonnegative(),
  slotMinutes: z.number().int().min(1).max(60),
  baselineKw: z.array(z.number()),
  minKw: z.array(z.number()),
  maxKw: z.array(z.number()),
  energyMinKwh: z.array(z.number()),
  energyMaxKwh: z.array(z.number()),
  reservedUpKw: z.array(z.number()),
  reservedDownKw: z.array(z.number()),
  /**
   * Of the reserve, what the plan's EVs can hold for `reserveEnduranceMin` (their energy and
   * power, not only the connection's headroom); less than reserved = reserve the fleet cannot back.
   */
  reserveBackedUpKw: z.array(z.number()).optional(),
  reserveBackedDownKw: z.array(z.number()).optional(),
  reserveEnduranceMin: z.number().nonnegative().optional(),
  requestId: z.string().optional(),
});
export type FlexEnvelopeMessage = z.infer<typeof flexEnvelopeMessageSchema>;
