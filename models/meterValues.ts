import { z } from 'zod';
import { messageHeaderShape } from './messageHeader';

/** Measured power, positive = import from the grid. */
export const meterValuesMessageSchema = z.object({
  ...messageHeaderShape,
  kind: z.literal('meterValues'),
  sitePowerKw: z.number().optional(),
  evses: z
    .array(z.object({ evseId: z.string().min(1), powerKw: z.number(), energyKwh: z.number().optional() }))
    .default([]),
});
export type MeterValuesMessage = z.infer<typeof meterValuesMessageSchema>;
