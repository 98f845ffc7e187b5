import { z } from 'zod';
import { messageHeaderShape } from './messageHeader';

/** Signals from the resource manager / flexibility operator (IEC 63110-1 8.2.4, 8.2.6). */
export const demandResponseSchema = z.object({
  ...messageHeaderShape,
  kind: z.literal('demandResponse'),
  eventId: z.string().min(1),
  nodeId: z.string().min(1),
  capKw: z.number().nonnegative(),
  startMs: z.number().int().nonnegative(),
  endMs: z.number().int().nonnegative(),
});

export const priceCurveSchema = z.object({
  ...messageHeaderShape,
  kind: z.literal('priceCurve'),
  startMs: z.number().int().nonnegative(),
  slotMinutes: z.number().int().min(1).max(60),
  importPricePerKwh: z.array(z.number()).min(1),
  exportPricePerKwh: z.array(z.number()).min(1),
  currency: z.string().length(3).default('EUR'),
});

export const activationSchema = z.object({
  ...messageHeaderShape,
  kind: z.literal('activation'),
  activationId: z.string().min(1),
  /** Change of site power against the baseline: negative = consume less / inject. */
  deltaKw: z.number(),
  startMs: z.number().int().nonnegative(),
  endMs: z.number().int().nonnegative(),
});

export const baselineSchema = z.object({
  ...messageHeaderShape,
  kind: z.literal('baseline'),
  startMs: z.number().int().nonnegative(),
  slotMinutes: z.number().int().min(1).max(60),
  baselineKw: z.array(z.number()).min(1),
});

export const forecastRequestSchema = z.object({
  ...messageHeaderShape,
  kind: z.literal('forecastRequest'),
  requestId: z.string().min(1),
  horizonMs: z.number().int().positive(),
});

export const rmSignalMessageSchema = z.discriminatedUnion('kind', [
  demandResponseSchema,
  priceCurveSchema,
  activationSchema,
  baselineSchema,
  forecastRequestSchema,
]);
export type RmSignalMessage = z.infer<typeof rmSignalMessageSchema>;
export type DemandResponse = z.infer<typeof demandResponseSchema>;
export type PriceCurve = z.infer<typeof priceCurveSchema>;
export type Activation = z.infer<typeof activationSchema>;
export type Baseline = z.infer<typeof baselineSchema>;
export type ForecastRequest = z.infer<typeof forecastRequestSchema>;
