import { describe, expect, it } from 'vitest';
import { droopResponse } from '../../src/core/droopResponse';
import { anEv, anEvArrival, aSite, aTopologyMessage, header, T0 } from '../support/builders';
import { anEngine } from '../support/engineHarness';

const fcr = { nominalHz: 50, deadbandHz: 0.01, fullActivationHz: 0.2, reservedUpKw: 20, reservedDownKw: 10 };

describe('droop response (IEC 63110-1 8.2.10, FCR parameters)', () => {
  it('is zero inside the deadband, linear to full activation, saturated beyond', () => {
    expect(droopResponse(50.0, fcr)).toBe(0);
    expect(droopResponse(49.99, fcr)).toBe(0);
    expect(droopResponse(50.01, fcr)).toBe(0);
    expect(droopResponse(49.895, fcr)).toBeCloseTo(-10, 6); // halfway from the 10 mHz deadband edge to 200 mHz
    expect(droopResponse(49.8, fcr)).toBeCloseTo(-20, 6);
    expect(droopResponse(49.5, fcr)).toBeCloseTo(-20, 6);
    expect(droopResponse(50.105, fcr)).toBeCloseTo(5, 6);
    expect(droopResponse(50.4, fcr)).toBeCloseTo(10, 6);
  });
});

describe('the real-time layer answers frequency deviations without re-planning', () => {
  const site = aSite({ siteId: 'site-f', siteLimitKw: 200, zones: [{ limitKw: 200, stations: 4 }] });
  const frequency = (hz: number, tsMs: number) => ({
    ...header('site-f', tsMs, 'meter-1'),
    kind: 'frequency' as const,
    meterId: 'meter-1',
    hz,
    accuracyMilliHz: 1,
  });
  const siteKw = (set: { evses: { setpointKw: number }[] }[]) =>
    set.flatMap((m) => m.evses).reduce((sum, e) => sum + e.setpointKw, 0);

  it('sheds load in proportion to the deviation and restores it when the frequency recovers', async () => {
    const h = await anEngine({ frequency: fcr });
    h.send('fleet.state', aTopologyMessage(site, T0));
    for (const evse of ['z1-s1-e1', 'z1-s2-e1', 'z1-s3-e1', 'z1-s4-e1']) {
      h.send('fleet.state', anEvArrival('site-f', evse, anEv(), T0));
    }
    h.send('grid.frequency', frequency(50.0, T0));
    await h.deliver();
    const planned = siteKw(h.latestSet('site-f'));
    expect(planned).toBeCloseTo(44, 3);

    h.send('grid.frequency', frequency(49.895, T0 + 100));
    await h.deliver();
    const set = h.latestSet('site-f');
    expect(set[0].trigger).toBe('frequency');
    expect(siteKw(set)).toBeCloseTo(planned - 10, 2);
    expect(
      set
        .flatMap((m) => m.evses)
        .filter((e) => e.sessionId)
        .every((e) => e.operationMode === 'CentralFrequency'),
    ).toBe(true);

    h.send('grid.frequency', frequency(49.7, T0 + 200));
    await h.deliver();
    expect(siteKw(h.latestSet('site-f'))).toBeCloseTo(planned - 20, 2);

    const decisions = h.engine.stats().decisions;
    h.send('grid.frequency', frequency(49.69, T0 + 300)); // saturated: nothing new to say
    await h.deliver();
    expect(h.engine.stats().decisions).toBe(decisions);

    h.send('grid.frequency', frequency(50.0, T0 + 400));
    await h.deliver();
    expect(siteKw(h.latestSet('site-f'))).toBeCloseTo(planned, 3);
  });

  it('ignores frequency when no reserve is configured', async () => {
    const h = await anEngine();
    h.send('fleet.state', aTopologyMessage(site, T0));
    h.send('fleet.state', anEvArrival('site-f', 'z1-s1-e1', anEv(), T0));
    await h.deliver();
    const decisions = h.engine.stats().decisions;
    h.send('grid.frequency', frequency(49.5, T0 + 100));
    await h.deliver();
    expect(h.engine.stats().decisions).toBe(decisions);
  });
});
