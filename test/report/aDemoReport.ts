import type { PowerVariationMessage } from '../../models/powerVariation';
import type { PriceCurve } from '../../models/rmSignal';
import type { DemoReportData, SocTrajectory } from '../../src/report/demoReportData';
import { simulateDay } from '../../src/simulator/simulateDay';

const STEP_MS = 5 * 60_000;

/**
 * Report data from a simulated day, charged by a naive policy (everyone at full power,
 * scaled down proportionally to the limit). Good enough to exercise every plot.
 */
export function aDemoReport(seed = 1): DemoReportData {
  const sim = simulateDay({
    seed,
    siteId: 'site-r',
    startMs: Date.UTC(2026, 0, 15),
    frequencySampleMs: 10_000,
  });
  const messages = sim.inputs.map((i) => i.message as { kind: string });
  const curve = messages.find((m) => m.kind === 'priceCurve') as PriceCurve;
  const variations = messages.filter((m) => m.kind === 'powerVariation') as PowerVariationMessage[];
  const siteCut = variations.find((v) => v.nodeId === 'site-r');
  const sessions = sim.sessions.map((s) => ({ ...s.session, evseId: s.evseId, deliveredKwh: 0 }));
  const tsMs: number[] = [];
  const sitePowerKw: number[] = [];
  const siteLimitKw: number[] = [];
  const trajectories = new Map<string, SocTrajectory>();
  let costEur = 0;
  for (let t = sim.startMs; t < sim.endMs; t += STEP_MS) {
    const limitKw =
      siteCut && t >= siteCut.startMs && t < siteCut.endMs ? siteCut.importLimitKw! : sim.siteImportLimitKw;
    const active = sessions.filter(
      (s) => s.arrivalMs <= t && s.departureMs > t && s.deliveredKwh < s.energyTargetKwh,
    );
    const wantKw = active.reduce((sum, s) => sum + s.maxChargeKw, 0);
    const scale = wantKw > limitKw ? limitKw / wantKw : 1;
    let powerKw = 0;
    for (const s of active) {
      const kw = Math.min(
        s.maxChargeKw * scale,
        ((s.energyTargetKwh - s.deliveredKwh) * 3_600_000) / STEP_MS,
      );
      s.deliveredKwh += (kw * STEP_MS) / 3_600_000;
      powerKw += kw;
    }
    for (const s of sessions) {
      if (s.arrivalMs > t || s.departureMs <= t) continue;
      const tr = trajectories.get(s.sessionId) ?? {
        sessionId: s.sessionId,
        evseId: s.evseId,
        tsMs: [],
        socPct: [],
        v2gAllowed: s.v2gAllowed,
      };
      tr.tsMs.push(t);
      tr.socPct.push(s.socPct + (100 * s.deliveredKwh) / s.batteryCapacityKwh);
      trajectories.set(s.sessionId, tr);
    }
    const slot = Math.floor((t - curve.startMs) / (curve.slotMinutes * 60_000));
    costEur += ((powerKw * STEP_MS) / 3_600_000) * curve.importPricePerKwh[slot];
    tsMs.push(t);
    sitePowerKw.push(powerKw);
    siteLimitKw.push(limitKw);
  }
  const frequency = sim.inputs
    .filter((i) => i.topic === 'grid.frequency')
    .map((i) => i.message as { tsMs: number; hz: number });
  return {
    summary: {
      siteId: 'site-r',
      seed,
      startMs: sim.startMs,
      endMs: sim.endMs,
      evseCount: sim.evses.length,
      sessions: sessions.length,
      energyRequestedKwh: sessions.reduce((sum, s) => sum + s.energyTargetKwh, 0),
      energyDeliveredKwh: sessions.reduce((sum, s) => sum + s.deliveredKwh, 0),
      energyDischargedKwh: 0,
      sessionsMet: sessions.filter((s) => s.deliveredKwh >= s.energyTargetKwh - 0.01).length,
      peakKw: Math.max(...sitePowerKw),
      siteLimitKw: sim.siteImportLimitKw,
      limitViolations: 0,
      deadLetters: { EVFLEX_MALFORMED_JSON: 1, EVFLEX_DUPLICATE_MESSAGE: 1 },
      costEur,
      plannerSolves: 288,
      fallbacks: 0,
      inputMessages: sim.inputs.length,
      runMs: 1234,
    },
    sitePower: { tsMs, sitePowerKw, siteLimitKw },
    prices: {
      tsMs: curve.importPricePerKwh.map((_, i) => curve.startMs + i * curve.slotMinutes * 60_000),
      importPricePerKwh: curve.importPricePerKwh,
      exportPricePerKwh: curve.exportPricePerKwh,
      currency: 'EUR',
    },
    socTrajectories: [...trajectories.values()],
    frequency: { tsMs: frequency.map((f) => f.tsMs), hz: frequency.map((f) => f.hz) },
    sessions: sessions.map((s) => ({
      sessionId: s.sessionId,
      evseId: s.evseId,
      arrivalMs: s.arrivalMs,
      departureMs: s.departureMs,
      requestedKwh: s.energyTargetKwh,
      deliveredKwh: Math.round(s.deliveredKwh * 100) / 100,
      v2gAllowed: s.v2gAllowed,
    })),
    deadLetterSamples: [
      { errorCode: 'EVFLEX_MALFORMED_JSON', topic: 'grid.frequency', reason: 'Unexpected end of <JSON>' },
    ],
    notes: ['naive proportional policy (test data)'],
  };
}
