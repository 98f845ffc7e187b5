import { z } from 'zod';
import { errorCodeList } from './errorCode';

/** What could not be processed, with where it came from and why. Keyed like the original. */
export const deadLetterMessageSchema = z.object({
  kind: z.literal('deadLetter'),
  messageId: z.string().min(1),
  source: z.literal('evflex'),
  tsMs: z.number().int().nonnegative(),
  schemaVersion: z.literal(1),
  errorCode: z.enum(errorCodeList),
  reason: z.string(),
  originalTopic: z.string(),
  originalKey: z.string().nullable(),
  originalPartition: z.number().int().nullable(),
  originalOffset: z.string().nullable(),
  originalMessageId: z.string().nullable(),
  siteId: z.string().nullable(),
  raw: z.string(),
});
export type DeadLetterMessage = z.infer<typeof deadLetterMessageSchema>;
