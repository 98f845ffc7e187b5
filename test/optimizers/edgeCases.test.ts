import { describe, expect, it } from 'vitest';
import { buildPlanningProblem, type PlanningInput } from '../../optimizers/buildPlanningProblem';
import { checkFeasibility } from '../../optimizers/checkFeasibility';
import { flexEnvelope } from '../../optimizers/flexEnvelope';
import { planSite } from '../../optimizers/planSite';
import { anEv, anInput, aSite } from './support/builders';

const cases: Record<string, PlanningInput> = {
  'no sessions': anInput(aSite(), [], [0.1, 0.2]),
  'one slot': anInput(aSite(), [{ evseId: 'e0', session: anEv('a') }], [0.1]),
  'already departed': anInput(
    aSite(),
    [{ evseId: 'e0', session: { ...anEv('a'), departureMs: 0 } }],
    [0.1, 0.2],
  ),
  'zero site limit with a minimum': anInput(
    aSite({ siteKw: 0 }),
    [{ evseId: 'e0', session: anEv('a', { energyMinKwh: 3 }) }],
    [0.1, 0.2, 0.3],
  ),
  'arrival after the horizon': anInput(
    aSite(),
    [{ evseId: 'e0', session: anEv('a', { fromSlot: 10 }) }],
    [0.1, 0.2],
  ),
  'demand charge, PV surplus and V2G': {
    ...anInput(
      aSite({ v2g: true }),
      [
        { evseId: 'e0', session: anEv('a') },
        { evseId: 'e1', session: anEv('b', { maxDischargeKw: 5, v2gAllowed: true }) },
      ],
      [0.1, 0.2, 0.3, 0.1],
    ),
    demandChargePerKw: 2,
    siteLoadKw: [-5, 3, 10, -2],
  },
};

describe('edge cases never throw and stay feasible', () => {
  it.each(Object.entries(cases))('%s', (_name, input) => {
    const p = buildPlanningProblem(input);
    const plan = planSite(p);
    const again = planSite(p, plan);
    // energyBelowMin is expected where a limit makes the minimum unreachable (zero site limit).
    const hard = (kw: Float64Array) => checkFeasibility(p, kw).filter((v) => v.kind !== 'energyBelowMin');
    expect(hard(plan.sessionKw)).toEqual([]);
    expect(hard(again.sessionKw)).toEqual([]);
    expect(Number.isFinite(plan.costTotal)).toBe(true);
    // The envelope brackets the plan at every node and slot.
    const env = flexEnvelope(p, plan.sessionKw);
    for (let k = 0; k < env.plannedKw.length; k++) {
      expect(env.minKw[k]).toBeLessThanOrEqual(env.plannedKw[k] + 1e-9);
      expect(env.maxKw[k]).toBeGreaterThanOrEqual(env.plannedKw[k] - 1e-9);
    }
  });
});
