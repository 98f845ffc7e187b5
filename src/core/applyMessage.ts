import type { ErrorCode } from '../../models/errorCode';
import type { EvseRuntime } from '../../models/stateSnapshot';
import type { InputMessage } from '../../models/topics';
import { topologyProblems } from '../../models/topology';
import type { PendingAck, SiteRuntime } from './siteRuntime';
import { buildTopologyIndex } from './topologyIndex';

export type ApplyResult = { ok: true } | { ok: false; code: ErrorCode; reason: string; ack?: PendingAck };

/**
 * Folds one validated message into its site's state. Deterministic: the same messages in
 * the same order give the same state, which is what makes replays and recovery work.
 * Records why the site needs a new decision in `runtime.triggers`.
 */
export function applyMessage(runtime: SiteRuntime, message: InputMessage, topic: string): ApplyResult {
  const state = runtime.state;
  state.updatedMs = Math.max(state.updatedMs, message.tsMs);
  switch (message.kind) {
    case 'topology': {
      const problems = topologyProblems(message.topology);
      if (message.topology.siteId !== message.siteId) problems.push('topology.siteId differs from siteId');
      if (problems.length > 0)
        return { ok: false, code: 'EVFLEX_TOPOLOGY_INVALID', reason: problems.join('; ') };
      state.topology = message.topology;
      runtime.index = buildTopologyIndex(message.topology);
      const previous = new Map(state.evses.map((e) => [e.evseId, e]));
      state.evses = runtime.index.evseIds.map(
        (evseId, i): EvseRuntime =>
          previous.get(evseId) ?? {
            evseId,
            stationId: runtime.index!.stationIdOfEvse[i],
            status: 'available',
            session: null,
            sessionUpdatedMs: message.tsMs,
            measuredKw: 0,
          },
      );
      // A site that was never given setpoints has none a new limit could be exceeded by.
      runtime.triggers.add(Object.keys(state.versions).length === 0 ? 'newSite' : 'topology');
      return { ok: true };
    }
    case 'evseState': {
      const i = runtime.index?.evseIndexById.get(message.evseId);
      if (i === undefined || runtime.index?.stationIdOfEvse[i] !== message.stationId) {
        return {
          ok: false,
          code: 'EVFLEX_UNKNOWN_NODE',
          reason: `evse ${message.stationId}/${message.evseId} unknown`,
        };
      }
      const evse = state.evses[i];
      const before = evse.session?.sessionId ?? null;
      const session = message.session ?? null;
      evse.status = message.status;
      evse.session = session;
      evse.sessionUpdatedMs = message.tsMs;
      const after = session?.sessionId ?? null;
      runtime.triggers.add(before === after ? 'evUpdate' : after === null ? 'departure' : 'arrival');
      return { ok: true };
    }
    case 'meterValues': {
      for (const reading of message.evses) {
        const i = runtime.index?.evseIndexById.get(reading.evseId);
        if (i !== undefined) state.evses[i].measuredKw = reading.powerKw;
      }
      return { ok: true };
    }
    case 'frequency': {
      state.lastFrequencyHz = message.hz;
      return { ok: true };
    }
    case 'powerVariation': {
      const ack: PendingAck = {
        requestKind: 'powerVariation',
        requestId: message.variationId,
        requestMessageId: message.messageId,
        requestTopic: topic,
        nodeId: message.nodeId,
        requestedImportKw: message.importLimitKw ?? null,
        startMs: message.startMs,
        endMs: message.endMs,
      };
      if (!runtime.index?.nodeIndexById.has(message.nodeId)) {
        return { ok: false, code: 'EVFLEX_UNKNOWN_NODE', reason: `node ${message.nodeId} unknown`, ack };
      }
      if (ack.requestedImportKw !== null && message.mode === 'delta') {
        const node = runtime.index.nodeIndexById.get(message.nodeId)!;
        ack.requestedImportKw = runtime.index.staticImportKw[node] + ack.requestedImportKw;
      }
      state.variations = state.variations.filter((v) => v.variationId !== message.variationId);
      state.variations.push(message);
      runtime.pendingAcks.push(ack);
      runtime.triggers.add('dsoVariation');
      return { ok: true };
    }
    case 'demandResponse': {
      const ack: PendingAck = {
        requestKind: 'demandResponse',
        requestId: message.eventId,
        requestMessageId: message.messageId,
        requestTopic: topic,
        nodeId: message.nodeId,
        requestedImportKw: message.capKw,
        startMs: message.startMs,
        endMs: message.endMs,
      };
      if (!runtime.index?.nodeIndexById.has(message.nodeId)) {
        return { ok: false, code: 'EVFLEX_UNKNOWN_NODE', reason: `node ${message.nodeId} unknown`, ack };
      }
      state.demandResponses = state.demandResponses.filter((d) => d.eventId !== message.eventId);
      state.demandResponses.push(message);
      runtime.pendingAcks.push(ack);
      runtime.triggers.add('demandResponse');
      return { ok: true };
    }
    case 'priceCurve': {
      state.prices = message;
      runtime.triggers.add('prices');
      return { ok: true };
    }
    case 'activation': {
      state.activations = state.activations.filter((a) => a.activationId !== message.activationId);
      state.activations.push(message);
      runtime.pendingAcks.push({
        requestKind: 'activation',
        requestId: message.activationId,
        requestMessageId: message.messageId,
        requestTopic: topic,
        nodeId: runtime.index!.nodeIds[0],
        requestedImportKw: null,
        startMs: message.startMs,
        endMs: message.endMs,
      });
      runtime.triggers.add('activation');
      return { ok: true };
    }
    case 'baseline': {
      state.baseline = message;
      return { ok: true };
    }
    case 'forecastRequest': {
      runtime.pendingAcks.push({
        requestKind: 'forecastRequest',
        requestId: message.requestId,
        requestMessageId: message.messageId,
        requestTopic: topic,
        nodeId: runtime.index!.nodeIds[0],
        requestedImportKw: null,
        startMs: message.tsMs,
        endMs: message.tsMs + message.horizonMs,
      });
      runtime.triggers.add('forecastRequest');
      return { ok: true };
    }
  }
}

/** Drops limits and events that ended before `nowMs`, so state stays bounded. */
export function pruneExpired(runtime: SiteRuntime, nowMs: number): void {
  const s = runtime.state;
  s.variations = s.variations.filter((v) => v.endMs > nowMs);
  s.demandResponses = s.demandResponses.filter((d) => d.endMs > nowMs);
  s.activations = s.activations.filter((a) => a.endMs > nowMs);
}
