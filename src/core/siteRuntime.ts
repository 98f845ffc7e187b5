import type { SiteState } from '../../models/stateSnapshot';
import { buildTopologyIndex, type TopologyIndex } from './topologyIndex';

/** In-memory companion of a site's serializable state: derived indexes and planner memory. */
export interface SiteRuntime {
  state: SiteState;
  index: TopologyIndex | null;
  seenIds: Set<string>;
  /** Reasons the site needs a new decision; empty = nothing to do. */
  triggers: Set<string>;
  /** Requests waiting for an ack once the next decision is made. */
  pendingAcks: PendingAck[];
  lastDecisionMs: number;
  /** Decisions made for this site by this instance; makes every setId unique. */
  decisionSeq: number;
  /** When the oldest not-yet-decided fleet event arrived (-1: none), for coalescing bursts. */
  firstTriggerMs: number;
  /** Start of the slot for which the site last published its flexibility envelope. */
  lastEnvelopeSlotMs: number;
  /** The planner's own memory between decisions (opaque to the core). */
  plannerMemory: unknown;
  /** The planner's last per-EVSE kW, before any frequency response (the real-time layer builds on it). */
  lastPlanKw: Float64Array | null;
  /** Site power change currently applied for frequency response (kW, negative = consume less). */
  frequencyResponseKw: number;
}

export interface PendingAck {
  /** Which request: its answer differs (a forecast request is answered with an envelope too). */
  requestKind: 'powerVariation' | 'demandResponse' | 'activation' | 'forecastRequest';
  requestId: string;
  requestMessageId: string;
  requestTopic: string;
  nodeId: string;
  requestedImportKw: number | null;
  startMs: number;
  endMs: number;
}

export function emptySiteState(siteId: string, nowMs: number): SiteState {
  return {
    siteId,
    topology: null,
    evses: [],
    variations: [],
    demandResponses: [],
    activations: [],
    prices: null,
    baseline: null,
    versions: {},
    recentMessageIds: [],
    recentMessageTsMs: [],
    lastFrequencyHz: null,
    inputOffsets: {},
    awaitingTopology: [],
    updatedMs: nowMs,
  };
}

export function siteRuntimeFromState(state: SiteState): SiteRuntime {
  return {
    state,
    index: state.topology ? buildTopologyIndex(state.topology) : null,
    seenIds: new Set(state.recentMessageIds),
    triggers: new Set(),
    pendingAcks: [],
    lastDecisionMs: 0,
    decisionSeq: 0,
    firstTriggerMs: -1,
    lastEnvelopeSlotMs: -1,
    plannerMemory: null,
    lastPlanKw: null,
    frequencyResponseKw: 0,
  };
}

/**
 * Remembers a messageId for duplicate detection. Forgets ids older than the stale limit (a
 * duplicate of those is refused as stale first) and, as a hard bound, beyond `window` ids.
 */
export function rememberMessageId(
  runtime: SiteRuntime,
  messageId: string,
  tsMs: number,
  window: number,
  oldestUsefulMs: number,
): void {
  runtime.seenIds.add(messageId);
  const ids = runtime.state.recentMessageIds;
  const times = runtime.state.recentMessageTsMs;
  ids.push(messageId);
  times.push(tsMs);
  let drop = Math.max(0, ids.length - window);
  while (drop < ids.length - 1 && times[drop] < oldestUsefulMs) drop++;
  // Amortised: trim in chunks so a steady stream does not shift the arrays on every message.
  if (drop > 0 && (drop >= 256 || ids.length > window)) {
    for (const id of ids.splice(0, drop)) runtime.seenIds.delete(id);
    times.splice(0, drop);
  }
}
