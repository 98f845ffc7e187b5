import { z } from 'zod';

/**
 * A charging session as the CSMS reports it. Energy requests follow ISO 15118-20:
 * target/min/max energy still to be delivered from now until departure (kWh).
 */
export const controlModeSchema = z.enum(['scheduled', 'dynamic']);
export type ControlMode = z.infer<typeof controlModeSchema>;

export const sessionSchema = z.object({
  sessionId: z.string().min(1),
  arrivalMs: z.number().int().nonnegative(),
  departureMs: z.number().int().nonnegative(),
  energyTargetKwh: z.number().nonnegative(),
  energyMinKwh: z.number().nonnegative(),
  energyMaxKwh: z.number().nonnegative(),
  socPct: z.number().min(0).max(100),
  batteryCapacityKwh: z.number().positive(),
  maxChargeKw: z.number().nonnegative(),
  /** Minimum power when charging at all (AC 6 A floor); 0 = no floor. */
  minChargeKw: z.number().nonnegative().default(0),
  maxDischargeKw: z.number().nonnegative().default(0),
  v2gAllowed: z.boolean().default(false),
  minSocReservePct: z.number().min(0).max(100).default(20),
  controlMode: controlModeSchema.default('scheduled'),
});
export type Session = z.infer<typeof sessionSchema>;
