import type { Session } from '../models/session';
import type { SiteTopology, TopologyNode } from '../models/topology';
import type { PlanningInput } from './buildPlanningProblem';

/** Small seeded PRNG (mulberry32): deterministic instances for tests and benchmarks. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface SyntheticSiteOptions {
  sessions: number;
  seed?: number;
  slotMinutes?: number;
  horizonSlots?: number;
  /** Share of sessions with V2G (EV, EVSE and contract); default 0.3. */
  v2gShare?: number;
  /** Share of sessions with an AC floor; default 0. */
  floorShare?: number;
  /** Site limit as a share of the sum of EVSE maxima; default 0.3. */
  siteLimitShare?: number;
  /** EVSEs per station; default 2. Stations per zone; default 20. */
  evsesPerStation?: number;
  stationsPerZone?: number;
  nowMs?: number;
}

/**
 * A 3-level site (site → zones → stations → EVSEs), one session per EVSE, a day-shaped price curve with noise.
 * Zones and stations are sized so that every level binds at times.
 */
export function syntheticSite(options: SyntheticSiteOptions): PlanningInput {
  const rand = mulberry32(options.seed ?? 1);
  const slotMinutes = options.slotMinutes ?? 15;
  const T = options.horizonSlots ?? Math.round((24 * 60) / slotMinutes);
  const nowMs = options.nowMs ?? Date.UTC(2026, 0, 15, 16, 0, 0);
  const v2gShare = options.v2gShare ?? 0.3;
  const floorShare = options.floorShare ?? 0;
  const perStation = options.evsesPerStation ?? 2;
  const perZone = options.stationsPerZone ?? 20;
  const S = options.sessions;
  const stations = Math.ceil(S / perStation);
  const zones = Math.ceil(stations / perZone);
  const nodes: TopologyNode[] = [];
  const evseMaxKw = 22;
  nodes.push({
    nodeId: 'site',
    kind: 'site',
    parentId: null,
    importLimitKw: Math.round(S * evseMaxKw * (options.siteLimitShare ?? 0.3)),
    exportLimitKw: Math.round(S * evseMaxKw * 0.15),
  });
  for (let z = 0; z < zones; z++) {
    const zoneEvses = Math.min(perZone * perStation, S - z * perZone * perStation);
    nodes.push({
      nodeId: `z${z}`,
      kind: 'zone',
      parentId: 'site',
      importLimitKw: Math.round(zoneEvses * evseMaxKw * (0.35 + 0.2 * rand())),
      exportLimitKw: Math.round(zoneEvses * evseMaxKw * 0.2),
    });
  }
  const sessions: { evseId: string; session: Session }[] = [];
  const slotMs = slotMinutes * 60_000;
  const start = Math.floor(nowMs / slotMs) * slotMs;
  for (let st = 0; st < stations; st++) {
    const stationId = `z${Math.floor(st / perZone)}-st${st}`;
    nodes.push({
      nodeId: stationId,
      kind: 'station',
      parentId: `z${Math.floor(st / perZone)}`,
      importLimitKw: Math.round(perStation * evseMaxKw * (0.5 + 0.4 * rand())),
      exportLimitKw: Math.round(perStation * evseMaxKw * 0.5),
    });
    for (let e = 0; e < perStation && st * perStation + e < S; e++) {
      const s = st * perStation + e;
      const evseId = `${stationId}-e${e}`;
      const v2g = rand() < v2gShare;
      nodes.push({
        nodeId: evseId,
        kind: 'evse',
        parentId: stationId,
        importLimitKw: evseMaxKw,
        exportLimitKw: v2g ? evseMaxKw : 0,
        v2gCapable: v2g,
      });
      const connected = rand() < 0.6;
      const arrivalMs = connected
        ? start - Math.floor(rand() * 4) * slotMs
        : start + Math.floor(rand() * T * 0.5) * slotMs;
      const dwellSlots = 8 + Math.floor(rand() * (T * 0.55));
      const departureMs = Math.max(arrivalMs, start) + dwellSlots * slotMs;
      const capacity = 40 + Math.floor(rand() * 60);
      const socPct = 10 + rand() * 60;
      const room = capacity * (1 - socPct / 100);
      const target = Math.min(room, 5 + rand() * 50);
      const maxChargeKw = [7.4, 11, 22][Math.floor(rand() * 3)];
      const floor = rand() < floorShare ? 4.2 : 0;
      sessions.push({
        evseId,
        session: {
          sessionId: `s${s}`,
          arrivalMs,
          departureMs,
          energyTargetKwh: Math.round(target * 10) / 10,
          energyMinKwh: Math.round(target * (0.2 + 0.4 * rand()) * 10) / 10,
          energyMaxKwh: Math.round(room * 10) / 10,
          socPct,
          batteryCapacityKwh: capacity,
          maxChargeKw,
          minChargeKw: floor,
          maxDischargeKw: v2g ? Math.min(maxChargeKw, 11) : 0,
          v2gAllowed: v2g,
          minSocReservePct: 30,
          controlMode: 'scheduled',
        },
      });
    }
  }
  const importPricePerKwh: number[] = [];
  const exportPricePerKwh: number[] = [];
  for (let t = 0; t < T; t++) {
    const at = new Date(start + t * slotMs);
    const hour = at.getUTCHours() + at.getUTCMinutes() / 60;
    const shape =
      0.18 + 0.12 * Math.sin(((hour - 12) / 24) * 2 * Math.PI) + (hour >= 17 && hour < 21 ? 0.1 : 0);
    const price = Math.round((shape + 0.03 * rand()) * 1000) / 1000;
    importPricePerKwh.push(price);
    exportPricePerKwh.push(Math.round(price * 0.8 * 1000) / 1000);
  }
  const header = {
    messageId: 'synthetic',
    source: 'synthetic',
    siteId: 'site',
    tsMs: nowMs,
    schemaVersion: 1 as const,
  };
  return {
    topology: { siteId: 'site', nodes } satisfies SiteTopology,
    sessions,
    nowMs,
    slotMinutes,
    horizonSlots: T,
    prices: {
      ...header,
      kind: 'priceCurve',
      startMs: start,
      slotMinutes,
      importPricePerKwh,
      exportPricePerKwh,
      currency: 'EUR',
    },
  };
}
