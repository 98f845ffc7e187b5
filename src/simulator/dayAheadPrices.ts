import type { Rng } from './rng';

const HOUR_MS = 3_600_000;

export interface SimulatedPrices {
  startMs: number;
  slotMinutes: number;
  importPricePerKwh: number[];
  exportPricePerKwh: number[];
}

/** Grid fees and taxes on top of the wholesale price for energy taken from the grid (EUR/kWh). */
const IMPORT_ADDER_PER_KWH = 0.11;
/** Feed-in is paid below wholesale (aggregator margin), so export never beats import. */
const EXPORT_DISCOUNT_PER_KWH = 0.01;

/**
 * A day-ahead-like quarter-hour curve in EUR/kWh, by UTC hour of day: cheap at night,
 * a morning shoulder, a midday solar dip (wholesale near zero), and the evening peak.
 */
export function dayAheadPrices(
  rng: Rng,
  opts: { startMs: number; endMs: number; slotMinutes?: number },
): SimulatedPrices {
  const slotMinutes = opts.slotMinutes ?? 15;
  const slotMs = slotMinutes * 60_000;
  const slots = Math.max(1, Math.ceil((opts.endMs - opts.startMs) / slotMs));
  const importPricePerKwh: number[] = [];
  const exportPricePerKwh: number[] = [];
  for (let i = 0; i < slots; i++) {
    const midMs = opts.startMs + (i + 0.5) * slotMs;
    const hour = (((midMs % (24 * HOUR_MS)) + 24 * HOUR_MS) % (24 * HOUR_MS)) / HOUR_MS;
    const wholesale = wholesalePerKwh(hour) + rng.normal(0, 0.004);
    importPricePerKwh.push(round4(wholesale + IMPORT_ADDER_PER_KWH));
    exportPricePerKwh.push(round4(wholesale - EXPORT_DISCOUNT_PER_KWH));
  }
  return { startMs: opts.startMs, slotMinutes, importPricePerKwh, exportPricePerKwh };
}

function wholesalePerKwh(hour: number): number {
  const bump = (center: number, width: number) => {
    // Wrap around midnight so the curve is continuous from 23:45 to 00:00.
    const d = Math.min(Math.abs(hour - center), 24 - Math.abs(hour - center));
    return Math.exp(-((d / width) ** 2));
  };
  return 0.09 - 0.02 * bump(3, 2.5) + 0.07 * bump(8, 1.5) - 0.085 * bump(13, 2.2) + 0.17 * bump(18.75, 1.6);
}

function round4(value: number): number {
  return Math.round(value * 10_000) / 10_000;
}
