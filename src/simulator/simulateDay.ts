import type { EvseStateMessage, TopologyMessage } from '../../models/fleetState';
import type { FrequencyMessage } from '../../models/frequency';
import { SCHEMA_VERSION } from '../../models/messageHeader';
import type { PowerVariationMessage } from '../../models/powerVariation';
import type { Activation, DemandResponse, ForecastRequest, PriceCurve } from '../../models/rmSignal';
import type { InputTopic } from '../../models/topics';
import type { SiteTopology } from '../../models/topology';
import { dayAheadPrices } from './dayAheadPrices';
import { frequencyTrace } from './frequencyTrace';
import { createRng, deriveSeed } from './rng';
import { type SimulatedSession, simulateSessions } from './simulatedSessions';
import { type SimulatedEvse, simulateTopology } from './simulatedTopology';

export interface SimulationOptions {
  seed: number;
  siteId: string;
  /**
   * UTC ms. Sessions follow the UTC hour of day on every day of the run; the DSO, RM and
   * frequency events are placed on the first day only, and dropped when the run misses them.
   */
  startMs: number;
  /** Default 24. */
  durationHours?: number;
  /** The demo uses at least 50; default 60. */
  evseCount?: number;
  /** Share of EVSEs whose hardware can discharge; default 0.3. */
  v2gShare?: number;
  /** Default: 40 % of the summed EVSE ratings, rounded to 10 kW. */
  siteImportLimitKw?: number;
  /** Interval between frequency samples; default 10 s (the demo uses 1 s); 0 turns them off. */
  frequencySampleMs?: number;
}

export interface SimulatedInput {
  atMs: number;
  topic: InputTopic;
  key: string;
  /** A valid wire message object for `topic`. */
  message: unknown;
}

export interface SimulationSources {
  csms: string;
  dso: string;
  fo: string;
  meter: string;
}

export interface Simulation {
  topology: SiteTopology;
  /** Sorted by atMs; ties keep generation order, so the topology comes first. */
  inputs: SimulatedInput[];
  sources: SimulationSources;
  /** Ground truth for reports and tests; the engine only sees `inputs`. */
  sessions: SimulatedSession[];
  evses: SimulatedEvse[];
  siteImportLimitKw: number;
  startMs: number;
  endMs: number;
}

/** The simulated parties' ids, for the ACL of a demo config. */
export const SIMULATION_SOURCES: SimulationSources = {
  csms: 'sim-csms',
  dso: 'sim-dso',
  fo: 'sim-fo',
  meter: 'sim-frequency-meter',
};

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;

/**
 * A deterministic day at one site as its CSMS, DSO, flexibility operator and frequency
 * meter would report it. Same options, same inputs, byte for byte: every random draw
 * comes from a stream seeded by `seed` and the concern it serves.
 */
export function simulateDay(options: SimulationOptions): Simulation {
  const { seed, siteId, startMs } = options;
  const durationHours = options.durationHours ?? 24;
  const evseCount = options.evseCount ?? 60;
  const v2gShare = options.v2gShare ?? 0.3;
  const frequencySampleMs = options.frequencySampleMs ?? 10_000;
  if (!Number.isInteger(startMs) || startMs < 0)
    throw new RangeError('startMs must be a non-negative integer');
  if (!(durationHours > 0)) throw new RangeError('durationHours must be positive');
  if (!Number.isInteger(evseCount) || evseCount < 1)
    throw new RangeError('evseCount must be a positive integer');
  const endMs = startMs + Math.round(durationHours * HOUR_MS);
  const sources = SIMULATION_SOURCES;

  const inputs: SimulatedInput[] = [];
  let messageCount = 0;
  const header = (source: string, tsMs: number) => {
    messageCount++;
    return {
      messageId: `sim-${seed}-${siteId}-${String(messageCount).padStart(7, '0')}`,
      source,
      siteId,
      tsMs,
      schemaVersion: SCHEMA_VERSION,
    };
  };
  const emit = (atMs: number, topic: InputTopic, message: unknown) => {
    inputs.push({ atMs, topic, key: siteId, message });
  };
  const dayStartMs = Math.floor(startMs / DAY_MS) * DAY_MS;
  /** A time on the first day by UTC hour, or null when the run does not cover it. */
  const atHour = (hour: number): number | null => {
    const t = dayStartMs + Math.round(hour * HOUR_MS);
    return t >= startMs && t < endMs ? t : null;
  };

  const site = simulateTopology(createRng(deriveSeed(seed, 'topology')), {
    siteId,
    evseCount,
    v2gShare,
    siteImportLimitKw: options.siteImportLimitKw,
  });
  const topologyMessage: TopologyMessage = {
    ...header(sources.csms, startMs),
    kind: 'topology',
    topology: site.topology,
  };
  emit(startMs, 'fleet.state', topologyMessage);

  const prices = dayAheadPrices(createRng(deriveSeed(seed, 'prices')), { startMs, endMs });
  const priceCurve: PriceCurve = {
    ...header(sources.fo, startMs),
    kind: 'priceCurve',
    currency: 'EUR',
    ...prices,
  };
  emit(startMs, 'rm.signals', priceCurve);

  // Every EVSE reports itself once at start, as a CSMS does after (re)connecting.
  for (const evse of site.evses) {
    const state: EvseStateMessage = {
      ...header(sources.csms, startMs),
      kind: 'evseState',
      stationId: evse.stationId,
      evseId: evse.evseId,
      status: 'available',
      session: null,
    };
    emit(startMs, 'fleet.state', state);
  }

  const sessions = simulateSessions(createRng(deriveSeed(seed, 'sessions')), site.evses, {
    siteId,
    startMs,
    endMs,
  });
  for (const { evseId, stationId, session } of sessions) {
    const arrival: EvseStateMessage = {
      ...header(sources.csms, session.arrivalMs),
      kind: 'evseState',
      stationId,
      evseId,
      status: 'occupied',
      session,
    };
    emit(session.arrivalMs, 'fleet.state', arrival);
    const departure: EvseStateMessage = {
      ...header(sources.csms, session.departureMs),
      kind: 'evseState',
      stationId,
      evseId,
      status: 'available',
      session: null,
    };
    emit(session.departureMs, 'fleet.state', departure);
  }

  // RM: a forecast request early, a demand-response cap on the morning arrival surge, and an
  // activation (consume less) in the afternoon.
  const forecastAt = atHour(6);
  if (forecastAt !== null) {
    const request: ForecastRequest = {
      ...header(sources.fo, forecastAt),
      kind: 'forecastRequest',
      requestId: `fr-${seed}-1`,
      horizonMs: 24 * HOUR_MS,
    };
    emit(forecastAt, 'rm.signals', request);
  }
  const drAt = atHour(7);
  const drStart = atHour(8);
  const drEnd = atHour(9);
  if (drAt !== null && drStart !== null && drEnd !== null) {
    const dr: DemandResponse = {
      ...header(sources.fo, drAt),
      kind: 'demandResponse',
      eventId: `dr-${seed}-1`,
      nodeId: siteId,
      capKw: Math.round(0.6 * site.siteImportLimitKw),
      startMs: drStart,
      endMs: drEnd,
    };
    emit(drAt, 'rm.signals', dr);
  }
  const actAt = atHour(13 + 55 / 60);
  const actStart = atHour(14);
  const actEnd = atHour(14.5);
  if (actAt !== null && actStart !== null && actEnd !== null) {
    const activation: Activation = {
      ...header(sources.fo, actAt),
      kind: 'activation',
      activationId: `act-${seed}-1`,
      deltaKw: -Math.round(0.1 * site.siteImportLimitKw),
      startMs: actStart,
      endMs: actEnd,
    };
    emit(actAt, 'rm.signals', activation);
  }

  // DSO: a zone congestion relief late morning (delta) and the evening site cut to 50 %.
  const zone = site.topology.nodes.find((n) => n.kind === 'zone' && n.nodeId.endsWith('-Z2'));
  const zoneAt = atHour(10.75);
  const zoneStart = atHour(11);
  const zoneEnd = atHour(12.5);
  if (zone && zoneAt !== null && zoneStart !== null && zoneEnd !== null) {
    const variation: PowerVariationMessage = {
      ...header(sources.dso, zoneAt),
      kind: 'powerVariation',
      variationId: `pv-${seed}-zone`,
      nodeId: zone.nodeId,
      mode: 'delta',
      importLimitKw: -Math.round(0.3 * zone.importLimitKw),
      startMs: zoneStart,
      endMs: zoneEnd,
      priority: 3,
      mandatory: true,
      guaranteedMinKwPerDevice: 0,
    };
    emit(zoneAt, 'dso.power-variation', variation);
  }
  const siteAt = atHour(16.5);
  const siteStart = atHour(17);
  const siteEnd = atHour(19);
  if (siteAt !== null && siteStart !== null && siteEnd !== null) {
    const variation: PowerVariationMessage = {
      ...header(sources.dso, siteAt),
      kind: 'powerVariation',
      variationId: `pv-${seed}-site`,
      nodeId: siteId,
      mode: 'absolute',
      importLimitKw: Math.round(0.5 * site.siteImportLimitKw),
      startMs: siteStart,
      endMs: siteEnd,
      priority: 5,
      mandatory: true,
      guaranteedMinKwPerDevice: 0,
    };
    emit(siteAt, 'dso.power-variation', variation);
  }

  if (frequencySampleMs > 0) {
    // One loss-of-generation event, aligned to the sample grid so the 49.8 Hz nadir is sampled.
    const eventHourMs = atHour(20.25);
    const events =
      eventHourMs === null
        ? []
        : [
            {
              nadirMs: startMs + Math.round((eventHourMs - startMs) / frequencySampleMs) * frequencySampleMs,
              nadirHz: 49.8,
            },
          ];
    const trace = frequencyTrace(createRng(deriveSeed(seed, 'frequency')), {
      startMs,
      endMs,
      sampleMs: frequencySampleMs,
      events,
    });
    const meterId = `${siteId}-PQM1`;
    for (let i = 0; i < trace.tsMs.length; i++) {
      const sample: FrequencyMessage = {
        ...header(sources.meter, trace.tsMs[i]),
        kind: 'frequency',
        meterId,
        hz: trace.hz[i],
        accuracyMilliHz: 1,
      };
      emit(trace.tsMs[i], 'grid.frequency', sample);
    }
  }

  // Array.prototype.sort is stable (ES2019), so equal times keep generation order.
  inputs.sort((a, b) => a.atMs - b.atMs);
  return {
    topology: site.topology,
    inputs,
    sources,
    sessions,
    evses: site.evses,
    siteImportLimitKw: site.siteImportLimitKw,
    startMs,
    endMs,
  };
}
