import { describe, expect, it } from 'vitest';
import { buildPlanningProblem } from '../../optimizers/buildPlanningProblem';
import { equalShareSetpoints } from '../../optimizers/equalShare';
import { anEv, anInput, aSite } from './support/builders';

describe('equalShareSetpoints', () => {
  it('scales sessions under a saturated node by the same ratio and keeps the AC floor', () => {
    // Station 12 kW; three EVs want 10 kW each → 4 kW each. A fourth with a 6 kW floor would get 4 → 0.
    const p = buildPlanningProblem(
      anInput(
        aSite({ evses: 4, stationKw: 12 }),
        [
          { evseId: 'e0', session: anEv('a', { energyTargetKwh: 50 }) },
          { evseId: 'e1', session: anEv('b', { energyTargetKwh: 50 }) },
          { evseId: 'e2', session: anEv('c', { energyTargetKwh: 50, fromSlot: 1, slots: 2 }) },
          { evseId: 'e3', session: anEv('d', { energyTargetKwh: 50, minChargeKw: 6 }) },
        ],
        [0.1, 0.1, 0.1, 0.1],
      ),
    );
    const slot0 = equalShareSetpoints(p, 0);
    expect(Array.from(slot0).map((x) => Math.round(x * 1000) / 1000)).toEqual([4, 4, 0, 0]);
    const slot1 = equalShareSetpoints(p, 1, [1, 50, 50, 50]);
    // a needs only 1 kWh → 4 kW; the others scale: 4 + 3 × 10 × r ≤ 12 → r = 8/30, all drop, d below its floor.
    const sum = slot1.reduce((x, y) => x + y, 0);
    expect(sum).toBeLessThanOrEqual(12 + 1e-9);
    expect(slot1[3]).toBe(0);
    expect(equalShareSetpoints(p, 99).every((x) => x === 0)).toBe(true);
  });
});
