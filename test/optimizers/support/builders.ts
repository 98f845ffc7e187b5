import type { Session } from '../../../models/session';
import type { TopologyNode } from '../../../models/topology';
import type { PlanningInput } from '../../../optimizers/buildPlanningProblem';

export const T0 = Date.UTC(2026, 0, 15, 0, 0, 0);
export const SLOT_MS = 15 * 60_000;
const header = { messageId: 'm', source: 'test', siteId: 'site', tsMs: T0, schemaVersion: 1 as const };

/** site → zone → station → EVSEs e0..e{n-1}. */
export function aSite(
  opts: {
    evses?: number;
    siteKw?: number;
    zoneKw?: number;
    stationKw?: number;
    evseKw?: number;
    v2g?: boolean;
    exportKw?: number;
  } = {},
): TopologyNode[] {
  const n = opts.evses ?? 2;
  const nodes: TopologyNode[] = [
    {
      nodeId: 'site',
      kind: 'site',
      parentId: null,
      importLimitKw: opts.siteKw ?? 1000,
      exportLimitKw: opts.exportKw ?? 1000,
    },
    {
      nodeId: 'zone',
      kind: 'zone',
      parentId: 'site',
      importLimitKw: opts.zoneKw ?? 1000,
      exportLimitKw: 1000,
    },
    {
      nodeId: 'st',
      kind: 'station',
      parentId: 'zone',
      importLimitKw: opts.stationKw ?? 1000,
      exportLimitKw: 1000,
    },
  ];
  for (let i = 0; i < n; i++)
    nodes.push({
      nodeId: `e${i}`,
      kind: 'evse',
      parentId: 'st',
      importLimitKw: opts.evseKw ?? 22,
      exportLimitKw: 22,
      v2gCapable: opts.v2g ?? false,
    });
  return nodes;
}

/** An EV plugged in at T0 for `slots` quarter hours that wants `kwh`. */
export function anEv(
  id: string,
  overrides: Partial<Session> & { slots?: number; fromSlot?: number } = {},
): Session {
  const { slots = 4, fromSlot = 0, ...rest } = overrides;
  return {
    sessionId: id,
    arrivalMs: T0 + fromSlot * SLOT_MS,
    departureMs: T0 + (fromSlot + slots) * SLOT_MS,
    energyTargetKwh: 5,
    energyMinKwh: 0,
    energyMaxKwh: 50,
    socPct: 50,
    batteryCapacityKwh: 100,
    maxChargeKw: 10,
    minChargeKw: 0,
    maxDischargeKw: 0,
    v2gAllowed: false,
    minSocReservePct: 20,
    controlMode: 'scheduled',
    ...rest,
  };
}

export function prices(importPricePerKwh: number[], exportPricePerKwh?: number[]) {
  return {
    ...header,
    kind: 'priceCurve' as const,
    startMs: T0,
    slotMinutes: 15,
    importPricePerKwh,
    exportPricePerKwh: exportPricePerKwh ?? importPricePerKwh.map(() => 0),
    currency: 'EUR',
  };
}

export function anInput(
  nodes: TopologyNode[],
  sessions: { evseId: string; session: Session }[],
  importPrices: number[],
  extra: Partial<PlanningInput> = {},
): PlanningInput {
  return {
    topology: { siteId: 'site', nodes },
    sessions,
    nowMs: T0,
    slotMinutes: 15,
    horizonSlots: importPrices.length,
    prices: prices(importPrices),
    chargeEfficiency: 1,
    dischargeEfficiency: 1,
    wearCostPerKwh: 0,
    ...extra,
  };
}

export { header };
