export interface DsoRequestRecord {
  siteId: string;
  requestId: string;
  nodeId: string;
  /** Import limit in force for the window (absolute, or the engine's effective limit for deltas). */
  limitKw: number;
  startMs: number;
  endMs: number;
  /** When the engine received the request. */
  receivedMs: number;
  ackStatus: string;
  ackAchievedKw: number;
  ackMs: number;
}

export interface DsoCompliance extends DsoRequestRecord {
  /** The clock starts at the window start, or at receipt when the request came late. */
  effectiveStartMs: number;
  /** Seconds until measured site power was first at or below the limit; null if never. */
  timeToComplyS: number | null;
  /** Share of known seconds in the window (after the time to comply) at or below the limit. */
  compliantShare: number;
  maxPowerKw: number;
  meanPowerKw: number;
  /** Worst excess over the limit once compliant (0 if it stayed below). */
  maxExceedanceAfterComplyKw: number;
  measuredSeconds: number;
}

/**
 * Limit vs measured site power for one DSO request. `sitePowerKw[k]` is the site's power in
 * the second starting at `seriesFromMs + k·1000` (NaN unknown). A small tolerance absorbs
 * meter noise: max(0.1 kW, 1 % of the limit).
 */
export function evaluateDsoCompliance(
  request: DsoRequestRecord,
  sitePowerKw: Float64Array,
  seriesFromMs: number,
  stepMs = 1000,
): DsoCompliance {
  const toleranceKw = Math.max(0.1, Math.abs(request.limitKw) * 0.01);
  const effectiveStartMs = Math.max(request.startMs, request.receivedMs);
  const first = Math.max(0, Math.floor((effectiveStartMs - seriesFromMs) / stepMs));
  const last = Math.min(sitePowerKw.length, Math.ceil((request.endMs - seriesFromMs) / stepMs));
  let complyAt = -1;
  let maxPowerKw = Number.NEGATIVE_INFINITY;
  let sumKw = 0;
  let measured = 0;
  let afterKnown = 0;
  let afterOk = 0;
  let maxExceedanceKw = 0;
  for (let k = first; k < last; k++) {
    const kw = sitePowerKw[k];
    if (Number.isNaN(kw)) continue;
    measured++;
    sumKw += kw;
    maxPowerKw = Math.max(maxPowerKw, kw);
    const ok = kw <= request.limitKw + toleranceKw;
    if (complyAt < 0 && ok) complyAt = k;
    if (complyAt >= 0) {
      afterKnown++;
      if (ok) afterOk++;
      else maxExceedanceKw = Math.max(maxExceedanceKw, kw - request.limitKw);
    }
  }
  return {
    ...request,
    effectiveStartMs,
    timeToComplyS:
      complyAt < 0 ? null : Math.max(0, (seriesFromMs + complyAt * stepMs - effectiveStartMs) / 1000),
    compliantShare: afterKnown > 0 ? afterOk / afterKnown : 0,
    maxPowerKw: measured > 0 ? maxPowerKw : Number.NaN,
    meanPowerKw: measured > 0 ? sumKw / measured : Number.NaN,
    maxExceedanceAfterComplyKw: maxExceedanceKw,
    measuredSeconds: measured,
  };
}
