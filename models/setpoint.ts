import { z } from 'zod';
import { messageHeaderShape } from './messageHeader';

/** OCPP 2.1 OperationModeEnumType values the engine emits. */
export const operationModeSchema = z.enum([
  'Idle',
  'ChargingOnly',
  'CentralSetpoint',
  'CentralFrequency',
  'LocalFrequency',
]);
export type OperationMode = z.infer<typeof operationModeSchema>;

/**
 * Per-EVSE instruction. Maps onto an OCPP 2.0.1 ChargingProfile (TxProfile,
 * chargingRateUnit W, one period with `limit` = limitKw) and on OCPP 2.1 onto
 * `setpoint` (setpointKw, negative = discharge), `dischargeLimit` and `operationMode`.
 * Outside [validFromMs, validToMs) the station falls back to `fallbackLimitKw`.
 */
export const evseSetpointSchema = z.object({
  evseId: z.string().min(1),
  sessionId: z.string().nullable(),
  version: z.number().int().nonnegative(),
  operationMode: operationModeSchema,
  limitKw: z.number().nonnegative(),
  dischargeLimitKw: z.number().nonnegative(),
  setpointKw: z.number(),
  fallbackLimitKw: z.number().nonnegative(),
  validFromMs: z.number().int().nonnegative(),
  validToMs: z.number().int().nonnegative(),
});
export type EvseSetpoint = z.infer<typeof evseSetpointSchema>;

/** One message per station; `setId`/`setSize` let a CSMS know when a site's set is complete. */
export const setpointMessageSchema = z.object({
  ...messageHeaderShape,
  kind: z.literal('setpoints'),
  stationId: z.string().min(1),
  setId: z.string().min(1),
  setSize: z.number().int().positive(),
  trigger: z.string(),
  evses: z.array(evseSetpointSchema),
});
export type SetpointMessage = z.infer<typeof setpointMessageSchema>;
