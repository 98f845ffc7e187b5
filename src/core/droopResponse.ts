/** Droop settings, from config.frequency. */
export interface DroopSettings {
  nominalHz: number;
  /** Deadband plus insensitivity; FCR allows at most 10 mHz. */
  deadbandHz: number;
  /** Deviation at which the full reserve is delivered (FCR: 200 mHz). */
  fullActivationHz: number;
  reservedUpKw: number;
  reservedDownKw: number;
}

/**
 * IEC 63110-1 8.2.10, computed centrally: the change of site power (kW) the measured frequency
 * asks for. Under-frequency → consume less (negative), over-frequency → consume more,
 * linear from the deadband edge to full activation, saturated beyond it.
 */
export function droopResponse(hz: number, s: DroopSettings): number {
  const deviationHz = hz - s.nominalHz;
  const magnitudeHz = Math.abs(deviationHz);
  if (magnitudeHz <= s.deadbandHz) return 0;
  const share = Math.min(1, (magnitudeHz - s.deadbandHz) / Math.max(1e-9, s.fullActivationHz - s.deadbandHz));
  return deviationHz < 0 ? -share * s.reservedUpKw : share * s.reservedDownKw;
}
