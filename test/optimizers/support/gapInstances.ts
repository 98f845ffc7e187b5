import type { PlanningInput } from '../../../optimizers/buildPlanningProblem';
import { mulberry32, syntheticSite } from '../../../optimizers/syntheticSite';
import { randomInstance } from './randomInstance';

/** Random site with a frequency reserve (up and down, 0–15 kW per slot) and an endurance of 15 or 30 min. */
export function reserveInstance(
  seed: number,
  v2g: boolean,
  size: { maxSessions?: number; maxSlots?: number } = {},
): PlanningInput {
  const base = randomInstance(seed, { v2g, limits: 'realistic', siteLoad: seed % 2 === 0, ...size });
  const r = mulberry32(seed ^ 0x2545f491);
  const T = base.horizonSlots ?? 4;
  return {
    ...base,
    reserveUpKw: Array.from({ length: T }, () => Math.round(r() * 15)),
    reserveDownKw: Array.from({ length: T }, () => Math.round(r() * 15)),
    reserveEnduranceHours: r() < 0.5 ? 0.25 : 0.5,
  };
}

/** Heavily overloaded site: up to 12 EVs whose minimum and target far exceed a site limit of 5–15 % of EVSE capacity. */
export function overloadedInstance(seed: number, v2g: boolean, maxSessions = 12): PlanningInput {
  const base = randomInstance(seed, { v2g, maxSessions, maxSlots: 16, limits: 'realistic' });
  const r = mulberry32(seed ^ 0x5bd1e995);
  let evseKw = 0;
  for (const { session } of base.sessions) evseKw += session.maxChargeKw;
  const siteKw = Math.max(3, Math.round(evseKw * (0.05 + 0.1 * r())));
  return {
    ...base,
    topology: {
      ...base.topology,
      nodes: base.topology.nodes.map((n) => (n.parentId === null ? { ...n, importLimitKw: siteKw } : n)),
    },
    sessions: base.sessions.map(({ evseId, session }) => ({
      evseId,
      session: {
        ...session,
        energyTargetKwh: session.energyTargetKwh + 10,
        energyMinKwh: session.energyMinKwh + 4,
        energyMaxKwh: session.energyMaxKwh + 10,
      },
    })),
  };
}

/** The instance classes of the gap scan and the gap properties. */
export function gapInstance(cls: string, seed: number): PlanningInput {
  switch (cls) {
    case 'v2g':
      return randomInstance(seed, { v2g: true, limits: 'realistic', siteLoad: seed % 2 === 0 });
    case 'plain':
      return randomInstance(seed, { v2g: false, limits: 'realistic', siteLoad: seed % 2 === 0 });
    case 'tight':
      return randomInstance(seed, { v2g: false, limits: 'tight', siteLoad: seed % 2 === 0 });
    case 'reserve':
      return reserveInstance(seed, seed % 2 === 0);
    case 'reserveV2g':
      return reserveInstance(seed, true);
    case 'reserveCharge':
      return reserveInstance(seed, false);
    case 'reserveLarge':
      // Up to 8 sessions × 16 slots (the tiny-site limit of 128 session-slots), half V2G.
      return reserveInstance(seed, seed % 2 === 0, { maxSessions: 8, maxSlots: 16 });
    case 'reserveEngine':
      // Engine-sized reserve sites: up to 12 sessions × 96 slots, half V2G (above the exact-LP step's limits).
      return reserveInstance(seed, seed % 2 === 0, { maxSessions: 12, maxSlots: 96 });
    case 'overloaded':
      return overloadedInstance(seed, false);
    case 'overloadedV2g':
      return overloadedInstance(seed, true);
    case 'overloadedLarge':
      return overloadedInstance(seed, seed % 2 === 0, 60);
    default: {
      // overloadedSite<S> / overloadedSiteCharge<S>: the benchmark's 3-level site (96 slots, 30 % V2G or none) with a
      // site limit of 5 % of EVSE power.
      const m = /^overloadedSite(Charge)?(\d+)$/.exec(cls);
      if (m)
        return syntheticSite({
          sessions: Number(m[2]),
          seed,
          siteLimitShare: 0.05,
          v2gShare: m[1] ? 0 : 0.3,
        });
      throw new Error(`unknown class ${cls}`);
    }
  }
}
