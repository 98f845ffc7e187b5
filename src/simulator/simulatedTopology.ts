import type { SiteTopology, TopologyNode } from '../../models/topology';
import type { Rng } from './rng';

export type EvseKind = 'ac11' | 'ac22' | 'dc50';

export interface SimulatedEvse {
  evseId: string;
  stationId: string;
  zoneId: string;
  kind: EvseKind;
  ratedKw: number;
  v2gCapable: boolean;
  /** Discharge capability of the EVSE hardware (0 when not V2G-capable). */
  maxDischargeKw: number;
}

export interface SimulatedSite {
  topology: SiteTopology;
  evses: SimulatedEvse[];
  siteImportLimitKw: number;
}

export interface TopologyOptions {
  siteId: string;
  evseCount: number;
  v2gShare: number;
  siteImportLimitKw?: number;
}

const RATED_KW: Record<EvseKind, number> = { ac11: 11, ac22: 22, dc50: 50 };
/** Share of the summed EVSE ratings a node may draw: the reason smart charging matters. */
const ZONE_LIMIT_SHARE = 0.6;
const SITE_LIMIT_SHARE = 0.35;
/** A 2×50 kW DC station typically shares one 75 kW power cabinet. */
const DC_STATION_IMPORT_KW = 75;

/**
 * Site → 2–3 zones → stations with two EVSEs each (the last may have one when the count
 * is odd). Mostly 11 kW AC, some 22 kW AC, a few 50 kW DC. Limits are tight on purpose:
 * zones at 60 % and the site at 35 % of the EVSE ratings below them.
 */
export function simulateTopology(rng: Rng, opts: TopologyOptions): SimulatedSite {
  const { siteId, evseCount } = opts;
  const stationCount = Math.ceil(evseCount / 2);
  const zoneCount = evseCount >= 40 ? 3 : evseCount >= 4 ? 2 : 1;
  const stationKinds: EvseKind[] = [];
  for (let i = 0; i < stationCount; i++) {
    stationKinds.push(
      rng.weighted<EvseKind>([
        ['ac11', 0.55],
        ['ac22', 0.33],
        ['dc50', 0.12],
      ]),
    );
  }
  // A realistic depot has at least one fast charger and one 22 kW station.
  if (stationCount >= 10 && !stationKinds.includes('dc50')) stationKinds[stationCount - 1] = 'dc50';
  if (stationCount >= 10 && !stationKinds.includes('ac22')) stationKinds[0] = 'ac22';

  // Mark an exact share of EVSEs V2G-capable, chosen by a seeded shuffle.
  const v2gCount = Math.round(Math.min(1, Math.max(0, opts.v2gShare)) * evseCount);
  const order = Array.from({ length: evseCount }, (_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [order[i], order[j]] = [order[j], order[i]];
  }
  const v2gSet = new Set(order.slice(0, v2gCount));

  const evses: SimulatedEvse[] = [];
  const zoneIds = Array.from({ length: zoneCount }, (_, z) => `${siteId}-Z${z + 1}`);
  const stationNodes: TopologyNode[] = [];
  const evseNodes: TopologyNode[] = [];
  let evseIndex = 0;
  for (let s = 0; s < stationCount; s++) {
    const zoneId = zoneIds[Math.floor((s * zoneCount) / stationCount)];
    const stationId = `${siteId}-CS${String(s + 1).padStart(3, '0')}`;
    const kind = stationKinds[s];
    const ratedKw = RATED_KW[kind];
    const evsesHere = Math.min(2, evseCount - evseIndex);
    let stationExportKw = 0;
    for (let c = 1; c <= evsesHere; c++, evseIndex++) {
      const v2gCapable = v2gSet.has(evseIndex);
      // Bidirectional AC wallboxes top out at 11 kW; DC ones discharge at their rating.
      const maxDischargeKw = v2gCapable ? (kind === 'dc50' ? 50 : 11) : 0;
      const evse: SimulatedEvse = {
        evseId: `${stationId}-${c}`,
        stationId,
        zoneId,
        kind,
        ratedKw,
        v2gCapable,
        maxDischargeKw,
      };
      evses.push(evse);
      stationExportKw += maxDischargeKw;
      evseNodes.push({
        nodeId: evse.evseId,
        kind: 'evse',
        parentId: stationId,
        importLimitKw: ratedKw,
        exportLimitKw: maxDischargeKw,
        v2gCapable,
      });
    }
    const stationImportKw = kind === 'dc50' && evsesHere === 2 ? DC_STATION_IMPORT_KW : ratedKw * evsesHere;
    stationNodes.push({
      nodeId: stationId,
      kind: 'station',
      parentId: zoneId,
      importLimitKw: stationImportKw,
      exportLimitKw: Math.min(stationExportKw, stationImportKw),
    });
  }

  const zoneNodes: TopologyNode[] = zoneIds.map((zoneId) => {
    const inZone = evses.filter((e) => e.zoneId === zoneId);
    const ratedSum = inZone.reduce((sum, e) => sum + e.ratedKw, 0);
    const dischargeSum = inZone.reduce((sum, e) => sum + e.maxDischargeKw, 0);
    return {
      nodeId: zoneId,
      kind: 'zone',
      parentId: siteId,
      importLimitKw: roundTo(ZONE_LIMIT_SHARE * ratedSum, 5),
      exportLimitKw: roundTo(ZONE_LIMIT_SHARE * dischargeSum, 5),
    };
  });
  const ratedTotal = evses.reduce((sum, e) => sum + e.ratedKw, 0);
  const siteImportLimitKw =
    opts.siteImportLimitKw ?? Math.max(10, roundTo(SITE_LIMIT_SHARE * ratedTotal, 10));
  const siteNode: TopologyNode = {
    nodeId: siteId,
    kind: 'site',
    parentId: null,
    importLimitKw: siteImportLimitKw,
    // Connection agreements usually allow less feed-in than take-off.
    exportLimitKw: roundTo(0.3 * siteImportLimitKw, 5),
  };
  return {
    topology: { siteId, nodes: [siteNode, ...zoneNodes, ...stationNodes, ...evseNodes] },
    evses,
    siteImportLimitKw,
  };
}

function roundTo(value: number, step: number): number {
  return Math.round(value / step) * step;
}
