import { z } from 'zod';
import { messageHeaderShape } from './messageHeader';

/**
 * IEC 63110-1 8.2.7: a DSO changes the import/export limit of a node for a window.
 * `absolute` replaces the node's limit; `delta` adds to its static limit (negative lowers).
 * DSO limits outrank market commitments.
 */
export const powerVariationMessageSchema = z
  .object({
    ...messageHeaderShape,
    kind: z.literal('powerVariation'),
    variationId: z.string().min(1),
    nodeId: z.string().min(1),
    mode: z.enum(['absolute', 'delta']).default('absolute'),
    importLimitKw: z.number().optional(),
    exportLimitKw: z.number().optional(),
    startMs: z.number().int().nonnegative(),
    endMs: z.number().int().nonnegative(),
    priority: z.number().int().min(0).max(9).default(0),
    mandatory: z.boolean().default(true),
    /** Power every controllable device keeps regardless (German EnWG §14a: 4.2 kW). */
    guaranteedMinKwPerDevice: z.number().nonnegative().default(0),
  })
  .refine((v) => v.endMs > v.startMs, { message: 'endMs must be after startMs', path: ['endMs'] })
  .refine((v) => v.importLimitKw !== undefined || v.exportLimitKw !== undefined, {
    message: 'importLimitKw or exportLimitKw is required',
  });
export type PowerVariationMessage = z.infer<typeof powerVariationMessageSchema>;

/**
 * The limit a variation sets on one side of a node, or undefined when it leaves that side
 * alone. A variation never raises a node above its static (physical) limit; on the import
 * side it never cuts below the guaranteed minimum of the devices under the node (§14a).
 * The one rule the planner and the engine's safety clamp both apply.
 */
export function variedLimitKw(
  v: Pick<PowerVariationMessage, 'mode' | 'importLimitKw' | 'exportLimitKw' | 'guaranteedMinKwPerDevice'>,
  side: 'import' | 'export',
  staticKw: number,
  devicesBelow: number,
): number | undefined {
  const value = side === 'import' ? v.importLimitKw : v.exportLimitKw;
  if (value === undefined) return undefined;
  const requestedKw = v.mode === 'delta' ? staticKw + value : value;
  const floorKw = side === 'import' ? v.guaranteedMinKwPerDevice * devicesBelow : 0;
  return Math.min(staticKw, Math.max(requestedKw, floorKw, 0));
}
