import type { EvseStateMessage } from '../../../models/fleetState';
import type { PowerVariationMessage } from '../../../models/powerVariation';
import type { DemandResponse, PriceCurve } from '../../../models/rmSignal';
import type { SetpointMessage } from '../../../models/setpoint';
import type { SiteState } from '../../../models/stateSnapshot';
import { MemoryBus } from '../../adapters/memory/memoryBus';
import type { EvflexConfig } from '../../config/configSchema';
import { parseConfig } from '../../config/loadConfig';
import { effectiveNodeLimits } from '../../core/effectiveNodeLimits';
import { nodeSums } from '../../core/nodeSums';
import { emptySiteState } from '../../core/siteRuntime';
import { buildTopologyIndex } from '../../core/topologyIndex';
import { VirtualClock } from '../../core/virtualClock';
import type { DemoReportData } from '../../report/demoReportData';
import { downsampleMinMax } from '../../report/downsampleMinMax';
import { simulatedBadInputs } from '../../simulator/badInputs';
import { serializeInputs } from '../../simulator/serializeInputs';
import { SIMULATION_SOURCES, simulateDay } from '../../simulator/simulateDay';
import { simulationAcl } from '../../simulator/simulationAcl';
import { compose } from '../compose';
import { EvPlant } from './evPlant';

export interface DemoOptions {
  seed: number;
  evseCount: number;
  durationHours: number;
  solver: 'fast' | 'placeholder';
  /** Called after every simulated minute with the share done (0..1). */
  onProgress?: (done: number) => void;
}

export interface DemoSeries {
  tsMs: number[];
  sitePowerKw: number[];
  siteLimitKw: number[];
  importPricePerKwh: number[];
  exportPricePerKwh: number[];
  frequencyHz: number[];
}

export interface DemoResult {
  summary: {
    seed: number;
    siteId: string;
    evses: number;
    sessions: number;
    energyRequestedKwh: number;
    energyDeliveredKwh: number;
    peakKw: number;
    siteLimitKw: number;
    limitViolations: number;
    setpointSetViolations: number;
    deadLetters: number;
    deadLettersByCode: Record<string, number>;
    costEur: number;
    decisions: number;
    fallbacks: number;
    setpointMessages: number;
    acks: number;
    maxSolveMs: number;
    expiredSetpointMinutes: number;
    solver: string;
  };
  series: DemoSeries;
  /** What report.json holds and report.html shows. */
  report: DemoReportData;
  acks: unknown[];
  /** Every setpoint the engine emitted, in order (for determinism checks). */
  setpointsJsonl: string;
}

const SITE_ID = 'demo-site';
const MINUTE_MS = 60_000;
/** A fixed summer Monday, so every run with the same seed replays the same day. */
export const DEMO_START_MS = Date.UTC(2026, 5, 15, 0, 0, 0);

/**
 * Runs one simulated day on the embedded default: the simulator plays CSMS, DSO, FO and
 * frequency meter on the in-memory bus; the fleet plant follows the engine's setpoints and
 * reports back; everything runs on virtual time, minute by minute.
 */
export async function runDemo(options: DemoOptions): Promise<DemoResult> {
  const sim = simulateDay({
    seed: options.seed,
    siteId: SITE_ID,
    startMs: DEMO_START_MS,
    durationHours: options.durationHours,
    evseCount: options.evseCount,
    frequencySampleMs: 1000,
  });
  const config: EvflexConfig = parseConfig({
    instanceId: 'evflex-demo',
    planner: { solver: options.solver, replanIntervalS: 60 },
    acl: simulationAcl(SITE_ID, sim.sources),
  });
  // The day's traffic, with one of each kind of bad input spread over it.
  const raw = serializeInputs(
    sim.inputs,
    simulatedBadInputs(sim, { maxMessageAgeMs: config.ingress.maxMessageAgeS * 1000 }),
  );
  const clock = new VirtualClock(DEMO_START_MS);
  const bus = new MemoryBus(clock, { keepOutputs: false });
  const { engine, planner } = await compose(config, { clock, bus, log: () => {} });
  const plant = new EvPlant(SIMULATION_SOURCES.csms);
  const setpointLines: string[] = [];
  const acks: unknown[] = [];
  let setpointSetViolations = 0;
  const index = buildTopologyIndex(sim.topology);
  const pendingSet = new Map<string, SetpointMessage[]>();
  bus.onOutput('setpoints', (record) => {
    setpointLines.push(record.value);
    const message = JSON.parse(record.value) as SetpointMessage;
    plant.applySetpoints(message);
    const set = [...(pendingSet.get(message.setId) ?? []), message];
    if (set.length < message.setSize) pendingSet.set(message.setId, set);
    else {
      pendingSet.delete(message.setId);
      if (setExceedsLimits(set)) setpointSetViolations++;
    }
  });
  bus.onOutput('acks', (record) => acks.push(JSON.parse(record.value)));
  const deadLetterSamples: DemoReportData['deadLetterSamples'] = [];
  bus.onOutput('deadletter', (record) => {
    const d = JSON.parse(record.value) as { errorCode: string; originalTopic: string; reason: string };
    deadLetterSamples.push({ errorCode: d.errorCode, topic: d.originalTopic, reason: d.reason });
  });
  const runStarted = performance.now();
  await engine.start();

  // Ground truth for checking the plant against every limit the DSO and FO asked for.
  const truth: SiteState = emptySiteState(SITE_ID, DEMO_START_MS);
  const prices = sim.inputs.find((i) => (i.message as { kind: string }).kind === 'priceCurve')?.message as
    | PriceCurve
    | undefined;
  for (const input of sim.inputs) {
    const m = input.message as { kind: string };
    if (m.kind === 'powerVariation') truth.variations.push(m as PowerVariationMessage);
    if (m.kind === 'demandResponse') truth.demandResponses.push(m as DemandResponse);
  }
  function setExceedsLimits(set: SetpointMessage[]): boolean {
    const first = set[0].evses[0];
    const limits = effectiveNodeLimits(truth, index, first.validFromMs, first.validToMs);
    const kw = new Float64Array(index.evseIds.length);
    for (const m of set) for (const sp of m.evses) kw[index.evseIndexById.get(sp.evseId)!] = sp.limitKw;
    const sums = nodeSums(index, kw);
    return sums.some((s, i) => s > limits.importKw[i] + 1e-6);
  }

  const series: DemoSeries = {
    tsMs: [],
    sitePowerKw: [],
    siteLimitKw: [],
    importPricePerKwh: [],
    exportPricePerKwh: [],
    frequencyHz: [],
  };
  const soc = new Map<string, { sessionId: string; tsMs: number[]; socPct: number[] }>();
  let limitViolations = 0;
  let peakKw = 0;
  let costEur = 0;
  let nextInput = 0;
  const totalMinutes = Math.round((sim.endMs - sim.startMs) / MINUTE_MS);
  const evseKw = new Float64Array(index.evseIds.length);

  for (let minute = 0; minute < totalMinutes; minute++) {
    const nowMs = sim.startMs + minute * MINUTE_MS;
    clock.advanceTo(nowMs);
    // Everything the parties sent during the last minute arrives now, as one burst.
    while (nextInput < raw.length && raw[nextInput].atMs <= nowMs) {
      const input = raw[nextInput++];
      if (input.topic === 'fleet.state' && input.expectedCode === undefined) {
        const m = JSON.parse(input.value) as EvseStateMessage;
        if (m.kind === 'evseState') plant.observeFleetMessage(m);
      }
      bus.produce(input.topic, input.key, input.value);
    }
    if (minute % 5 === 0) {
      for (const report of plant.progressReports(SITE_ID, nowMs))
        bus.produce('fleet.state', SITE_ID, JSON.stringify(report));
    }
    await bus.deliver();
    await engine.tick();

    const siteKw = plant.step(nowMs, MINUTE_MS);
    const limits = effectiveNodeLimits(truth, index, nowMs, nowMs + MINUTE_MS);
    evseKw.fill(0);
    for (const [evseId, kw] of plant.powerKwByEvse)
      evseKw[index.evseIndexById.get(evseId)!] = Math.max(0, kw);
    const sums = nodeSums(index, evseKw);
    if (sums.some((s, i) => s > limits.importKw[i] + 1e-6)) limitViolations++;
    peakKw = Math.max(peakKw, siteKw);
    const slot = prices ? Math.floor((nowMs - prices.startMs) / (prices.slotMinutes * MINUTE_MS)) : -1;
    const importPrice = prices?.importPricePerKwh[slot] ?? 0;
    const exportPrice = prices?.exportPricePerKwh[slot] ?? 0;
    costEur += siteKw >= 0 ? (siteKw * importPrice) / 60 : (siteKw * exportPrice) / 60;
    series.tsMs.push(nowMs);
    series.sitePowerKw.push(round(siteKw, 3));
    series.siteLimitKw.push(limits.importKw[0]);
    series.importPricePerKwh.push(importPrice);
    series.exportPricePerKwh.push(exportPrice);
    series.frequencyHz.push(engine.sites().get(SITE_ID)?.state.lastFrequencyHz ?? 50);
    if (minute % 5 === 0) {
      for (const sample of plant.socSamples()) {
        const t = soc.get(sample.sessionId) ?? { sessionId: sample.sessionId, tsMs: [], socPct: [] };
        t.tsMs.push(nowMs);
        t.socPct.push(round(sample.socPct, 2));
        soc.set(sample.sessionId, t);
      }
    }
    options.onProgress?.((minute + 1) / totalMinutes);
  }
  plant.finishAll();
  await engine.stop();
  const stats = engine.stats();
  const deadLetters = Object.values(stats.deadLetters).reduce((a, b) => a + b, 0);
  const summary: DemoResult['summary'] = {
    seed: options.seed,
    siteId: SITE_ID,
    evses: index.evseIds.length,
    sessions: plant.sessionsSeen,
    energyRequestedKwh: round(plant.requestedKwh, 2),
    energyDeliveredKwh: round(plant.deliveredKwh, 2),
    peakKw: round(peakKw, 2),
    siteLimitKw: sim.siteImportLimitKw,
    limitViolations,
    setpointSetViolations,
    deadLetters,
    deadLettersByCode: stats.deadLetters,
    costEur: round(costEur, 2),
    decisions: stats.decisions,
    fallbacks: stats.fallbacks,
    setpointMessages: stats.setpointMessages,
    acks: stats.acks,
    maxSolveMs: round(stats.maxSolveMs, 2),
    expiredSetpointMinutes: round(plant.expiredSetpointMinutes, 1),
    solver: planner.name,
  };
  const delivered = new Map(plant.finished.map((f) => [f.sessionId, f]));
  const sessionRows = sim.sessions.map(({ evseId, session }) => ({
    sessionId: session.sessionId,
    evseId,
    arrivalMs: session.arrivalMs,
    departureMs: session.departureMs,
    requestedKwh: round(session.energyTargetKwh, 3),
    deliveredKwh: round(delivered.get(session.sessionId)?.deliveredKwh ?? 0, 3),
    v2gAllowed: session.v2gAllowed,
  }));
  const v2g = new Map(sim.sessions.map(({ session }) => [session.sessionId, session.v2gAllowed]));
  const frequency = downsampleMinMax(series.tsMs, series.frequencyHz, 2000);
  const report: DemoReportData = {
    title: 'evflex demo: one simulated day',
    summary: {
      siteId: SITE_ID,
      seed: options.seed,
      startMs: sim.startMs,
      endMs: sim.endMs,
      evseCount: index.evseIds.length,
      sessions: plant.sessionsSeen,
      energyRequestedKwh: summary.energyRequestedKwh,
      energyDeliveredKwh: summary.energyDeliveredKwh,
      energyDischargedKwh: round(plant.dischargedKwh, 2),
      sessionsMet: sessionRows.filter((r) => r.deliveredKwh >= r.requestedKwh - 0.01).length,
      peakKw: summary.peakKw,
      siteLimitKw: summary.siteLimitKw,
      limitViolations: limitViolations + setpointSetViolations,
      deadLetters: stats.deadLetters,
      costEur: summary.costEur,
      plannerSolves: stats.decisions,
      fallbacks: stats.fallbacks,
      inputMessages: raw.length,
      setpointMessages: stats.setpointMessages,
      acks: stats.acks,
      runMs: Math.round(performance.now() - runStarted),
    },
    sitePower: { tsMs: series.tsMs, sitePowerKw: series.sitePowerKw, siteLimitKw: series.siteLimitKw },
    prices: {
      tsMs: series.tsMs,
      importPricePerKwh: series.importPricePerKwh,
      exportPricePerKwh: series.exportPricePerKwh,
      currency: prices?.currency ?? 'EUR',
    },
    socTrajectories: [...soc.values()].map((t) => ({ ...t, v2gAllowed: v2g.get(t.sessionId) })),
    frequency: { tsMs: frequency.tsMs, hz: frequency.values },
    sessions: sessionRows,
    deadLetterSamples,
    notes: [
      `planner: ${planner.name}; setpoints valid ${config.setpoints.validityS} s, re-planned every ${config.planner.replanIntervalS} s`,
      'the fleet plant follows setpoints, falls back to fallbackLimitKw when they expire, and reports progress every 5 min',
    ],
  };
  return { summary, series, report, acks, setpointsJsonl: setpointLines.join('\n') };
}

function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
