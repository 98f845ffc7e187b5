import { z } from 'zod';
import { messageHeaderShape } from './messageHeader';

/** One grid frequency sample; meters publish up to 20 Hz (GB DC performance data rate). */
export const frequencyMessageSchema = z.object({
  ...messageHeaderShape,
  kind: z.literal('frequency'),
  meterId: z.string().min(1),
  hz: z.number().min(45).max(65),
  /** FCR requires ≤ 10 mHz measurement accuracy. */
  accuracyMilliHz: z.number().nonnegative(),
});
export type FrequencyMessage = z.infer<typeof frequencyMessageSchema>;
