import { describe, expect, it } from 'vitest';
import type { EvseStateMessage } from '../../models/fleetState';
import type { FrequencyMessage } from '../../models/frequency';
import type { PowerVariationMessage } from '../../models/powerVariation';
import type { PriceCurve } from '../../models/rmSignal';
import { topicSchemas } from '../../models/topics';
import { topologyProblems } from '../../models/topology';
import { createRng } from '../../src/simulator/rng';
import { type SimulationOptions, simulateDay } from '../../src/simulator/simulateDay';

const DAY_START_MS = Date.UTC(2026, 0, 15);
const HOUR_MS = 3_600_000;
const base: SimulationOptions = {
  seed: 7,
  siteId: 'site-a',
  startMs: DAY_START_MS,
  frequencySampleMs: 10_000,
};
const sim = simulateDay(base);
const kindOf = (message: unknown) => (message as { kind: string }).kind;

describe('simulateDay determinism', () => {
  it('gives byte-identical inputs for the same seed and different ones for another seed', () => {
    const again = simulateDay(base);
    expect(JSON.stringify(again.inputs)).toBe(JSON.stringify(sim.inputs));
    const other = simulateDay({ ...base, seed: 8 });
    expect(JSON.stringify(other.inputs)).not.toBe(JSON.stringify(sim.inputs));
  });

  it('createRng repeats its sequence per seed', () => {
    const a = createRng(123);
    const b = createRng(123);
    const c = createRng(124);
    const seqA = Array.from({ length: 5 }, () => a.next());
    expect(Array.from({ length: 5 }, () => b.next())).toEqual(seqA);
    expect(Array.from({ length: 5 }, () => c.next())).not.toEqual(seqA);
    expect(seqA.every((v) => v >= 0 && v < 1)).toBe(true);
  });
});

describe('simulated messages', () => {
  it('all pass their topic schema, carry the site key and have unique ids', () => {
    const ids = new Set<string>();
    for (const input of sim.inputs) {
      const parsed = topicSchemas[input.topic].parse(input.message) as {
        messageId: string;
        siteId: string;
        tsMs: number;
      };
      expect(input.key).toBe('site-a');
      expect(parsed.siteId).toBe('site-a');
      expect(parsed.tsMs).toBe(input.atMs);
      ids.add(parsed.messageId);
    }
    expect(ids.size).toBe(sim.inputs.length);
  });

  it('are sorted by time with the topology first', () => {
    expect(kindOf(sim.inputs[0].message)).toBe('topology');
    for (let i = 1; i < sim.inputs.length; i++)
      expect(sim.inputs[i].atMs).toBeGreaterThanOrEqual(sim.inputs[i - 1].atMs);
    expect(sim.inputs.at(-1)!.atMs).toBeLessThanOrEqual(sim.endMs);
  });

  it('use the declared sources per party', () => {
    for (const input of sim.inputs) {
      const { source } = input.message as { source: string };
      const expected =
        input.topic === 'fleet.state'
          ? sim.sources.csms
          : input.topic === 'dso.power-variation'
            ? sim.sources.dso
            : input.topic === 'rm.signals'
              ? sim.sources.fo
              : sim.sources.meter;
      expect(source).toBe(expected);
    }
  });
});

describe('simulated site', () => {
  it('has ≥ 50 EVSEs in a valid site → zones → stations tree with tight limits', () => {
    expect(topologyProblems(sim.topology)).toEqual([]);
    const evses = sim.topology.nodes.filter((n) => n.kind === 'evse');
    const zones = sim.topology.nodes.filter((n) => n.kind === 'zone');
    expect(evses.length).toBe(60);
    expect(zones.length).toBeGreaterThanOrEqual(2);
    expect(zones.length).toBeLessThanOrEqual(3);
    const ratedKw = evses.reduce((sum, n) => sum + n.importLimitKw, 0);
    const siteKw = sim.topology.nodes.find((n) => n.kind === 'site')!.importLimitKw;
    expect(siteKw / ratedKw).toBeGreaterThan(0.3);
    expect(siteKw / ratedKw).toBeLessThan(0.5);
    expect(new Set(evses.map((n) => n.importLimitKw))).toEqual(new Set([11, 22, 50]));
    expect(evses.filter((n) => n.v2gCapable).length).toBe(18);
    for (const station of sim.topology.nodes.filter((n) => n.kind === 'station')) {
      const children = evses.filter((n) => n.parentId === station.nodeId);
      expect(children.length).toBeGreaterThanOrEqual(1);
      expect(children.length).toBeLessThanOrEqual(2);
    }
  });

  it('honours siteImportLimitKw and evseCount', () => {
    const small = simulateDay({ ...base, evseCount: 51, siteImportLimitKw: 123, frequencySampleMs: 0 });
    expect(small.topology.nodes.filter((n) => n.kind === 'evse')).toHaveLength(51);
    expect(small.topology.nodes.find((n) => n.kind === 'site')!.importLimitKw).toBe(123);
    expect(small.inputs.some((i) => i.topic === 'grid.frequency')).toBe(false);
  });
});

describe('simulated sessions', () => {
  const arrivals = sim.inputs
    .map((i) => i.message as EvseStateMessage)
    .filter((m) => m.kind === 'evseState' && m.session);
  const departures = sim.inputs
    .map((i) => i.message as EvseStateMessage)
    .filter((m) => m.kind === 'evseState' && m.tsMs > DAY_START_MS && m.status === 'available');

  it('arrive within the day, leave after arriving, and need no more than fits', () => {
    expect(arrivals.length).toBeGreaterThan(50);
    for (const { session } of arrivals) {
      const s = session!;
      expect(s.arrivalMs).toBeGreaterThanOrEqual(sim.startMs);
      expect(s.arrivalMs).toBeLessThan(sim.endMs);
      expect(s.departureMs).toBeGreaterThan(s.arrivalMs);
      expect(s.departureMs).toBeLessThanOrEqual(sim.endMs);
      const dwellH = (s.departureMs - s.arrivalMs) / HOUR_MS;
      expect(dwellH).toBeGreaterThanOrEqual(2);
      expect(dwellH).toBeLessThanOrEqual(10);
      expect(s.energyTargetKwh).toBeLessThanOrEqual(s.batteryCapacityKwh * (1 - s.socPct / 100) + 1e-9);
      expect(s.energyTargetKwh).toBeLessThanOrEqual(dwellH * s.maxChargeKw);
      expect(s.energyMinKwh).toBeLessThanOrEqual(s.energyTargetKwh);
      expect(s.energyTargetKwh).toBeLessThanOrEqual(s.energyMaxKwh);
      expect(s.batteryCapacityKwh).toBeGreaterThanOrEqual(40);
      expect(s.batteryCapacityKwh).toBeLessThanOrEqual(100);
      if (s.v2gAllowed) expect(s.maxDischargeKw).toBeGreaterThan(0);
    }
    expect(arrivals.some((m) => m.session!.v2gAllowed)).toBe(true);
  });

  it('have a morning and an evening arrival peak', () => {
    const hourOf = (ms: number) => new Date(ms).getUTCHours();
    const morning = arrivals.filter(
      (m) => hourOf(m.session!.arrivalMs) >= 6 && hourOf(m.session!.arrivalMs) < 10,
    );
    const evening = arrivals.filter(
      (m) => hourOf(m.session!.arrivalMs) >= 16 && hourOf(m.session!.arrivalMs) < 20,
    );
    const night = arrivals.filter(
      (m) => hourOf(m.session!.arrivalMs) >= 1 && hourOf(m.session!.arrivalMs) < 5,
    );
    expect(morning.length).toBeGreaterThan(arrivals.length / 4);
    expect(evening.length).toBeGreaterThan(arrivals.length / 8);
    expect(night).toHaveLength(0);
  });

  it('end with a departure that frees the EVSE, and never overlap on one EVSE', () => {
    expect(departures).toHaveLength(arrivals.length);
    const byEvse = new Map<string, { arrivalMs: number; departureMs: number }[]>();
    for (const { evseId, session } of arrivals) {
      const list = byEvse.get(evseId) ?? [];
      list.push(session!);
      byEvse.set(evseId, list);
    }
    for (const list of byEvse.values()) {
      for (let i = 1; i < list.length; i++)
        expect(list[i].arrivalMs).toBeGreaterThan(list[i - 1].departureMs);
    }
  });
});

describe('simulated grid and market signals', () => {
  const messages = sim.inputs.map((i) => i.message as { kind: string });

  it('publish a 15-min price curve: cheap night and midday, expensive evening, export below import', () => {
    const curve = messages.find((m) => m.kind === 'priceCurve') as PriceCurve;
    expect(curve.slotMinutes).toBe(15);
    expect(curve.importPricePerKwh).toHaveLength(96);
    const at = (hour: number) => curve.importPricePerKwh[hour * 4];
    expect(at(19)).toBeGreaterThan(at(3));
    expect(at(19)).toBeGreaterThan(at(13));
    expect(at(8)).toBeGreaterThan(at(13));
    for (let i = 0; i < curve.exportPricePerKwh.length; i++) {
      expect(curve.exportPricePerKwh[i]).toBeLessThan(curve.importPricePerKwh[i]);
    }
  });

  it('lower the site limit to 50 % from 17:00 to 19:00 and send RM events', () => {
    const siteCut = sim.inputs
      .map((i) => i.message as PowerVariationMessage)
      .find((m) => m.kind === 'powerVariation' && m.nodeId === 'site-a')!;
    expect(siteCut.importLimitKw).toBe(Math.round(sim.siteImportLimitKw / 2));
    expect(siteCut.startMs).toBe(DAY_START_MS + 17 * HOUR_MS);
    expect(siteCut.endMs).toBe(DAY_START_MS + 19 * HOUR_MS);
    expect(messages.filter((m) => m.kind === 'demandResponse')).toHaveLength(1);
    expect(messages.filter((m) => m.kind === 'activation')).toHaveLength(1);
  });

  it('samples frequency at the interval, mostly within ±20 mHz, with one dip to 49.8 Hz', () => {
    const samples = messages.filter((m) => m.kind === 'frequency') as FrequencyMessage[];
    expect(samples).toHaveLength((24 * HOUR_MS) / 10_000);
    expect(samples[1].tsMs - samples[0].tsMs).toBe(10_000);
    const hz = samples.map((s) => s.hz);
    const within = hz.filter((f) => Math.abs(f - 50) <= 0.02).length / hz.length;
    expect(within).toBeGreaterThan(0.8);
    expect(Math.min(...hz)).toBeCloseTo(49.8, 1);
    expect(Math.min(...hz)).toBeGreaterThan(49.75);
    expect(Math.max(...hz)).toBeLessThan(50.06);
  });

  it('drops events outside a short run', () => {
    const morning = simulateDay({ ...base, durationHours: 6, frequencySampleMs: 60_000 });
    expect(morning.inputs.every((i) => i.atMs <= DAY_START_MS + 6 * HOUR_MS)).toBe(true);
    expect(morning.inputs.some((i) => kindOf(i.message) === 'powerVariation')).toBe(false);
  });
});

describe('across seeds', () => {
  const seeds = [1, 2, 3, 99, 2026];

  /** Everyone charging at full power from arrival until their target is met. */
  function uncontrolledKw(run: ReturnType<typeof simulateDay>, fromMs: number, toMs: number): number {
    const delivered = new Map<string, number>();
    let peakKw = 0;
    for (let t = run.startMs; t < toMs; t += 60_000) {
      let kw = 0;
      for (const { session: s } of run.sessions) {
        const done = delivered.get(s.sessionId) ?? 0;
        if (s.arrivalMs > t || s.departureMs <= t || done >= s.energyTargetKwh) continue;
        const p = Math.min(s.maxChargeKw, (s.energyTargetKwh - done) * 60);
        delivered.set(s.sessionId, done + p / 60);
        kw += p;
      }
      if (t >= fromMs) peakKw = Math.max(peakKw, kw);
    }
    return peakKw;
  }

  it('keep sessions realistic and make uncontrolled charging break the evening DSO limit', () => {
    for (const seed of seeds) {
      const run = simulateDay({ ...base, seed, frequencySampleMs: 0 });
      expect(run.sessions.length).toBeGreaterThan(50);
      for (const { session: s } of run.sessions) {
        expect(s.socPct).toBeGreaterThanOrEqual(5);
        expect(s.socPct).toBeLessThanOrEqual(90);
        expect(s.energyTargetKwh).toBeLessThanOrEqual(40);
        expect(s.minChargeKw).toBeLessThanOrEqual(s.maxChargeKw);
        expect(s.maxChargeKw).toBeLessThanOrEqual(50);
      }
      const eveningPeakKw = uncontrolledKw(run, DAY_START_MS + 17 * HOUR_MS, DAY_START_MS + 19 * HOUR_MS);
      expect(eveningPeakKw).toBeGreaterThan(run.siteImportLimitKw / 2);
    }
  });
});
