import { describe, expect, it } from 'vitest';
import { variedLimitKw } from '../../models/powerVariation';
import { buildPlanningProblem } from '../../optimizers/buildPlanningProblem';
import { aPowerVariation, aSite, T0 } from '../support/builders';

describe('variedLimitKw: the one rule for what a DSO variation does to a node', () => {
  const v = (o: Parameters<typeof aPowerVariation>[1]) => aPowerVariation('site-1', o);
  it('replaces or shifts the limit, never above the static limit, never below zero', () => {
    expect(variedLimitKw(v({ importLimitKw: 40 }), 'import', 100, 8)).toBe(40);
    expect(variedLimitKw(v({ importLimitKw: 400 }), 'import', 100, 8)).toBe(100);
    expect(variedLimitKw(v({ importLimitKw: -30, mode: 'delta' }), 'import', 100, 8)).toBe(70);
    expect(variedLimitKw(v({ importLimitKw: -300, mode: 'delta' }), 'import', 100, 8)).toBe(0);
    expect(variedLimitKw(v({ importLimitKw: 40 }), 'export', 50, 8)).toBeUndefined();
  });
  it('keeps the §14a guaranteed minimum of the devices below the node', () => {
    expect(
      variedLimitKw(v({ importLimitKw: 10, guaranteedMinKwPerDevice: 4.2 }), 'import', 100, 8),
    ).toBeCloseTo(33.6);
  });
  it('is what the planning problem applies per slot too', () => {
    const topology = aSite({ siteId: 'site-1', siteLimitKw: 100 });
    const variation = v({
      importLimitKw: 10,
      guaranteedMinKwPerDevice: 4.2,
      startMs: T0,
      endMs: T0 + 3_600_000,
    });
    const p = buildPlanningProblem({
      topology,
      sessions: [],
      variations: [variation],
      nowMs: T0,
      horizonSlots: 8,
    });
    expect(p.nodeImportKw[0]).toBeCloseTo(33.6); // root, slot 0: 8 EVSEs × 4.2 kW
    expect(p.nodeImportKw[4]).toBe(100); // root, slot 4: after the window
  });
});
