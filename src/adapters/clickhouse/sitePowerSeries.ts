import { holdSeries, type TimedValue } from './holdSeries';

/** Meter rows with this evseId carry the site's own meter (the engine records `sitePowerKw` so). */
export const SITE_METER_EVSE_ID = '';

/**
 * A site's measured power on a regular grid: the site meter when the site has one, otherwise
 * the sum of its EVSE meters (each held as in `holdSeries`). NaN where nothing is known.
 */
export function sitePowerSeries(
  byEvse: ReadonlyMap<string, readonly TimedValue[]>,
  fromMs: number,
  toMs: number,
  stepMs: number,
  maxHoldMs: number,
): Float64Array {
  const siteMeter = byEvse.get(SITE_METER_EVSE_ID);
  if (siteMeter && siteMeter.length > 0) return holdSeries(siteMeter, fromMs, toMs, stepMs, maxHoldMs);
  const n = Math.max(0, Math.ceil((toMs - fromMs) / stepMs));
  const sum = new Float64Array(n).fill(Number.NaN);
  for (const [evseId, samples] of byEvse) {
    if (evseId === SITE_METER_EVSE_ID) continue;
    const evse = holdSeries(samples, fromMs, toMs, stepMs, maxHoldMs);
    for (let k = 0; k < n; k++) {
      if (Number.isNaN(evse[k])) continue;
      sum[k] = Number.isNaN(sum[k]) ? evse[k] : sum[k] + evse[k];
    }
  }
  return sum;
}
