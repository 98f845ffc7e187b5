export interface FrequencyResponseParams {
  nominalHz: number;
  /** Deadband plus insensitivity: no response required inside it. */
  deadbandHz: number;
  /** Deviation at which the full reserved power is due (FCR: 0.2 Hz). */
  fullActivationHz: number;
  /** Reserved power for under-frequency (less import / more export) and over-frequency. */
  reservedUpKw: number;
  reservedDownKw: number;
  /** A deviation beyond this starts an event (well outside the deadband, so noise is no event). */
  eventThresholdHz: number;
  /** Events closer than this are one event. */
  mergeGapS: number;
  minEventS: number;
  /** Seconds before the event whose mean site power is the baseline. */
  baselineS: number;
  /** Compare delivery at t with the requirement at t − delay (station chain latency allowance). */
  responseDelayS: number;
}

export const DEFAULT_FREQUENCY_RESPONSE_PARAMS: FrequencyResponseParams = {
  nominalHz: 50,
  deadbandHz: 0.01,
  fullActivationHz: 0.2,
  reservedUpKw: 0,
  reservedDownKw: 0,
  eventThresholdHz: 0.05,
  mergeGapS: 5,
  minEventS: 1,
  baselineS: 10,
  responseDelayS: 0,
};

export interface FrequencyEventSecond {
  tMs: number;
  hz: number;
  requiredKw: number;
  deliveredKw: number;
  compliant: boolean;
}

export interface FrequencyEvent {
  siteId: string;
  startMs: number;
  /** Exclusive. */
  endMs: number;
  durationS: number;
  direction: 'under' | 'over';
  minHz: number;
  maxHz: number;
  baselineKw: number;
  /** Integrals over the event at 1 s resolution, in kW·s; positive = less import. */
  requiredKws: number;
  deliveredKws: number;
  /** Delivered in the required direction over required (1 = exactly as required). */
  deliveredRatio: number;
  /** Share of seconds with a requirement that met it (within max(0.1 kW, 5 %)), in %. */
  compliancePct: number;
  seconds: FrequencyEventSecond[];
}

/** Droop requirement for a frequency: positive = reduce import (under-frequency). */
export function requiredResponseKw(hz: number, p: FrequencyResponseParams): number {
  const deviationHz = hz - p.nominalHz;
  const magnitudeHz = Math.abs(deviationHz);
  if (!(magnitudeHz > p.deadbandHz)) return 0;
  const share = Math.min(1, (magnitudeHz - p.deadbandHz) / (p.fullActivationHz - p.deadbandHz));
  return deviationHz < 0 ? share * p.reservedUpKw : -share * p.reservedDownKw;
}

/**
 * Index ranges [start, end) of per-second `hz` where the deviation exceeds the event
 * threshold, merged across short gaps, at least `minEventS` long.
 */
export function detectFrequencyEventRuns(
  hz: Float64Array,
  params: FrequencyResponseParams,
): Array<[number, number]> {
  const runs: Array<[number, number]> = [];
  for (let k = 0; k < hz.length; k++) {
    if (!(Math.abs(hz[k] - params.nominalHz) > params.eventThresholdHz)) continue;
    const lastRun = runs[runs.length - 1];
    if (lastRun && k - lastRun[1] <= params.mergeGapS) lastRun[1] = k + 1;
    else runs.push([k, k + 1]);
  }
  return runs.filter(([start, end]) => end - start >= params.minEventS);
}

/**
 * Finds frequency events in a per-second series and scores the site's response: required
 * (droop on the measured frequency) against delivered (baseline minus measured site power).
 * `hz[k]` and `sitePowerKw[k]` are the means over the second starting at seriesFromMs + k·1000.
 */
export function evaluateFrequencyResponse(
  siteId: string,
  hz: Float64Array,
  sitePowerKw: Float64Array,
  seriesFromMs: number,
  params: FrequencyResponseParams,
): FrequencyEvent[] {
  const runs = detectFrequencyEventRuns(hz.subarray(0, Math.min(hz.length, sitePowerKw.length)), params);
  const events: FrequencyEvent[] = [];
  for (const [start, end] of runs) {
    let baselineSum = 0;
    let baselineN = 0;
    for (let k = Math.max(0, start - params.baselineS); k < start; k++) {
      if (Number.isFinite(sitePowerKw[k])) {
        baselineSum += sitePowerKw[k];
        baselineN++;
      }
    }
    const baselineKw = baselineN > 0 ? baselineSum / baselineN : Number.NaN;
    const seconds: FrequencyEventSecond[] = [];
    let requiredKws = 0;
    let deliveredKws = 0;
    let withRequirement = 0;
    let compliantN = 0;
    let minHz = Number.POSITIVE_INFINITY;
    let maxHz = Number.NEGATIVE_INFINITY;
    let deviationSum = 0;
    for (let k = start; k < end; k++) {
      if (Number.isFinite(hz[k])) {
        minHz = Math.min(minHz, hz[k]);
        maxHz = Math.max(maxHz, hz[k]);
        deviationSum += hz[k] - params.nominalHz;
      }
      const reqK = k - params.responseDelayS;
      const requiredKw = reqK >= 0 && Number.isFinite(hz[reqK]) ? requiredResponseKw(hz[reqK], params) : 0;
      const deliveredKw = baselineKw - sitePowerKw[k];
      const toleranceKw = Math.max(0.1, Math.abs(requiredKw) * 0.05);
      let compliant = true;
      if (requiredKw !== 0) {
        withRequirement++;
        compliant = Number.isFinite(deliveredKw)
          ? requiredKw > 0
            ? deliveredKw >= requiredKw - toleranceKw
            : deliveredKw <= requiredKw + toleranceKw
          : false;
        if (compliant) compliantN++;
        requiredKws += Math.abs(requiredKw);
        if (Number.isFinite(deliveredKw)) deliveredKws += deliveredKw * Math.sign(requiredKw);
      }
      seconds.push({ tMs: seriesFromMs + k * 1000, hz: hz[k], requiredKw, deliveredKw, compliant });
    }
    events.push({
      siteId,
      startMs: seriesFromMs + start * 1000,
      endMs: seriesFromMs + end * 1000,
      durationS: end - start,
      direction: deviationSum < 0 ? 'under' : 'over',
      minHz,
      maxHz,
      baselineKw,
      requiredKws,
      deliveredKws,
      deliveredRatio: requiredKws > 0 ? deliveredKws / requiredKws : Number.NaN,
      compliancePct: withRequirement > 0 ? (100 * compliantN) / withRequirement : Number.NaN,
      seconds,
    });
  }
  return events;
}
