import type { Rng } from './rng';

export interface FrequencyEvent {
  /** When the frequency is at its lowest (UTC ms). */
  nadirMs: number;
  nadirHz: number;
}

export interface FrequencyTraceOptions {
  startMs: number;
  endMs: number;
  sampleMs: number;
  nominalHz?: number;
  events?: FrequencyEvent[];
}

/** Typical Continental Europe spread: most of the time within ±20 mHz. */
const NOISE_SD_HZ = 0.012;
const NOISE_LIMIT_HZ = 0.045;
/** Mean reversion of the random walk (primary control pulls frequency back within about a minute). */
const REVERSION_S = 60;
const FALL_S = 6;
const PLATEAU_S = 30;
const RECOVERY_TAU_S = 120;

/**
 * Frequency samples: an Ornstein–Uhlenbeck walk around nominal (exact discretisation, so
 * the statistics hold for any sample interval), plus loss-of-generation events that fall to
 * their nadir in seconds, sit near it while reserves deploy, and recover over minutes.
 */
export function frequencyTrace(rng: Rng, opts: FrequencyTraceOptions): { tsMs: number[]; hz: number[] } {
  const nominalHz = opts.nominalHz ?? 50;
  const dtS = opts.sampleMs / 1000;
  const keep = Math.exp(-dtS / REVERSION_S);
  const innovationSd = NOISE_SD_HZ * Math.sqrt(1 - keep * keep);
  const tsMs: number[] = [];
  const hz: number[] = [];
  let deviationHz = rng.normal(0, NOISE_SD_HZ / 2);
  for (let t = opts.startMs; t < opts.endMs; t += opts.sampleMs) {
    deviationHz = clamp(deviationHz * keep + rng.normal(0, innovationSd), -NOISE_LIMIT_HZ, NOISE_LIMIT_HZ);
    let eventHz = 0;
    for (const event of opts.events ?? []) eventHz = Math.min(eventHz, eventDeviationHz(event, nominalHz, t));
    // During an event the noise is damped so the nadir is what the event says it is.
    const sampleHz =
      eventHz < -0.05 ? nominalHz + eventHz + deviationHz * 0.1 : nominalHz + eventHz + deviationHz;
    tsMs.push(t);
    hz.push(Math.round(sampleHz * 10_000) / 10_000);
  }
  return { tsMs, hz };
}

function eventDeviationHz(event: FrequencyEvent, nominalHz: number, tsMs: number): number {
  const depthHz = event.nadirHz - nominalHz;
  const s = (tsMs - event.nadirMs) / 1000;
  if (s < -FALL_S) return 0;
  if (s <= 0) return depthHz * (1 + s / FALL_S);
  if (s <= PLATEAU_S) return depthHz * (1 - 0.4 * (s / PLATEAU_S));
  return 0.6 * depthHz * Math.exp(-(s - PLATEAU_S) / RECOVERY_TAU_S);
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}
