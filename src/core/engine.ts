import { map, type Observable, Subject, share } from 'rxjs';
import { SCHEMA_VERSION } from '../../models/messageHeader';
import type { SiteState, StateSnapshotMessage } from '../../models/stateSnapshot';
import type { EvflexConfig } from '../config/configSchema';
import { ackMessage } from './ackMessage';
import { applyMessage, pruneExpired } from './applyMessage';
import { deadLetterRecord } from './deadLetterRecord';
import { type DecideContext, decideSite, type SiteDecision } from './decideSite';
import { droopResponse } from './droopResponse';
import { fastSchemaCheck } from './fastSchemaCheck';
import { offsetBefore } from './offsetBefore';
import type { Clock } from './ports/clock';
import type { MessageBus } from './ports/messageBus';
import type { InboundRecord, OutboundRecord } from './ports/records';
import type { SitePlanner } from './ports/sitePlanner';
import type { TelemetryRow, TelemetrySink } from './ports/telemetrySink';
import {
  emptySiteState,
  type PendingAck,
  rememberMessageId,
  type SiteRuntime,
  siteRuntimeFromState,
} from './siteRuntime';
import { COALESCED_TRIGGERS, DEFERRABLE_TRIGGERS } from './triggers';
import { type Validated, validateRecord } from './validateRecord';

/** A partition's last word on its backlog counts this long (partitions alternate; a silent one is not being read). */
const BACKLOG_MEMORY_MS = 1_000;

export interface EngineDeps {
  config: EvflexConfig;
  clock: Clock;
  bus: MessageBus;
  planner: SitePlanner;
  telemetry?: TelemetrySink | null;
  /**
   * Publish every site's snapshot on the timer (default true). Kafka service mode turns it
   * off: it checkpoints snapshots itself, in slices, together with the committed offsets.
   */
  periodicSnapshots?: boolean;
  /** Monotonic time for measuring solves; defaults to performance.now. */
  elapsedMs?: () => number;
  /**
   * Runs `run` after `delayMs` of real time (service mode: setTimeout). With it, deferrable
   * re-plans wait for quiet input and run in slices (`planner.defer*`); without it (embedded,
   * virtual time) they are decided in the unit of work that finds them due, deterministically.
   */
  schedule?: (delayMs: number, run: () => void) => void;
  log?: (line: string) => void;
}

export interface EngineStats {
  recordsIn: number;
  accepted: number;
  deadLetters: Record<string, number>;
  decisions: number;
  fallbacks: number;
  setpointMessages: number;
  acks: number;
  maxSolveMs: number;
  /** Sites waiting for a deferred re-plan right now. */
  deferredSites: number;
}

/** Counters of an engine that has done nothing yet. */
export function emptyEngineStats(): EngineStats {
  return {
    recordsIn: 0,
    accepted: 0,
    deadLetters: {},
    decisions: 0,
    fallbacks: 0,
    setpointMessages: 0,
    acks: 0,
    maxSolveMs: 0,
    deferredSites: 0,
  };
}

/** What one unit of work produced, for observers such as the demo and tests. */
export interface EngineOutput {
  nowMs: number;
  records: OutboundRecord[];
  decisions: { siteId: string; decision: SiteDecision }[];
}

export interface Engine {
  /** Runs a batch of input records through the pipeline; resolves once outputs are published. */
  /**
   * Applies a batch of input. `behindRecords`: how many records of its partition were still
   * unread when it was fetched (a bus that knows it); a backlog is read before it is planned on.
   */
  handleBatch(records: InboundRecord[], behindRecords?: number): Promise<void>;
  /** Timer work: re-plan sites whose plan is due, prune expired limits, publish snapshots. */
  tick(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Adopt sites' state (recovery or reassignment); versions continue from it. */
  restore(states: Iterable<SiteState>): void;
  /** Hand sites over (partition revoked): returns their final snapshots, forgets them. */
  release(siteIds: Iterable<string>): OutboundRecord[];
  snapshotRecords(siteIds?: Iterable<string>): OutboundRecord[];
  sites(): ReadonlyMap<string, SiteRuntime>;
  stats(): EngineStats;
  readonly outputs$: Observable<EngineOutput>;
}

interface Work {
  /** `plan`: a slice of deferred re-plans the engine scheduled for itself. */
  kind: 'batch' | 'tick' | 'plan';
  records: InboundRecord[];
  /** Records of the batch's partition still unread when it was fetched (when the bus knows). */
  behindRecords?: number;
  nowMs: number;
  resolve(): void;
  reject(error: unknown): void;
}

/**
 * The engine: validate → route by site → apply → decide → emit, as one rxjs pipeline
 * over units of work (input batches and timer ticks), processed strictly in order.
 * It talks to the world only through ports (bus, telemetry, clock, planner).
 */
/** The messageId of a held record (it was valid when held), for its dead letter. */
function parseHeader(value: string): string | null {
  try {
    const id = (JSON.parse(value) as { messageId?: unknown }).messageId;
    return typeof id === 'string' ? id : null;
  } catch {
    return null;
  }
}

/** The position after a decimal offset; plain numbers below 2^53 (the common case), BigInt beyond. */
function nextOffset(offset: string): string {
  return offset.length < 16 ? String(Number(offset) + 1) : (BigInt(offset) + 1n).toString();
}

export function createEngine(deps: EngineDeps): Engine {
  const { config, clock, bus, planner } = deps;
  const telemetry = deps.telemetry ?? null;
  const log = deps.log ?? ((line: string) => console.error(line));
  const elapsedMs = deps.elapsedMs ?? (() => performance.now());
  const sites = new Map<string, SiteRuntime>();
  for (const topology of config.sites) {
    const runtime = siteRuntimeFromState(emptySiteState(topology.siteId, clock.nowMs()));
    applyMessage(
      runtime,
      {
        kind: 'topology',
        topology,
        siteId: topology.siteId,
        messageId: `config:${topology.siteId}`,
        source: 'config',
        tsMs: 0,
        schemaVersion: SCHEMA_VERSION,
      },
      'config',
    );
    sites.set(topology.siteId, runtime);
  }
  const stats = emptyEngineStats();
  const decideCtx: DecideContext = {
    config,
    planner,
    elapsedMs,
    log,
    complyFirst: deps.schedule !== undefined,
  };
  let lastSnapshotMs = clock.nowMs();

  const record = (row: TelemetryRow) => telemetry?.record(row);

  /** One context for every record (the hot path allocates nothing per record here); `nowMs` per unit. */
  const ingress = {
    config,
    nowMs: 0,
    fastCheck: fastSchemaCheck(),
    hasTopology: (siteId: string) => sites.get(siteId)?.index != null,
    isDuplicate: (siteId: string, messageId: string) => sites.get(siteId)?.seenIds.has(messageId) ?? false,
  };

  /** `topic:partition`, the key of a site's input positions; built once per partition, not per record. */
  const offsetKeys = new Map<string, string[]>();
  const offsetKey = (topic: string, partition: number): string => {
    let keys = offsetKeys.get(topic);
    if (!keys) {
      keys = [];
      offsetKeys.set(topic, keys);
    }
    keys[partition] ??= `${topic}:${partition}`;
    return keys[partition];
  };

  /**
   * The site's state reflects its input up to this record: its position moves past it, and only
   * forwards. Held input is applied when the topology comes, after records further on (the
   * topology's among them): going back to a held record's position would make a restart replay,
   * and refuse as duplicates, records the state already holds.
   */
  const advanceInputOffset = (runtime: SiteRuntime, record: InboundRecord) => {
    const key = offsetKey(record.topic, record.partition);
    const next = nextOffset(record.offset);
    const current = runtime.state.inputOffsets[key];
    if (current === undefined || offsetBefore(current, next)) runtime.state.inputOffsets[key] = next;
  };

  /** Route by site and fold into its state; refusals (dead letters, rejected acks) go to `out`. */
  const routeAndApply = (v: Validated, nowMs: number, out: OutboundRecord[], replay = false): void => {
    if (!replay) stats.recordsIn++;
    if (!v.ok) {
      out.push(refuse(v, nowMs));
      return;
    }
    const message = v.message;
    let runtime = sites.get(message.siteId);
    if (!runtime) {
      runtime = siteRuntimeFromState(emptySiteState(message.siteId, nowMs));
      sites.set(message.siteId, runtime);
    }
    if (v.awaitsTopology) {
      holdForTopology(runtime, v, nowMs, out);
      return;
    }
    rememberMessageId(
      runtime,
      message.messageId,
      message.tsMs,
      config.ingress.dedupeWindow,
      nowMs - config.ingress.maxMessageAgeS * 1000,
    );
    advanceInputOffset(runtime, v.record);
    recordInput(v, nowMs);
    const result = applyMessage(runtime, message, v.record.topic);
    if (result.ok) {
      stats.accepted++;
      if (message.kind === 'frequency') watchFrequency(runtime);
      else if (message.kind === 'topology' && runtime.state.awaitingTopology.length > 0)
        applyHeld(runtime, nowMs, out);
      return;
    }
    out.push(
      refuse(
        {
          ok: false,
          record: v.record,
          code: result.code,
          reason: result.reason,
          siteId: message.siteId,
          messageId: message.messageId,
        },
        nowMs,
      ),
    );
    if (result.ack) out.push(rejectedAck(message.siteId, result.ack, result.reason, nowMs));
  };

  /**
   * Input for a site with no topology yet is held in the site's state (snapshotted with it), in
   * arrival order, bounded per site and in all; it is applied once the topology comes, or
   * dead-lettered after `ingress.awaitTopologyS`. A DSO limit read before the topology (topics
   * are consumed in no fixed order across each other) is then obeyed, not lost.
   */
  let heldTotal = 0;
  const holdForTopology = (
    runtime: SiteRuntime,
    v: Extract<Validated, { ok: true }>,
    nowMs: number,
    out: OutboundRecord[],
  ) => {
    const { awaitTopologyS, maxAwaitingPerSite, maxAwaitingTotal } = config.ingress;
    const held = runtime.state.awaitingTopology;
    if (awaitTopologyS <= 0 || held.length >= maxAwaitingPerSite || heldTotal >= maxAwaitingTotal) {
      out.push(unknownSite(v.record, v.message.siteId, v.message.messageId, 'has no topology', nowMs));
      if (!runtime.index && held.length === 0) sites.delete(runtime.state.siteId);
      return;
    }
    held.push({ ...v.record });
    heldTotal++;
    advanceInputOffset(runtime, v.record);
  };

  const applyHeld = (runtime: SiteRuntime, nowMs: number, out: OutboundRecord[]) => {
    const held = runtime.state.awaitingTopology;
    runtime.state.awaitingTopology = [];
    heldTotal -= held.length;
    for (const r of held) routeAndApply(validateRecord(r as InboundRecord, ingress), nowMs, out, true);
  };

  /** On ticks: what waited too long for its topology is dead-lettered, and the empty site forgotten. */
  const expireHeld = (runtime: SiteRuntime, nowMs: number, out: OutboundRecord[]) => {
    const held = runtime.state.awaitingTopology;
    const waitMs = config.ingress.awaitTopologyS * 1000;
    let expired = 0;
    while (expired < held.length && nowMs - (held[expired] as InboundRecord).receivedMs >= waitMs) expired++;
    if (expired === 0) return;
    for (const r of held.splice(0, expired)) {
      const header = parseHeader(r.value);
      out.push(
        unknownSite(
          r as InboundRecord,
          runtime.state.siteId,
          header,
          `sent no topology within ${config.ingress.awaitTopologyS} s`,
          nowMs,
        ),
      );
    }
    heldTotal -= expired;
    if (held.length === 0) sites.delete(runtime.state.siteId);
  };

  const unknownSite = (
    record: InboundRecord,
    siteId: string,
    messageId: string | null,
    why: string,
    nowMs: number,
  ): OutboundRecord =>
    refuse(
      { ok: false, record, code: 'EVFLEX_UNKNOWN_SITE', reason: `site ${siteId} ${why}`, siteId, messageId },
      nowMs,
    );

  /** Re-decide at once when the droop response moved enough to matter (the real-time layer). */
  const reserveKw = Math.max(config.frequency.reservedUpKw, config.frequency.reservedDownKw);
  const responseStepKw = Math.max(0.5, 0.02 * reserveKw);
  const watchFrequency = (runtime: SiteRuntime) => {
    if (reserveKw <= 0 || !runtime.index) return;
    const responseKw = droopResponse(runtime.state.lastFrequencyHz!, config.frequency);
    const moved = Math.abs(responseKw - runtime.frequencyResponseKw);
    if (moved >= responseStepKw || (responseKw === 0 && runtime.frequencyResponseKw !== 0))
      runtime.triggers.add('frequency');
  };

  const refuse = (v: Extract<Validated, { ok: false }>, nowMs: number): OutboundRecord => {
    stats.deadLetters[v.code] = (stats.deadLetters[v.code] ?? 0) + 1;
    const { record: out, row } = deadLetterRecord(v, nowMs);
    log(`${v.code} topic=${v.record.topic} offset=${v.record.offset} site=${v.siteId ?? '-'} ${v.reason}`);
    record(row);
    return out;
  };

  const rejectedAck = (
    siteId: string,
    pending: PendingAck,
    reason: string,
    nowMs: number,
  ): OutboundRecord => {
    stats.acks++;
    const ack = ackMessage(config.instanceId, siteId, pending, nowMs, { status: 'rejected', reason });
    return { topic: 'acks', key: siteId, value: JSON.stringify(ack) };
  };

  const recordInput = (v: Extract<Validated, { ok: true }>, nowMs: number) => {
    if (!telemetry) return;
    const m = v.message;
    if (m.kind === 'frequency') {
      record({ table: 'frequency', tsMs: m.tsMs, siteId: m.siteId, meterId: m.meterId, hz: m.hz });
      return;
    }
    if (m.kind === 'meterValues') {
      for (const r of m.evses)
        record({
          table: 'meter_values',
          tsMs: m.tsMs,
          siteId: m.siteId,
          evseId: r.evseId,
          powerKw: r.powerKw,
        });
      if (m.sitePowerKw !== undefined)
        record({ table: 'meter_values', tsMs: m.tsMs, siteId: m.siteId, evseId: '', powerKw: m.sitePowerKw });
    }
    record({
      table: 'inputs',
      tsMs: nowMs,
      siteId: m.siteId,
      topic: v.record.topic,
      kind: m.kind,
      messageId: m.messageId,
      source: m.source,
      payload: v.record.value,
    });
  };

  /** Decide every site that has a reason to; on ticks also those whose plan is due. */
  const decideDue = (work: Work): EngineOutput => {
    const out: EngineOutput = { nowMs: work.nowMs, records: [], decisions: [] };
    const replanMs = config.planner.replanIntervalS * 1000;
    for (const runtime of sites.values()) {
      if (!runtime.index) {
        if (work.kind === 'tick' && runtime.state.awaitingTopology.length > 0)
          expireHeld(runtime, work.nowMs, out.records);
        continue;
      }
      if (work.kind === 'tick') {
        pruneExpired(runtime, work.nowMs);
        if (work.nowMs - runtime.lastDecisionMs >= replanMs) runtime.triggers.add('timer');
      }
      if (runtime.triggers.size === 0 && runtime.pendingAcks.length === 0) continue;
      if (isUrgent(runtime)) {
        decide(runtime, work.nowMs, out);
        continue;
      }
      if (runtime.firstTriggerMs < 0) runtime.firstTriggerMs = work.nowMs;
      deferred.add(runtime.state.siteId);
    }
    decideDeferred(work, out);
    stats.deferredSites = deferred.size;
    if (
      work.kind === 'tick' &&
      deps.periodicSnapshots !== false &&
      work.nowMs - lastSnapshotMs >= config.state.snapshotIntervalS * 1000
    ) {
      lastSnapshotMs = work.nowMs;
      out.records.push(...snapshotRecords());
    }
    return out;
  };

  const decide = (runtime: SiteRuntime, nowMs: number, out: EngineOutput) => {
    deferred.delete(runtime.state.siteId);
    const decision = decideSite(runtime, nowMs, decideCtx);
    stats.decisions++;
    if (decision.fallback) stats.fallbacks++;
    stats.maxSolveMs = Math.max(stats.maxSolveMs, decision.solveMs);
    stats.setpointMessages += decision.setpoints.length;
    stats.acks += decision.acks.length;
    for (const m of decision.setpoints)
      out.records.push({ topic: 'setpoints', key: m.stationId, value: JSON.stringify(m) });
    for (const a of decision.acks)
      out.records.push({ topic: 'acks', key: a.siteId, value: JSON.stringify(a) });
    for (const env of decision.envelopes)
      out.records.push({ topic: 'flex.envelopes', key: env.siteId, value: JSON.stringify(env) });
    for (const row of decision.telemetry) record(row);
    out.decisions.push({ siteId: runtime.state.siteId, decision });
    if (decision.solver === 'clamp') {
      // Complied at once with the last plan clamped; the optimised plan follows as deferred work.
      runtime.triggers.add('replan');
      if (runtime.firstTriggerMs < 0) runtime.firstTriggerMs = nowMs;
      deferred.add(runtime.state.siteId);
    }
  };

  /** A request waits for its ack, or a trigger may have tightened a limit: decide now. */
  const isUrgent = (runtime: SiteRuntime): boolean => {
    if (runtime.pendingAcks.length > 0) return true;
    for (const trigger of runtime.triggers) if (!DEFERRABLE_TRIGGERS.has(trigger)) return true;
    return false;
  };

  /**
   * Sites waiting for a re-plan nothing urgent depends on, oldest first. Fleet-event bursts are
   * coalesced for `planner.coalesceMs`. In service mode (a scheduler is injected) they also wait
   * for input to go quiet (a backlog is read before it is planned on) up to `deferMaxMs`, and
   * run in slices of `deferSliceMs`, each its own unit of work, so input queued meanwhile (a DSO
   * limit) is never held up by more than one slice.
   */
  const deferred = new Set<string>();
  const schedule = deps.schedule;
  let lastInputAtMs = Number.NEGATIVE_INFINITY;
  /** Per `topic:partition`, what its last batch left unread, and when (the engine's elapsed time). */
  const behindByPartition = new Map<string, { behindRecords: number; atMs: number }>();
  /**
   * A partition is still being read through a backlog: its last batch left more than
   * `backlogRecords` unread, and came within BACKLOG_MEMORY_MS (one that went silent is not
   * being read: revoked, or the broker is gone).
   */
  const readingBacklog = (nowMs: number, backlogRecords: number): boolean => {
    for (const { behindRecords, atMs } of behindByPartition.values())
      if (behindRecords > backlogRecords && nowMs - atMs < BACKLOG_MEMORY_MS) return true;
    return false;
  };
  /** The last unit with input was live traffic: small, and nothing of its partition left unread. */
  let lastInputLive = false;
  let wakeArmed = false;

  const decideDeferred = (work: Work, out: EngineOutput) => {
    if (!schedule && deferred.size === 0) return;
    const { coalesceMs, deferQuietMs, deferSliceMs, backlogRecords } = config.planner;
    const startedMs = elapsedMs();
    // Input and backlog are noted on every unit, also while nothing waits: a re-plan deferred
    // by the next unit must still know the input was not quiet, or the engine behind.
    if (work.records.length > 0) {
      lastInputAtMs = startedMs;
      lastInputLive = work.behindRecords === 0 && work.records.length <= backlogRecords;
    }
    const first = work.records[0];
    if (first && work.behindRecords !== undefined)
      behindByPartition.set(offsetKey(first.topic, first.partition), {
        behindRecords: work.behindRecords,
        atMs: startedMs,
      });
    if (deferred.size === 0) return;
    // Reading a backlog (a restart, a rebalance, a burst the engine is behind on): what it
    // plans now the rest of the backlog would make stale.
    const backlog = readingBacklog(startedMs, backlogRecords);
    // Live traffic is not a backlog: when the last input came in a small unit with nothing of its
    // partition left unread (the bus knows: Kafka's high watermark), nothing waits to be read
    // first. Waiting for quiet then only piles re-plans up until the first gap in the traffic, and
    // a pile released at once is a burst of setpoints that crowds the latency path out.
    const live = lastInputLive && !backlog;
    // While a partition is behind, a gap in the input is the next fetch on its way, not quiet.
    const quiet = !schedule || live || (startedMs - lastInputAtMs >= deferQuietMs && !backlog);
    // A site decided urgently in this unit (a clamp) gets its follow-up in a later unit, so the
    // urgent setpoints go to the bus without waiting for the optimised plan.
    const decidedNow =
      schedule && out.decisions.length > 0 ? new Set(out.decisions.map((d) => d.siteId)) : null;
    const deferMaxMs = schedule && backlog ? config.planner.deferMaxBacklogMs : config.planner.deferMaxMs;
    let waitMs = Number.POSITIVE_INFINITY;
    for (const siteId of deferred) {
      const runtime = sites.get(siteId);
      if (!runtime?.index || (runtime.triggers.size === 0 && runtime.pendingAcks.length === 0)) {
        deferred.delete(siteId);
        continue;
      }
      const ageMs = work.nowMs - runtime.firstTriggerMs;
      const coalescing = coalesceMs > 0 && onlyCoalesced(runtime) ? coalesceMs - ageMs : 0;
      const holdMs = Math.max(coalescing, quiet ? 0 : Math.min(deferQuietMs, deferMaxMs - ageMs));
      if (holdMs > 0 || decidedNow?.has(siteId)) {
        waitMs = Math.min(waitMs, Math.max(0, holdMs));
        continue;
      }
      if (schedule && out.decisions.length > 0 && elapsedMs() - startedMs >= deferSliceMs) {
        waitMs = 0;
        break;
      }
      decide(runtime, work.nowMs, out);
    }
    if (deferred.size > 0 && Number.isFinite(waitMs)) wake(waitMs);
  };

  /** Schedules one unit of deferred planning (at most one is pending at a time). */
  const wake = (delayMs: number) => {
    if (!schedule || wakeArmed || stopped) return;
    wakeArmed = true;
    schedule(Math.max(0, delayMs), () => {
      wakeArmed = false;
      if (stopped) return;
      submit('plan', []).catch((error: unknown) => log(`deferred re-plan failed: ${String(error)}`));
    });
  };
  let stopped = false;

  const onlyCoalesced = (runtime: SiteRuntime): boolean => {
    for (const trigger of runtime.triggers) if (!COALESCED_TRIGGERS.has(trigger)) return false;
    return true;
  };

  const work$ = new Subject<Work>();
  const outputs$ = new Subject<EngineOutput>();
  const pipeline$ = work$.pipe(
    // validate → route by site → apply, record by record (a plain loop: this is the hot path),
    map((work) => {
      const refusals: OutboundRecord[] = [];
      ingress.nowMs = work.nowMs;
      for (const r of work.records) routeAndApply(validateRecord(r, ingress), work.nowMs, refusals);
      return { work, refusals };
    }),
    // → decide every site that has a reason to → emit.
    map(({ work, refusals }) => {
      const out = decideDue(work);
      out.records.unshift(...refusals);
      return { work, out };
    }),
    // Publishing is pipelined: a unit's records go to the bus as soon as they are decided, not
    // after the previous unit's were acked (the bus keeps them in order on the wire), so a DSO
    // limit's setpoints never queue behind another unit's broker round trip. Units still
    // complete, and are observed, in order.
    map(({ work, out }) => {
      const published = out.records.length > 0 ? bus.publish(out.records) : Promise.resolve();
      // Handled below once the units before it completed; marked handled now so a failure
      // meanwhile is not an unhandled rejection.
      published.catch(() => {});
      completed = completed.then(() =>
        published.then(
          () => {
            outputs$.next(out);
            work.resolve();
          },
          (error: unknown) => work.reject(error),
        ),
      );
    }),
    share(),
  );
  let completed: Promise<void> = Promise.resolve();
  const subscription = pipeline$.subscribe({
    error: (error) => log(`engine pipeline stopped: ${String(error)}`),
  });

  const submit = (kind: Work['kind'], records: InboundRecord[], behindRecords?: number) =>
    new Promise<void>((resolve, reject) =>
      work$.next({ kind, records, behindRecords, nowMs: clock.nowMs(), resolve, reject }),
    );

  /** Versions last sent per EVSE of sites this engine released, for when one comes back (see restore). */
  const releasedVersions = new Map<string, Record<string, number>>();

  function snapshotRecords(siteIds?: Iterable<string>): OutboundRecord[] {
    const ids = siteIds ? [...siteIds] : [...sites.keys()];
    const out: OutboundRecord[] = [];
    for (const siteId of ids) {
      const runtime = sites.get(siteId);
      if (!runtime) continue;
      const message: StateSnapshotMessage = {
        messageId: `snap:${siteId}:${clock.nowMs()}`,
        source: config.instanceId,
        siteId,
        tsMs: clock.nowMs(),
        schemaVersion: SCHEMA_VERSION,
        kind: 'stateSnapshot',
        state: runtime.state,
      };
      out.push({ topic: 'state.snapshots', key: siteId, value: JSON.stringify(message) });
    }
    return out;
  }

  return {
    handleBatch: (records, behindRecords) => submit('batch', records, behindRecords),
    tick: () => submit('tick', []),
    start: () =>
      bus.start({
        onBatch: (records) => submit('batch', records),
      }),
    stop: async () => {
      await bus.stop();
      stopped = true;
      subscription.unsubscribe();
      outputs$.complete();
      // Telemetry last: whatever the final batch recorded still gets its chance to land.
      await telemetry?.close();
    },
    restore(states) {
      for (const state of states) {
        const runtime = siteRuntimeFromState(structuredClone(state));
        const existing = sites.get(state.siteId);
        heldTotal += runtime.state.awaitingTopology.length - (existing?.state.awaitingTopology.length ?? 0);
        // Never let versions go backwards when a snapshot is older than what we emitted: for a
        // site held now, or one released earlier (a partition lost without a snapshot and handed
        // back loads the last checkpoint, older than the versions sent since).
        const emitted = existing?.state.versions ?? releasedVersions.get(state.siteId);
        releasedVersions.delete(state.siteId);
        if (emitted)
          for (const [evseId, v] of Object.entries(emitted))
            runtime.state.versions[evseId] = Math.max(v, runtime.state.versions[evseId] ?? 0);
        runtime.triggers.add('restore');
        sites.set(state.siteId, runtime);
      }
      // Decided once the partitions' backlog has been read: the restore counts as input.
      lastInputAtMs = elapsedMs();
      wake(config.planner.deferQuietMs);
    },
    release(siteIds) {
      const ids = [...siteIds];
      const records = snapshotRecords(ids);
      for (const id of ids) {
        const runtime = sites.get(id);
        if (!runtime) continue;
        heldTotal -= runtime.state.awaitingTopology.length;
        releasedVersions.set(id, runtime.state.versions);
        sites.delete(id);
      }
      return records;
    },
    snapshotRecords,
    sites: () => sites,
    stats: () => stats,
    outputs$: outputs$.asObservable(),
  };
}
