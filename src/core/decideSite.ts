import type { AckMessage } from '../../models/ack';
import type { FlexEnvelopeMessage } from '../../models/flexEnvelope';
import { SCHEMA_VERSION } from '../../models/messageHeader';
import type { EvseSetpoint, SetpointMessage } from '../../models/setpoint';
import type { EvflexConfig } from '../config/configSchema';
import { ackMessage } from './ackMessage';
import { allocateWithinLimits } from './allocateWithinLimits';
import { applyFrequencyResponse } from './applyFrequencyResponse';
import { droopResponse } from './droopResponse';
import { effectiveNodeLimits } from './effectiveNodeLimits';
import { nodeSums } from './nodeSums';
import { placeholderPlanner } from './placeholderPlanner';
import type { SitePlanner, SlotDecision } from './ports/sitePlanner';
import type { TelemetryRow } from './ports/telemetrySink';
import type { SiteRuntime } from './siteRuntime';
import { DEFERRABLE_TRIGGERS, limitNewsOnly } from './triggers';

export interface SiteDecision {
  setpoints: SetpointMessage[];
  acks: AckMessage[];
  envelopes: FlexEnvelopeMessage[];
  telemetry: TelemetryRow[];
  sitePowerKw: number;
  siteLimitKw: number;
  fallback: boolean;
  solveMs: number;
  /** Which policy made it: a planner's name, `droop` or `clamp` (no re-plan), or the fallback. */
  solver: string;
}

export interface DecideContext {
  config: EvflexConfig;
  planner: SitePlanner;
  /** Monotonic timer for solve budgets (performance.now in service mode). */
  elapsedMs(): number;
  log(line: string): void;
  /**
   * Comply first, optimise next (service mode): a site whose only news is a tighter or looser
   * grid limit gets its last plan clamped into the new limits at once (solver `clamp`, no
   * re-plan), and the engine re-plans it right after as deferred work.
   */
  complyFirst?: boolean;
}

const EPS_KW = 1e-6;

/**
 * Turns a site's state into its complete setpoint set: plan, clamp every EVSE into the
 * node limits that hold over the whole validity window (the last safety net, whatever the
 * planner said), stamp versions and validity, and answer pending DSO/RM requests.
 */
export function decideSite(runtime: SiteRuntime, nowMs: number, ctx: DecideContext): SiteDecision {
  const index = runtime.index!;
  const { config } = ctx;
  const state = runtime.state;
  const validToMs = nowMs + Math.round(config.setpoints.validityS * 1000);
  const limits = effectiveNodeLimits(state, index, nowMs, validToMs);
  const trigger = [...runtime.triggers].sort().join('+') || 'timer';

  const started = ctx.elapsedMs();
  let decision: SlotDecision;
  const evseTotal = index.evseIds.length;
  // A re-plan still pending (the follow-up of an earlier clamp, an arrival) does not hold up the
  // clamp: it stays pending and the optimised plan covers it.
  const limitsOnly = ctx.complyFirst === true && limitNewsOnly(runtime.triggers);
  if ((trigger === 'frequency' || limitsOnly) && runtime.lastPlanKw?.length === evseTotal) {
    // The real-time layer: no re-plan, only the droop response on top of the last plan, and the
    // clamp into the limits below (which a tighter DSO limit is all it needs at first).
    decision = {
      evseKw: runtime.lastPlanKw,
      solver: trigger === 'frequency' ? 'droop' : 'clamp',
      objective: 0,
      energyCost: 0,
      shortfallKwh: 0,
      fallback: false,
    };
  } else {
    try {
      decision = ctx.planner.decide(runtime, nowMs, limits, trigger);
    } catch (error) {
      ctx.log(`EVFLEX_SOLVER_FAILED site=${state.siteId} planner=${ctx.planner.name} ${String(error)}`);
      decision = { ...placeholderPlanner.decide(runtime, nowMs, limits, trigger), fallback: true };
    }
  }
  const solveMs = ctx.elapsedMs() - started;
  if (!decision.fallback && solveMs > config.planner.solveBudgetMs && ctx.planner !== placeholderPlanner) {
    ctx.log(
      `EVFLEX_SOLVER_FAILED site=${state.siteId} overran ${solveMs.toFixed(1)} ms > ${config.planner.solveBudgetMs} ms`,
    );
    decision = { ...placeholderPlanner.decide(runtime, nowMs, limits, trigger), fallback: true };
  }
  runtime.lastPlanKw = decision.evseKw;
  const responseKw = droopResponse(state.lastFrequencyHz ?? config.frequency.nominalHz, config.frequency);
  runtime.frequencyResponseKw = responseKw;
  const wantedKw = applyFrequencyResponse(index, state, decision.evseKw, responseKw);

  const evseCount = index.evseIds.length;
  const chargeWant = new Float64Array(evseCount);
  const dischargeWant = new Float64Array(evseCount);
  for (let e = 0; e < evseCount; e++) {
    const kw = wantedKw[e];
    const session = state.evses[e].session;
    if (kw >= 0) chargeWant[e] = session ? Math.min(kw, session.maxChargeKw) : 0;
    else if (session?.v2gAllowed && index.v2gCapable[e] === 1)
      dischargeWant[e] = Math.min(-kw, session.maxDischargeKw);
  }
  applyActivationCap(runtime, nowMs, validToMs, limits.importKw, chargeWant);
  const charge = allocateWithinLimits(index, limits.importKw, chargeWant);
  const discharge = allocateWithinLimits(index, limits.exportKw, dischargeWant);
  // Fallback limits must be safe on their own, for as long as any known limit lasts.
  const lasting = effectiveNodeLimits(state, index, nowMs, Number.MAX_SAFE_INTEGER);
  const fallbackLimits = allocateWithinLimits(
    index,
    lasting.importKw,
    new Float64Array(evseCount).fill(config.setpoints.fallbackLimitKw),
  );

  const setId = `${state.siteId}:${nowMs}:${++runtime.decisionSeq}`;
  const byStation = new Map<string, EvseSetpoint[]>();
  for (let e = 0; e < evseCount; e++) {
    const evse = state.evses[e];
    const evseId = index.evseIds[e];
    const version = Math.max((state.versions[evseId] ?? 0) + 1, nowMs);
    state.versions[evseId] = version;
    const session = evse.session;
    const v2g = !!session?.v2gAllowed && index.v2gCapable[e] === 1;
    const setpoint: EvseSetpoint = {
      evseId,
      sessionId: session?.sessionId ?? null,
      version,
      operationMode: !session
        ? 'Idle'
        : responseKw !== 0
          ? 'CentralFrequency'
          : v2g
            ? 'CentralSetpoint'
            : 'ChargingOnly',
      limitKw: round3(charge[e]),
      dischargeLimitKw: round3(discharge[e]),
      setpointKw: round3(charge[e] - discharge[e]),
      fallbackLimitKw: round3(fallbackLimits[e]),
      validFromMs: nowMs,
      validToMs,
    };
    const list = byStation.get(index.stationIdOfEvse[e]) ?? [];
    list.push(setpoint);
    byStation.set(index.stationIdOfEvse[e], list);
  }
  const setpoints: SetpointMessage[] = [...byStation.entries()].map(([stationId, evses]) => ({
    messageId: `sp:${setId}:${stationId}`,
    source: config.instanceId,
    siteId: state.siteId,
    tsMs: nowMs,
    schemaVersion: SCHEMA_VERSION,
    kind: 'setpoints',
    stationId,
    setId,
    setSize: byStation.size,
    trigger,
    evses,
  }));

  const netKw = new Float64Array(evseCount);
  for (let e = 0; e < evseCount; e++) netKw[e] = round3(charge[e]) - round3(discharge[e]);
  const importSums = nodeSums(index, charge);
  const netSums = nodeSums(index, netKw);
  const acks = runtime.pendingAcks.map((pending): AckMessage => {
    const node = index.nodeIndexById.get(pending.nodeId) ?? 0;
    const achievedKw = round3(pending.requestTopic === 'rm.signals' ? netSums[node] : importSums[node]);
    const answer = (outcome: Parameters<typeof ackMessage>[4]) =>
      ackMessage(config.instanceId, state.siteId, pending, nowMs, { achievedKw, ...outcome });
    if (pending.requestKind === 'forecastRequest') {
      return decision.envelope
        ? answer({ status: 'accepted' })
        : answer({ status: 'rejected', reason: `planner ${decision.solver} keeps no forecast` });
    }
    if (pending.requestedImportKw === null) return answer({ status: 'accepted' });
    const requestedKw = pending.requestedImportKw;
    const active = pending.startMs <= nowMs && nowMs < pending.endMs;
    // For a future window the achievable value is the limit the plan will obey then.
    const promisedKw = active
      ? achievedKw
      : round3(effectiveNodeLimits(state, index, pending.startMs, pending.endMs).importKw[node]);
    if (promisedKw <= requestedKw + 1e-3)
      return answer({ requestedKw, achievedKw: promisedKw, status: 'accepted' });
    return answer({
      requestedKw,
      achievedKw: promisedKw,
      status: 'partial',
      reason: 'guaranteed minimum power per device keeps the node above the requested limit',
    });
  });
  const envelopes: FlexEnvelopeMessage[] = [];
  if (decision.envelope) {
    // IEC 63110-1 8.2.5 (at our initiative, once per clock slot) and 8.2.6 (on request).
    const slotMs = config.time.slotMinutes * 60_000;
    const clockSlotMs = Math.floor(nowMs / slotMs) * slotMs;
    const forecast = runtime.pendingAcks.find((p) => p.requestKind === 'forecastRequest');
    if (forecast || clockSlotMs !== runtime.lastEnvelopeSlotMs) {
      runtime.lastEnvelopeSlotMs = clockSlotMs;
      envelopes.push({
        messageId: `env:${setId}`,
        source: config.instanceId,
        siteId: state.siteId,
        tsMs: nowMs,
        schemaVersion: SCHEMA_VERSION,
        kind: 'flexEnvelope',
        nodeId: index.nodeIds[0],
        ...decision.envelope(),
        ...(forecast ? { requestId: forecast.requestId } : {}),
      });
    }
  }
  runtime.pendingAcks = [];
  if (decision.solver === 'clamp') {
    // Comply first: what waits for the optimised plan stays, and keeps waiting since it first did.
    for (const t of runtime.triggers) if (!DEFERRABLE_TRIGGERS.has(t)) runtime.triggers.delete(t);
  } else runtime.triggers.clear();
  if (runtime.triggers.size === 0) runtime.firstTriggerMs = -1;
  runtime.lastDecisionMs = nowMs;

  const sitePowerKw = netSums[0];
  const telemetry: TelemetryRow[] = [
    {
      table: 'decisions',
      tsMs: nowMs,
      siteId: state.siteId,
      decisionId: setId,
      trigger,
      solver: decision.solver,
      solveMs,
      objective: decision.objective,
      energyCost: decision.energyCost,
      shortfallKwh: decision.shortfallKwh,
      sitePowerKw,
      siteLimitKw: limits.importKw[0],
      fallback: decision.fallback ? 1 : 0,
    },
  ];
  for (const message of setpoints) {
    for (const sp of message.evses) {
      telemetry.push({
        table: 'setpoints',
        tsMs: nowMs,
        siteId: state.siteId,
        stationId: message.stationId,
        evseId: sp.evseId,
        sessionId: sp.sessionId ?? '',
        version: sp.version,
        limitKw: sp.limitKw,
        setpointKw: sp.setpointKw,
        validFromMs: sp.validFromMs,
        validToMs: sp.validToMs,
      });
    }
  }
  for (const ack of acks) {
    telemetry.push({
      table: 'acks',
      tsMs: nowMs,
      siteId: state.siteId,
      requestId: ack.requestId,
      requestTopic: ack.requestTopic,
      status: ack.status,
      requestedKw: ack.requestedKw ?? 0,
      achievedKw: ack.achievedKw ?? 0,
      reason: ack.reason ?? '',
    });
  }
  return {
    setpoints,
    acks,
    envelopes,
    telemetry,
    sitePowerKw,
    siteLimitKw: limits.importKw[0],
    fallback: decision.fallback,
    solveMs,
    solver: decision.solver,
  };
}

/**
 * An RM activation asking the site to consume `deltaKw` less (negative delta) lowers the
 * site's import for its window below what the EVs would otherwise draw.
 */
function applyActivationCap(
  runtime: SiteRuntime,
  nowMs: number,
  validToMs: number,
  importKw: Float64Array,
  chargeWant: Float64Array,
): void {
  let deltaKw = 0;
  for (const a of runtime.state.activations) {
    if (a.startMs < validToMs && a.endMs > nowMs && a.deltaKw < 0) deltaKw = Math.min(deltaKw, a.deltaKw);
  }
  if (deltaKw === 0) return;
  const unconstrained = allocateWithinLimits(runtime.index!, importKw, chargeWant);
  let totalKw = 0;
  for (const kw of unconstrained) totalKw += kw;
  importKw[0] = Math.min(importKw[0], Math.max(0, totalKw + deltaKw));
}

/** Rounding to watts; limits round down so rounding can never push a sum over a limit. */
function round3(kw: number): number {
  return Math.floor(kw * 1000 + EPS_KW) / 1000;
}
