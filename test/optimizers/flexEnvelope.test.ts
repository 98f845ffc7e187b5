import { describe, expect, it } from 'vitest';
import { buildPlanningProblem } from '../../optimizers/buildPlanningProblem';
import { checkFeasibility } from '../../optimizers/checkFeasibility';
import { fastSchedule } from '../../optimizers/fastSchedule';
import { flexEnvelope } from '../../optimizers/flexEnvelope';
import { syntheticSite } from '../../optimizers/syntheticSite';
import { anEv, anInput, aSite } from './support/builders';

describe('flexEnvelope', () => {
  it('hand-checked: one EV under a station limit', () => {
    // Station 12 kW, EV max 10 kW, plan 4 kW in slot 0 only; it needs nothing more (target = min = 1 kWh).
    const p = buildPlanningProblem(
      anInput(
        aSite({ stationKw: 12 }),
        [{ evseId: 'e0', session: anEv('a', { slots: 2, energyTargetKwh: 1, energyMinKwh: 0.5 }) }],
        [0.1, 0.2],
      ),
    );
    const kw = Float64Array.from([4, 0]);
    const env = flexEnvelope(p, kw);
    const st = p.nodeIds.indexOf('st');
    const T = p.slotCount;
    expect(env.plannedKw[st * T]).toBe(4);
    // Up: to 10 kW (EV max; energy max 50 kWh, SoC room plenty). Down: only 0.5 kWh spare → 2 kW.
    expect(env.maxKw[st * T]).toBeCloseTo(10, 9);
    expect(env.minKw[st * T]).toBeCloseTo(2, 9);
  });

  it('every node range contains its plan and respects its limits, on a V2G site', () => {
    const p = buildPlanningProblem(syntheticSite({ sessions: 60, seed: 9, v2gShare: 0.5 }));
    const plan = fastSchedule(p);
    expect(checkFeasibility(p, plan.sessionKw)).toEqual([]);
    const env = flexEnvelope(p, plan.sessionKw);
    const T = p.slotCount;
    for (let n = 0; n < p.nodeCount; n++)
      for (let t = 0; t < T; t++) {
        const k = n * T + t;
        expect(env.minKw[k]).toBeLessThanOrEqual(env.plannedKw[k] + 1e-9);
        expect(env.maxKw[k]).toBeGreaterThanOrEqual(env.plannedKw[k] - 1e-9);
        expect(env.maxKw[k]).toBeLessThanOrEqual(Math.max(env.plannedKw[k], p.nodeImportKw[k]) + 1e-6);
        expect(env.minKw[k]).toBeGreaterThanOrEqual(Math.min(env.plannedKw[k], -p.nodeExportKw[k]) - 1e-6);
      }
    // The site can go down somewhere (V2G or less charging).
    let anyDown = false;
    for (let t = 0; t < T; t++) if (env.minKw[t] < env.plannedKw[t] - 1) anyDown = true;
    expect(anyDown).toBe(true);
  });
});
