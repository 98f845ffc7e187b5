import { describe, expect, it } from 'vitest';
import { evaluateDsoCompliance } from '../../../src/adapters/clickhouse/evaluateDsoCompliance';
import {
  DEFAULT_FREQUENCY_RESPONSE_PARAMS,
  detectFrequencyEventRuns,
  evaluateFrequencyResponse,
  requiredResponseKw,
} from '../../../src/adapters/clickhouse/evaluateFrequencyResponse';
import { evaluateSessionEnergy } from '../../../src/adapters/clickhouse/evaluateSessionEnergy';
import { evseKey } from '../../../src/adapters/clickhouse/evseKey';
import { holdSeries } from '../../../src/adapters/clickhouse/holdSeries';
import { sitePowerSeries } from '../../../src/adapters/clickhouse/sitePowerSeries';

const fcr = { ...DEFAULT_FREQUENCY_RESPONSE_PARAMS, reservedUpKw: 100, reservedDownKw: 50 };

describe('holdSeries', () => {
  it('holds each sample until the next, at most maxHoldMs, NaN before the first', () => {
    const s = holdSeries(
      [
        { tMs: 2000, value: 5 },
        { tMs: 4000, value: 7 },
      ],
      0,
      10_000,
      1000,
      2000,
    );
    expect(Array.from(s)).toEqual([
      Number.NaN,
      Number.NaN,
      5,
      5,
      7,
      7,
      7,
      Number.NaN,
      Number.NaN,
      Number.NaN,
    ]);
  });
});

describe('sitePowerSeries', () => {
  it('prefers the site meter, else sums EVSE meters where any is known', () => {
    const evses = new Map([
      ['e1', [{ tMs: 0, value: 3 }]],
      ['e2', [{ tMs: 1000, value: 4 }]],
    ]);
    expect(Array.from(sitePowerSeries(evses, 0, 3000, 1000, 5000))).toEqual([3, 7, 7]);
    const withSite = new Map([...evses, ['', [{ tMs: 0, value: 10 }]]]);
    expect(Array.from(sitePowerSeries(withSite, 0, 3000, 1000, 5000))).toEqual([10, 10, 10]);
  });
});

describe('evaluateSessionEnergy', () => {
  it('integrates the EVSE meter over the session and stops where the next session on that EVSE begins', () => {
    const power = new Map([
      [evseKey('s', 'e1'), Array.from({ length: 360 }, (_, k) => ({ tMs: k * 10_000, value: 11 }))],
    ]);
    const sessions = [
      {
        siteId: 's',
        sessionId: 'a',
        evseId: 'e1',
        arrivalMs: 0,
        departureMs: 3_600_000,
        requestedKwh: 10,
        lastSeenMs: 0,
      },
      // Arrives after `a` left early: `a` must not be credited with this energy.
      {
        siteId: 's',
        sessionId: 'b',
        evseId: 'e1',
        arrivalMs: 1_800_000,
        departureMs: 3_600_000,
        requestedKwh: 4,
        lastSeenMs: 0,
      },
    ];
    const [a, b] = evaluateSessionEnergy(sessions, power, {
      stepMs: 10_000,
      maxHoldMs: 60_000,
      rangeFromMs: 0,
      rangeToMs: 3_600_000,
    });
    expect(a.deliveredKwh).toBeCloseTo(5.5, 9);
    expect(a.shortfallKwh).toBeCloseTo(4.5, 9);
    expect(b.deliveredKwh).toBeCloseTo(5.5, 9);
    expect(b.fulfilment).toBeCloseTo(5.5 / 4, 9);
  });
});

describe('evaluateDsoCompliance', () => {
  const request = {
    siteId: 's',
    requestId: 'r',
    nodeId: 'n',
    limitKw: 50,
    startMs: 10_000,
    endMs: 20_000,
    receivedMs: 5_000,
    ackStatus: 'accepted',
    ackAchievedKw: 50,
    ackMs: 5_100,
  };
  it('times compliance from the window start and scores the rest of the window', () => {
    const power = Float64Array.from([
      80, 80, 80, 80, 80, 80, 80, 80, 80, 80, 80, 80, 80, 49, 49, 52, 49, 49, 49, 49,
    ]);
    const r = evaluateDsoCompliance(request, power, 0);
    expect(r.timeToComplyS).toBe(3);
    expect(r.maxExceedanceAfterComplyKw).toBe(2);
    expect(r.compliantShare).toBeCloseTo(6 / 7, 9);
  });
  it('counts from receipt when the request came late, and says never when never met', () => {
    const late = evaluateDsoCompliance({ ...request, receivedMs: 12_500 }, new Float64Array(20).fill(40), 0);
    expect(late.effectiveStartMs).toBe(12_500);
    expect(late.timeToComplyS).toBe(0);
    expect(evaluateDsoCompliance(request, new Float64Array(20).fill(60), 0).timeToComplyS).toBeNull();
  });
});

describe('frequency response', () => {
  it('follows the droop: nothing in the deadband, linear to full at fullActivationHz, capped', () => {
    expect(requiredResponseKw(50.005, fcr)).toBe(0);
    expect(requiredResponseKw(49.9, fcr)).toBeCloseTo((100 * 0.09) / 0.19, 9);
    expect(requiredResponseKw(49.5, fcr)).toBe(100);
    expect(requiredResponseKw(50.3, fcr)).toBe(-50);
  });

  it('finds events beyond the threshold, merging short gaps', () => {
    const hz = new Float64Array(40).fill(50);
    hz.fill(49.9, 5, 10);
    hz.fill(49.9, 12, 15);
    hz.fill(50.1, 30, 31);
    expect(detectFrequencyEventRuns(hz, fcr)).toEqual([
      [5, 15],
      [30, 31],
    ]);
  });

  it('scores an over-frequency event: more import is the delivered response', () => {
    const hz = new Float64Array(30).fill(50);
    hz.fill(50.2, 20, 25);
    const power = new Float64Array(30).fill(100);
    power.fill(150, 20, 25);
    power[24] = 120;
    const [event] = evaluateFrequencyResponse('s', hz, power, 0, fcr);
    expect(event).toMatchObject({ direction: 'over', durationS: 5, baselineKw: 100 });
    expect(event.requiredKws).toBeCloseTo(250, 9);
    expect(event.deliveredKws).toBeCloseTo(220, 9);
    expect(event.compliancePct).toBeCloseTo(80, 9);
  });
});
