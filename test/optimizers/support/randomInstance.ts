import type { Session } from '../../../models/session';
import type { TopologyNode } from '../../../models/topology';
import type { PlanningInput } from '../../../optimizers/buildPlanningProblem';
import { mulberry32 } from '../../../optimizers/syntheticSite';
import { header, SLOT_MS, T0 } from './builders';

export interface RandomInstanceOptions {
  maxSessions?: number;
  maxSlots?: number;
  v2g?: boolean;
  floors?: boolean;
  siteLoad?: boolean;
  /** 'tight' (default) draws limits down to 5 kW per node — V2V transfers and unreachable minima are common;
   *  'realistic' keeps every node at ≥ 11 kW. */
  limits?: 'tight' | 'realistic';
}

/** A small random site (1–2 zones, 1–3 stations, up to maxSessions EVSEs) for property tests. */
export function randomInstance(seed: number, opts: RandomInstanceOptions = {}): PlanningInput {
  const r = mulberry32(seed);
  const pick = (lo: number, hi: number) => lo + r() * (hi - lo);
  const int = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
  const T = int(4, opts.maxSlots ?? 12);
  const S = int(1, opts.maxSessions ?? 6);
  const lo = opts.limits === 'realistic' ? 11 : 5;
  const nodes: TopologyNode[] = [
    {
      nodeId: 'site',
      kind: 'site',
      parentId: null,
      importLimitKw: Math.round(pick(lo, 60)),
      exportLimitKw: Math.round(pick(0, 30)),
    },
  ];
  const zones = int(1, 2);
  for (let z = 0; z < zones; z++)
    nodes.push({
      nodeId: `z${z}`,
      kind: 'zone',
      parentId: 'site',
      importLimitKw: Math.round(pick(lo, 50)),
      exportLimitKw: Math.round(pick(0, 20)),
    });
  const stations = int(1, 3);
  for (let k = 0; k < stations; k++)
    nodes.push({
      nodeId: `st${k}`,
      kind: 'station',
      parentId: `z${k % zones}`,
      importLimitKw: Math.round(pick(lo, 40)),
      exportLimitKw: Math.round(pick(0, 20)),
    });
  const sessions: { evseId: string; session: Session }[] = [];
  for (let s = 0; s < S; s++) {
    const v2g = opts.v2g !== false && r() < 0.4;
    nodes.push({
      nodeId: `e${s}`,
      kind: 'evse',
      parentId: `st${s % stations}`,
      importLimitKw: 22,
      exportLimitKw: 22,
      v2gCapable: v2g,
    });
    const from = int(0, T - 2);
    const slots = int(1, T - from);
    const capacity = Math.round(pick(20, 80));
    const socPct = pick(5, 90);
    const target = Math.round(pick(0, 20) * 10) / 10;
    sessions.push({
      evseId: `e${s}`,
      session: {
        sessionId: `s${s}`,
        arrivalMs: T0 + from * SLOT_MS,
        departureMs: T0 + (from + slots) * SLOT_MS,
        energyTargetKwh: target,
        energyMinKwh: Math.round(target * pick(0, 0.6) * 10) / 10,
        energyMaxKwh: Math.round((target + pick(0, 10)) * 10) / 10,
        socPct,
        batteryCapacityKwh: capacity,
        maxChargeKw: [3.7, 7.4, 11, 22][int(0, 3)],
        minChargeKw: opts.floors && r() < 0.5 ? 1.4 : 0,
        maxDischargeKw: v2g ? [7.4, 11][int(0, 1)] : 0,
        v2gAllowed: v2g,
        minSocReservePct: Math.round(pick(10, 50)),
        controlMode: 'scheduled',
      },
    });
  }
  const importPricePerKwh = Array.from({ length: T }, () => Math.round(pick(0.05, 0.5) * 1000) / 1000);
  const exportPricePerKwh = importPricePerKwh.map((p) => Math.round(p * pick(0.3, 1) * 1000) / 1000);
  return {
    topology: { siteId: 'site', nodes },
    sessions,
    nowMs: T0,
    slotMinutes: 15,
    horizonSlots: T,
    prices: {
      ...header,
      kind: 'priceCurve',
      startMs: T0,
      slotMinutes: 15,
      importPricePerKwh,
      exportPricePerKwh,
      currency: 'EUR',
    },
    chargeEfficiency: Math.round(pick(0.88, 1) * 100) / 100,
    dischargeEfficiency: Math.round(pick(0.88, 1) * 100) / 100,
    wearCostPerKwh: Math.round(pick(0, 0.1) * 100) / 100,
    siteLoadKw: opts.siteLoad ? Array.from({ length: T }, () => Math.round(pick(-10, 15))) : undefined,
  };
}
