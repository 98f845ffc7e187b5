import { z } from 'zod';

/** Every wire message starts with these fields (DESIGN §4). `tsMs` is UTC epoch milliseconds. */
export const SCHEMA_VERSION = 1 as const;

export const messageHeaderShape = {
  messageId: z.string().min(1).max(200),
  source: z.string().min(1).max(200),
  siteId: z.string().min(1).max(200),
  tsMs: z.number().int().nonnegative(),
  schemaVersion: z.literal(SCHEMA_VERSION),
};

export const messageHeaderSchema = z.object(messageHeaderShape);
export type MessageHeader = z.infer<typeof messageHeaderSchema>;
