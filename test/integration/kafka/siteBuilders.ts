import { randomUUID } from 'node:crypto';
import type { EvseStateMessage, TopologyMessage } from '../../../models/fleetState';
import type { SiteTopology } from '../../../models/topology';

/** Test builders that read like the domain: a site, an EV arriving, a DSO lowering a limit. */
export interface TestSite {
  siteId: string;
  topology: SiteTopology;
  /** [stationId, evseId] pairs. */
  evses: [string, string][];
}

export function aSite(
  siteId: string,
  opts: { stations?: number; evsesPerStation?: number; importLimitKw?: number } = {},
): TestSite {
  const stations = opts.stations ?? 3;
  const perStation = opts.evsesPerStation ?? 2;
  const nodes: SiteTopology['nodes'] = [
    {
      nodeId: siteId,
      kind: 'site',
      parentId: null,
      importLimitKw: opts.importLimitKw ?? 200,
      exportLimitKw: 0,
    },
  ];
  const evses: [string, string][] = [];
  for (let s = 1; s <= stations; s++) {
    const stationId = `${siteId}-CS${s}`;
    nodes.push({ nodeId: stationId, kind: 'station', parentId: siteId, importLimitKw: 44, exportLimitKw: 0 });
    for (let e = 1; e <= perStation; e++) {
      const evseId = `${stationId}-E${e}`;
      nodes.push({ nodeId: evseId, kind: 'evse', parentId: stationId, importLimitKw: 22, exportLimitKw: 0 });
      evses.push([stationId, evseId]);
    }
  }
  return { siteId, topology: { siteId, nodes }, evses };
}

const header = (siteId: string, source: string, tsMs: number) => ({
  messageId: randomUUID(),
  source,
  siteId,
  tsMs,
  schemaVersion: 1 as const,
});

export function aTopologyMessage(site: TestSite, nowMs: number): TopologyMessage {
  return { ...header(site.siteId, 'csms-1', nowMs), kind: 'topology', topology: site.topology };
}

export function anEvArrival(
  site: TestSite,
  evseIndex: number,
  nowMs: number,
  opts: { sessionId?: string } = {},
): EvseStateMessage {
  const [stationId, evseId] = site.evses[evseIndex] as [string, string];
  return {
    ...header(site.siteId, 'csms-1', nowMs),
    kind: 'evseState',
    stationId,
    evseId,
    status: 'occupied',
    session: {
      sessionId: opts.sessionId ?? `${evseId}-s${nowMs}`,
      arrivalMs: nowMs,
      departureMs: nowMs + 4 * 3600_000,
      energyTargetKwh: 40,
      energyMinKwh: 10,
      energyMaxKwh: 60,
      socPct: 30,
      batteryCapacityKwh: 77,
      maxChargeKw: 22,
      minChargeKw: 0,
      maxDischargeKw: 0,
      v2gAllowed: false,
      minSocReservePct: 20,
      controlMode: 'scheduled',
    },
  };
}

export function aPowerVariation(
  site: TestSite,
  importLimitKw: number,
  nowMs: number,
  opts: { nodeId?: string } = {},
) {
  return {
    ...header(site.siteId, 'dso-1', nowMs),
    kind: 'powerVariation' as const,
    variationId: `var-${randomUUID()}`,
    nodeId: opts.nodeId ?? site.siteId,
    mode: 'absolute' as const,
    importLimitKw,
    startMs: nowMs - 1000,
    endMs: nowMs + 3600_000,
    priority: 5,
    mandatory: true,
    guaranteedMinKwPerDevice: 0,
  };
}

/** JSON record keyed by site, ready for a producer. */
export const keyed = (message: { siteId: string }) => ({
  key: message.siteId,
  value: JSON.stringify(message),
});
