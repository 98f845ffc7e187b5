import type { ErrorCode } from '../../models/errorCode';
import type { EvseStateMessage } from '../../models/fleetState';
import type { FrequencyMessage } from '../../models/frequency';
import { SCHEMA_VERSION } from '../../models/messageHeader';
import type { PowerVariationMessage } from '../../models/powerVariation';
import type { InputTopic } from '../../models/topics';
import type { SimulatedInput, Simulation } from './simulateDay';

/**
 * A raw record as a bus would deliver it, with the dead-letter code the engine must give
 * it. `value` is the exact bytes (as text) on the wire, not an object, because several bad
 * inputs are bad precisely as bytes.
 */
export interface BadInput {
  atMs: number;
  topic: InputTopic;
  key: string | null;
  value: string;
  expectedCode: ErrorCode;
  description: string;
}

export interface BadInputContext {
  siteId: string;
  /** When the record reaches the engine (the virtual clock then). */
  atMs: number;
  /** A messageId no good message uses. */
  messageId: string;
  /** A source the ACL allows for the topic used (defaults to the simulator's meter). */
  source?: string;
}

const METER_SOURCE = 'sim-frequency-meter';

function frequencySample(ctx: BadInputContext, overrides: Partial<FrequencyMessage> = {}): FrequencyMessage {
  return {
    messageId: ctx.messageId,
    source: ctx.source ?? METER_SOURCE,
    siteId: ctx.siteId,
    tsMs: ctx.atMs,
    schemaVersion: SCHEMA_VERSION,
    kind: 'frequency',
    meterId: `${ctx.siteId}-PQM1`,
    hz: 50.003,
    accuracyMilliHz: 1,
    ...overrides,
  };
}

/** The header of an `evseState` message from the simulated CSMS, shared by the bad EVSE states. */
function evseStateHeader(ctx: BadInputContext & { stationId: string }) {
  return {
    messageId: ctx.messageId,
    source: ctx.source ?? 'sim-csms',
    siteId: ctx.siteId,
    tsMs: ctx.atMs,
    schemaVersion: SCHEMA_VERSION,
    kind: 'evseState' as const,
    stationId: ctx.stationId,
  };
}

/** A frequency sample cut off mid-record, as after a truncated write. */
export function malformedJsonInput(ctx: BadInputContext): BadInput {
  const json = JSON.stringify(frequencySample(ctx));
  return {
    atMs: ctx.atMs,
    topic: 'grid.frequency',
    key: ctx.siteId,
    value: json.slice(0, Math.floor(json.length / 2)),
    expectedCode: 'EVFLEX_MALFORMED_JSON',
    description: 'truncated JSON frequency sample',
  };
}

/** A CSMS bug: an OCPP status the contract does not have and no evseId. */
export function schemaViolationInput(ctx: BadInputContext & { stationId: string }): BadInput {
  const message = { ...evseStateHeader(ctx), status: 'Charging' };
  return {
    atMs: ctx.atMs,
    topic: 'fleet.state',
    key: ctx.siteId,
    value: JSON.stringify(message),
    expectedCode: 'EVFLEX_SCHEMA_INVALID',
    description: 'evseState with status "Charging" and no evseId',
  };
}

/** A well-formed sample for a site the engine was never told about. */
export function unknownSiteInput(ctx: BadInputContext, unknownSiteId = 'site-unknown'): BadInput {
  const message = frequencySample({ ...ctx, siteId: unknownSiteId });
  return {
    atMs: ctx.atMs,
    topic: 'grid.frequency',
    key: unknownSiteId,
    value: JSON.stringify(message),
    expectedCode: 'EVFLEX_UNKNOWN_SITE',
    description: `frequency sample for ${unknownSiteId}`,
  };
}

/**
 * Someone who is not the DSO tries to cut the site to 0 kW: the reason the ACL exists.
 * If the engine's ACL admits every source, this one would take effect for 10 minutes.
 */
export function unauthorizedSourceInput(ctx: BadInputContext, source = 'unknown-party'): BadInput {
  const message: PowerVariationMessage = {
    messageId: ctx.messageId,
    source,
    siteId: ctx.siteId,
    tsMs: ctx.atMs,
    schemaVersion: SCHEMA_VERSION,
    kind: 'powerVariation',
    variationId: `${ctx.messageId}-variation`,
    nodeId: ctx.siteId,
    mode: 'absolute',
    importLimitKw: 0,
    startMs: ctx.atMs,
    endMs: ctx.atMs + 10 * 60_000,
    priority: 9,
    mandatory: true,
    guaranteedMinKwPerDevice: 0,
  };
  return {
    atMs: ctx.atMs,
    topic: 'dso.power-variation',
    key: ctx.siteId,
    value: JSON.stringify(message),
    expectedCode: 'EVFLEX_UNAUTHORIZED_SOURCE',
    description: `power variation to 0 kW from ${source}`,
  };
}

/** A frequency sample that spent too long in a queue: older than the engine's maximum age. */
export function staleInput(ctx: BadInputContext & { maxMessageAgeMs: number }): BadInput {
  const message = frequencySample(ctx, { tsMs: Math.max(0, ctx.atMs - ctx.maxMessageAgeMs - 60_000) });
  return {
    atMs: ctx.atMs,
    topic: 'grid.frequency',
    key: ctx.siteId,
    value: JSON.stringify(message),
    expectedCode: 'EVFLEX_STALE_MESSAGE',
    description: `frequency sample ${(ctx.maxMessageAgeMs + 60_000) / 1000} s old`,
  };
}

/** A producer retry: the same bytes as an earlier good message, delivered again shortly after. */
export function duplicateInput(original: SimulatedInput, atMs: number): BadInput {
  return {
    atMs,
    topic: original.topic,
    key: original.key,
    value: JSON.stringify(original.message),
    expectedCode: 'EVFLEX_DUPLICATE_MESSAGE',
    description: `re-delivery of ${(original.message as { messageId: string }).messageId}`,
  };
}

/** The record key names one site, the payload another. */
export function keyMismatchInput(ctx: BadInputContext, otherKey = 'site-other'): BadInput {
  return {
    atMs: ctx.atMs,
    topic: 'grid.frequency',
    key: otherKey,
    value: JSON.stringify(frequencySample(ctx)),
    expectedCode: 'EVFLEX_KEY_MISMATCH',
    description: `keyed ${otherKey}, payload for ${ctx.siteId}`,
  };
}

/** An EV arriving at an EVSE the site's topology does not have. */
export function unknownNodeInput(ctx: BadInputContext & { stationId: string }): BadInput {
  const message: EvseStateMessage = {
    ...evseStateHeader(ctx),
    evseId: `${ctx.stationId}-99`,
    status: 'unavailable',
    session: null,
  };
  return {
    atMs: ctx.atMs,
    topic: 'fleet.state',
    key: ctx.siteId,
    value: JSON.stringify(message),
    expectedCode: 'EVFLEX_UNKNOWN_NODE',
    description: `evseState for ${message.evseId}, which the topology lacks`,
  };
}

/**
 * One of each of the six kinds the issue names (malformed JSON, schema violation, unknown
 * site, unauthorized source, stale, duplicate), spread over the simulated run. The engine
 * must be configured with an ACL built from `simulation.sources` for the unauthorized one
 * to be caught, and with `maxMessageAgeMs` for the stale one.
 */
export function simulatedBadInputs(simulation: Simulation, opts: { maxMessageAgeMs: number }): BadInput[] {
  const { startMs, endMs } = simulation;
  const siteId = simulation.topology.siteId;
  const at = (fraction: number) => startMs + Math.round(((endMs - startMs) * fraction) / 1000) * 1000;
  const id = (kind: string) => `bad-${siteId}-${kind}`;
  const stationId = simulation.evses[0]?.stationId ?? `${siteId}-CS001`;
  const out: BadInput[] = [
    malformedJsonInput({ siteId, atMs: at(0.125), messageId: id('malformed') }),
    schemaViolationInput({ siteId, atMs: at(0.21), messageId: id('schema'), stationId }),
    unknownSiteInput({ siteId, atMs: at(0.46), messageId: id('unknown-site') }),
    unauthorizedSourceInput({ siteId, atMs: at(0.625), messageId: id('unauthorized') }),
    staleInput({ siteId, atMs: at(0.875), messageId: id('stale'), maxMessageAgeMs: opts.maxMessageAgeMs }),
  ];
  // Re-deliver the first EV arrival after the first quarter of the run, 2 s later.
  const original =
    simulation.inputs.find((i) => i.atMs >= at(0.25) && isArrival(i)) ?? simulation.inputs.find(isArrival);
  if (original) out.push(duplicateInput(original, original.atMs + 2_000));
  return out.sort((a, b) => a.atMs - b.atMs);
}

function isArrival(input: SimulatedInput): boolean {
  const m = input.message as { kind?: string; session?: unknown };
  return m.kind === 'evseState' && m.session != null;
}
