import { unit } from 'mathjs';
import { z } from 'zod';

/**
 * A config number that may be written with its unit, e.g. "11 kW", "1.5 MW", "90 s",
 * "15 min". Parsed once, at config load, into a plain number in `targetUnit`.
 */
export function quantity(targetUnit: 'kW' | 's' | 'ms' | 'min' | 'h' | 'kWh' | 'Hz') {
  return z.union([z.number(), z.string()]).transform((value, ctx) => {
    if (typeof value === 'number') return value;
    const trimmed = value.trim();
    if (/^-?\d+(\.\d+)?$/.test(trimmed)) return Number(trimmed);
    try {
      return unit(trimmed).toNumber(targetUnit);
    } catch (error) {
      ctx.addIssue({
        code: 'custom',
        message: `"${value}" is not a quantity in ${targetUnit}: ${String(error)}`,
      });
      return z.NEVER;
    }
  });
}
