import { SCHEMA_VERSION } from '../../models/messageHeader';
import type { Session } from '../../models/session';
import type { SiteTopology, TopologyNode } from '../../models/topology';

/** Builders so tests read like the domain: aSite(), anEv(), aPowerVariation(). */
let counter = 0;
export const nextId = (prefix: string) => `${prefix}-${++counter}`;

export const T0 = Date.UTC(2026, 10, 23, 0, 0, 0);

export function header(siteId: string, tsMs: number, source = 'csms-1') {
  return { messageId: nextId('m'), source, siteId, tsMs, schemaVersion: SCHEMA_VERSION };
}

export interface SiteShape {
  siteId?: string;
  siteLimitKw?: number;
  zones?: { limitKw: number; stations: number; evsesPerStation?: number; evseKw?: number; v2g?: boolean }[];
}

/** A site → zones → stations → EVSEs tree; ids are z1, z1-s1, z1-s1-e1… */
export function aSite(shape: SiteShape = {}): SiteTopology {
  const siteId = shape.siteId ?? 'site-1';
  const zones = shape.zones ?? [{ limitKw: 60, stations: 4 }];
  const nodes: TopologyNode[] = [
    {
      nodeId: siteId,
      kind: 'site',
      parentId: null,
      importLimitKw: shape.siteLimitKw ?? 100,
      exportLimitKw: 50,
    },
  ];
  zones.forEach((zone, zi) => {
    const zoneId = `z${zi + 1}`;
    nodes.push({
      nodeId: zoneId,
      kind: 'zone',
      parentId: siteId,
      importLimitKw: zone.limitKw,
      exportLimitKw: zone.limitKw / 2,
    });
    for (let s = 1; s <= zone.stations; s++) {
      const stationId = `${zoneId}-s${s}`;
      const evseKw = zone.evseKw ?? 11;
      const perStation = zone.evsesPerStation ?? 2;
      nodes.push({
        nodeId: stationId,
        kind: 'station',
        parentId: zoneId,
        importLimitKw: evseKw * perStation,
        exportLimitKw: evseKw,
      });
      for (let e = 1; e <= perStation; e++) {
        nodes.push({
          nodeId: `${stationId}-e${e}`,
          kind: 'evse',
          parentId: stationId,
          importLimitKw: evseKw,
          exportLimitKw: zone.v2g ? evseKw : 0,
          v2gCapable: zone.v2g ?? false,
        });
      }
    }
  });
  return { siteId, nodes };
}

export function aTopologyMessage(topology: SiteTopology, tsMs: number) {
  return { ...header(topology.siteId, tsMs), kind: 'topology' as const, topology };
}

export function anEv(overrides: Partial<Session> = {}, nowMs = T0): Session {
  return {
    sessionId: nextId('sess'),
    arrivalMs: nowMs,
    departureMs: nowMs + 8 * 3_600_000,
    energyTargetKwh: 30,
    energyMinKwh: 10,
    energyMaxKwh: 40,
    socPct: 30,
    batteryCapacityKwh: 60,
    maxChargeKw: 11,
    minChargeKw: 0,
    maxDischargeKw: 0,
    v2gAllowed: false,
    minSocReservePct: 20,
    controlMode: 'scheduled',
    ...overrides,
  };
}

export function anEvArrival(
  siteId: string,
  evseNodeId: string,
  session: Session | null,
  tsMs: number,
  source = 'csms-1',
) {
  const stationId = evseNodeId.replace(/-e\d+$/, '');
  return {
    ...header(siteId, tsMs, source),
    kind: 'evseState' as const,
    stationId,
    evseId: evseNodeId,
    status: session ? ('occupied' as const) : ('available' as const),
    session,
  };
}

export function aPowerVariation(
  siteId: string,
  overrides: Partial<{
    nodeId: string;
    importLimitKw: number;
    startMs: number;
    endMs: number;
    guaranteedMinKwPerDevice: number;
    mode: 'absolute' | 'delta';
  }> = {},
  tsMs = T0,
) {
  return {
    ...header(siteId, tsMs, 'dso-1'),
    kind: 'powerVariation' as const,
    variationId: nextId('var'),
    nodeId: overrides.nodeId ?? siteId,
    mode: overrides.mode ?? ('absolute' as const),
    importLimitKw: overrides.importLimitKw ?? 40,
    startMs: overrides.startMs ?? tsMs,
    endMs: overrides.endMs ?? tsMs + 2 * 3_600_000,
    priority: 0,
    mandatory: true,
    guaranteedMinKwPerDevice: overrides.guaranteedMinKwPerDevice ?? 0,
  };
}
