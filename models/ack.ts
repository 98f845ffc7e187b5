import { z } from 'zod';
import { messageHeaderShape } from './messageHeader';

/** Acknowledgement of a DSO or RM request (IEC 63110-1 8.2.6, 8.2.7). */
export const ackMessageSchema = z.object({
  ...messageHeaderShape,
  kind: z.literal('ack'),
  requestId: z.string().min(1),
  requestMessageId: z.string().min(1),
  requestTopic: z.string().min(1),
  status: z.enum(['accepted', 'partial', 'rejected']),
  requestedKw: z.number().optional(),
  achievedKw: z.number().optional(),
  reason: z.string().optional(),
});
export type AckMessage = z.infer<typeof ackMessageSchema>;
