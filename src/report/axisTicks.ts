/** Tick positions and labels for chart axes. */
export interface AxisTicks {
  /** The axis range, widened to whole ticks for value axes. */
  min: number;
  max: number;
  values: number[];
  labels: string[];
}

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;
const TIME_STEPS_MS = [
  1_000,
  5_000,
  15_000,
  30_000,
  MINUTE_MS,
  5 * MINUTE_MS,
  15 * MINUTE_MS,
  30 * MINUTE_MS,
  HOUR_MS,
  2 * HOUR_MS,
  3 * HOUR_MS,
  6 * HOUR_MS,
  12 * HOUR_MS,
  DAY_MS,
  7 * DAY_MS,
];

/** "Nice" (1-2-5) ticks covering [min, max]; the range is widened to the outer ticks. */
export function niceTicks(min: number, max: number, targetCount = 6): AxisTicks {
  if (!Number.isFinite(min) || !Number.isFinite(max))
    return { min: 0, max: 1, values: [0, 1], labels: ['0', '1'] };
  if (min === max) {
    // A flat series still deserves a visible band around it.
    const pad = min === 0 ? 1 : Math.abs(min) * 0.1;
    min -= pad;
    max += pad;
  }
  const rawStep = (max - min) / Math.max(1, targetCount);
  const magnitude = 10 ** Math.floor(Math.log10(rawStep));
  const residual = rawStep / magnitude;
  const step = (residual > 5 ? 10 : residual > 2 ? 5 : residual > 1 ? 2 : 1) * magnitude;
  const first = Math.floor(min / step + 1e-9) * step;
  const last = Math.ceil(max / step - 1e-9) * step;
  const decimals = Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
  const values: number[] = [];
  const labels: string[] = [];
  for (let i = 0, v = first; v <= last + step * 1e-6; i++, v = first + i * step) {
    const rounded = Number(v.toFixed(decimals));
    values.push(rounded);
    labels.push(formatNumber(rounded, decimals));
  }
  return { min: first, max: last, values, labels };
}

/** Ticks at round UTC times inside [minMs, maxMs]; labels HH:MM UTC (or MM-DD for multi-day steps). */
export function timeTicks(minMs: number, maxMs: number, targetCount = 8): AxisTicks {
  if (!Number.isFinite(minMs) || !Number.isFinite(maxMs) || maxMs <= minMs) {
    const at = Number.isFinite(minMs) ? minMs : 0;
    return { min: at - HOUR_MS, max: at + HOUR_MS, values: [at], labels: [formatUtc(at, MINUTE_MS)] };
  }
  const span = maxMs - minMs;
  const step = TIME_STEPS_MS.find((s) => span / s <= targetCount) ?? TIME_STEPS_MS[TIME_STEPS_MS.length - 1];
  const values: number[] = [];
  const labels: string[] = [];
  for (let t = Math.ceil(minMs / step) * step; t <= maxMs; t += step) {
    values.push(t);
    labels.push(formatUtc(t, step));
  }
  return { min: minMs, max: maxMs, values, labels };
}

function formatUtc(tsMs: number, stepMs: number): string {
  const iso = new Date(tsMs).toISOString();
  if (stepMs >= DAY_MS) return iso.slice(5, 10);
  if (stepMs < MINUTE_MS) return iso.slice(11, 19);
  return iso.slice(11, 16);
}

function formatNumber(value: number, decimals: number): string {
  const abs = Math.abs(value);
  if (abs >= 1e6 || (abs > 0 && abs < 1e-4)) return value.toExponential(1);
  return value.toFixed(Math.min(decimals, 6));
}
