import { concatMap, map, type Observable, Subject, share } from 'rxjs';
import { SCHEMA_VERSION } from '../../models/messageHeader';
import type { SiteState, StateSnapshotMessage } from '../../models/stateSnapshot';
import type { EvflexConfig } from '../config/configSchema';
import { ackMessage } from './ackMessage';
import { applyMessage, pruneExpired } from './applyMessage';
import { deadLetterRecord } from './deadLetterRecord';
import { type DecideContext, decideSite, type SiteDecision } from './decideSite';
import { droopResponse } from './droopResponse';
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
import { type Validated, validateRecord } from './validateRecord';

const COALESCED_TRIGGERS = new Set(['arrival', 'departure', 'evUpdate', 'prices']);

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
}

/** What one unit of work produced, for observers such as the demo and tests. */
export interface EngineOutput {
  nowMs: number;
  records: OutboundRecord[];
  decisions: { siteId: string; decision: SiteDecision }[];
}

export interface Engine {
  /** Runs a batch of input records through the pipeline; resolves once outputs are published. */
  handleBatch(records: InboundRecord[]): Promise<void>;
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
  kind: 'batch' | 'tick';
  records: InboundRecord[];
  nowMs: number;
  resolve(): void;
  reject(error: unknown): void;
}

/**
 * The engine: validate → route by site → apply → decide → emit, as one rxjs pipeline
 * over units of work (input batches and timer ticks), processed strictly in order.
 * It talks to the world only through ports (bus, telemetry, clock, planner).
 */
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
  const stats: EngineStats = {
    recordsIn: 0,
    accepted: 0,
    deadLetters: {},
    decisions: 0,
    fallbacks: 0,
    setpointMessages: 0,
    acks: 0,
    maxSolveMs: 0,
  };
  const decideCtx: DecideContext = { config, planner, elapsedMs, log };
  let lastSnapshotMs = clock.nowMs();

  const record = (row: TelemetryRow) => telemetry?.record(row);

  const validate = (r: InboundRecord, nowMs: number): Validated =>
    validateRecord(r, {
      config,
      nowMs,
      hasTopology: (siteId) => sites.get(siteId)?.index != null,
      isDuplicate: (siteId, messageId) => sites.get(siteId)?.seenIds.has(messageId) ?? false,
    });

  /** Route by site and fold into its state; refusals (dead letters, rejected acks) go to `out`. */
  const routeAndApply = (v: Validated, nowMs: number, out: OutboundRecord[]): void => {
    stats.recordsIn++;
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
    rememberMessageId(
      runtime,
      message.messageId,
      message.tsMs,
      config.ingress.dedupeWindow,
      nowMs - config.ingress.maxMessageAgeS * 1000,
    );
    runtime.state.inputOffsets[`${v.record.topic}:${v.record.partition}`] = (
      BigInt(v.record.offset) + 1n
    ).toString();
    recordInput(v, nowMs);
    const result = applyMessage(runtime, message, v.record.topic);
    if (result.ok) {
      stats.accepted++;
      if (message.kind === 'frequency') watchFrequency(runtime);
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
      if (!runtime.index) continue;
      if (work.kind === 'tick') {
        pruneExpired(runtime, work.nowMs);
        if (work.nowMs - runtime.lastDecisionMs >= replanMs) runtime.triggers.add('timer');
      }
      if (runtime.triggers.size === 0 && runtime.pendingAcks.length === 0) continue;
      if (!dueNow(runtime, work.nowMs)) continue;
      const decision = decideSite(runtime, work.nowMs, decideCtx);
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
    }
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

  /**
   * Bursts of fleet events (arrivals, departures, EV updates) are coalesced for
   * `planner.coalesceMs` after the first one; grid and market requests are decided at once.
   */
  const dueNow = (runtime: SiteRuntime, nowMs: number): boolean => {
    const windowMs = config.planner.coalesceMs;
    if (windowMs <= 0 || runtime.pendingAcks.length > 0) return true;
    for (const trigger of runtime.triggers) if (!COALESCED_TRIGGERS.has(trigger)) return true;
    if (runtime.firstTriggerMs < 0) runtime.firstTriggerMs = nowMs;
    return nowMs - runtime.firstTriggerMs >= windowMs;
  };

  const work$ = new Subject<Work>();
  const outputs$ = new Subject<EngineOutput>();
  const pipeline$ = work$.pipe(
    // validate → route by site → apply, record by record (a plain loop: this is the hot path),
    map((work) => {
      const refusals: OutboundRecord[] = [];
      for (const r of work.records) routeAndApply(validate(r, work.nowMs), work.nowMs, refusals);
      return { work, refusals };
    }),
    // → decide every site that has a reason to → emit.
    map(({ work, refusals }) => {
      const out = decideDue(work);
      out.records.unshift(...refusals);
      return { work, out };
    }),
    concatMap(async ({ work, out }) => {
      try {
        if (out.records.length > 0) await bus.publish(out.records);
        outputs$.next(out);
        work.resolve();
      } catch (error) {
        work.reject(error);
      }
    }),
    share(),
  );
  const subscription = pipeline$.subscribe({
    error: (error) => log(`engine pipeline stopped: ${String(error)}`),
  });

  const submit = (kind: Work['kind'], records: InboundRecord[]) =>
    new Promise<void>((resolve, reject) =>
      work$.next({ kind, records, nowMs: clock.nowMs(), resolve, reject }),
    );

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
    handleBatch: (records) => submit('batch', records),
    tick: () => submit('tick', []),
    start: () =>
      bus.start({
        onBatch: (records) => submit('batch', records),
      }),
    stop: async () => {
      await bus.stop();
      subscription.unsubscribe();
      outputs$.complete();
      // Telemetry last: whatever the final batch recorded still gets its chance to land.
      await telemetry?.close();
    },
    restore(states) {
      for (const state of states) {
        const runtime = siteRuntimeFromState(structuredClone(state));
        const existing = sites.get(state.siteId);
        if (existing) {
          // Never let versions go backwards when a snapshot is older than what we emitted.
          for (const [evseId, v] of Object.entries(existing.state.versions))
            runtime.state.versions[evseId] = Math.max(v, runtime.state.versions[evseId] ?? 0);
        }
        runtime.triggers.add('restore');
        sites.set(state.siteId, runtime);
      }
    },
    release(siteIds) {
      const ids = [...siteIds];
      const records = snapshotRecords(ids);
      for (const id of ids) sites.delete(id);
      return records;
    },
    snapshotRecords,
    sites: () => sites,
    stats: () => stats,
    outputs$: outputs$.asObservable(),
  };
}
