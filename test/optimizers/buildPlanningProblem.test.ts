import { describe, expect, it } from 'vitest';
import { buildPlanningProblem } from '../../optimizers/buildPlanningProblem';
import { anEv, anInput, aSite, header, SLOT_MS, T0 } from './support/builders';

describe('buildPlanningProblem', () => {
  it('aligns slot 0 to the clock and maps windows conservatively', () => {
    const p = buildPlanningProblem({
      ...anInput(aSite(), [{ evseId: 'e0', session: anEv('a', { slots: 3 }) }], [0.1, 0.2, 0.3, 0.4]),
      nowMs: T0 + 7 * 60_000,
    });
    expect(p.slotStartMs).toBe(T0);
    expect(p.firstSlot[0]).toBe(0);
    expect(p.endSlot[0]).toBe(3);
    // Arrival in the middle of slot 1 → first full slot is 2; departure mid-slot 3 → ends before slot 3.
    const q = buildPlanningProblem(
      anInput(
        aSite(),
        [
          {
            evseId: 'e0',
            session: {
              ...anEv('b'),
              arrivalMs: T0 + SLOT_MS + 60_000,
              departureMs: T0 + 3 * SLOT_MS + 60_000,
            },
          },
        ],
        [0.1, 0.2, 0.3, 0.4],
      ),
    );
    expect([q.firstSlot[0], q.endSlot[0]]).toEqual([2, 3]);
  });

  it('orders nodes parents first and applies DSO variations and demand-response caps per slot', () => {
    const p = buildPlanningProblem({
      ...anInput(aSite({ siteKw: 100, zoneKw: 80 }), [], [0.1, 0.1, 0.1, 0.1]),
      variations: [
        {
          ...header,
          kind: 'powerVariation',
          variationId: 'v1',
          nodeId: 'site',
          mode: 'absolute',
          importLimitKw: 40,
          startMs: T0 + SLOT_MS,
          endMs: T0 + 2 * SLOT_MS,
          priority: 0,
          mandatory: true,
          guaranteedMinKwPerDevice: 0,
        },
        {
          ...header,
          kind: 'powerVariation',
          variationId: 'v2',
          nodeId: 'zone',
          mode: 'delta',
          importLimitKw: -30,
          startMs: T0 + 2 * SLOT_MS,
          endMs: T0 + 4 * SLOT_MS,
          priority: 0,
          mandatory: true,
          guaranteedMinKwPerDevice: 0,
        },
      ],
      demandResponses: [
        {
          ...header,
          kind: 'demandResponse',
          eventId: 'd',
          nodeId: 'site',
          capKw: 60,
          startMs: T0 + 3 * SLOT_MS,
          endMs: T0 + 4 * SLOT_MS,
        },
      ],
    });
    expect(p.nodeIds.slice(0, 3)).toEqual(['site', 'zone', 'st']);
    expect(Array.from(p.nodeParent.slice(0, 3))).toEqual([-1, 0, 1]);
    expect(Array.from(p.nodeImportKw.subarray(0, 4))).toEqual([100, 40, 100, 60]);
    expect(Array.from(p.nodeImportKw.subarray(4, 8))).toEqual([80, 80, 50, 50]);
  });

  it('allows export at an EVSE only when EV, EVSE and contract allow V2G', () => {
    const nodes = aSite({ evses: 3 });
    nodes[3].v2gCapable = true;
    nodes[4].v2gCapable = true;
    const p = buildPlanningProblem(
      anInput(
        nodes,
        [
          { evseId: 'e0', session: anEv('a', { maxDischargeKw: 7, v2gAllowed: true }) },
          { evseId: 'e1', session: anEv('b', { maxDischargeKw: 7, v2gAllowed: false }) },
          { evseId: 'e2', session: anEv('c', { maxDischargeKw: 7, v2gAllowed: true }) },
        ],
        [0.1, 0.1, 0.1, 0.1],
      ),
    );
    expect(Array.from(p.maxDischargeKw)).toEqual([7, 0, 0]);
    const T = p.slotCount;
    const e = (id: string) => p.nodeExportKw[p.nodeIds.indexOf(id) * T];
    expect([e('e0'), e('e1'), e('e2')]).toEqual([22, 0, 0]);
  });

  it('clamps energies to the battery and export prices to import prices, and skips unknown EVSEs', () => {
    const p = buildPlanningProblem({
      ...anInput(
        aSite(),
        [
          {
            evseId: 'e0',
            session: anEv('a', { socPct: 90, batteryCapacityKwh: 50, energyTargetKwh: 20, energyMinKwh: 10 }),
          },
          { evseId: 'nope', session: anEv('b') },
        ],
        [0.1, 0.2],
      ),
      prices: {
        ...header,
        kind: 'priceCurve',
        startMs: T0,
        slotMinutes: 15,
        importPricePerKwh: [0.1, 0.2],
        exportPricePerKwh: [0.3, 0.1],
        currency: 'EUR',
      },
    });
    expect(p.sessionCount).toBe(1);
    expect(p.energyMaxKwh[0]).toBeCloseTo(5);
    expect(p.energyTargetKwh[0]).toBeCloseTo(5);
    expect(p.energyMinKwh[0]).toBeCloseTo(5);
    expect(Array.from(p.exportPricePerKwh)).toEqual([0.1, 0.1]);
    expect(p.warnings.length).toBe(2);
  });
});
