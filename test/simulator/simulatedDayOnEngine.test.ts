import { describe, expect, it } from 'vitest';
import { simulatedBadInputs } from '../../src/simulator/badInputs';
import { serializeInputs } from '../../src/simulator/serializeInputs';
import { simulateDay } from '../../src/simulator/simulateDay';
import { simulationAcl } from '../../src/simulator/simulationAcl';
import { T0 } from '../support/builders';
import { anEngine } from '../support/engineHarness';

const MINUTE_MS = 60_000;

describe('a simulated day on the engine', () => {
  it('is accepted whole, and each simulated bad input is dead-lettered with its own code', async () => {
    const sim = simulateDay({ seed: 5, siteId: 'site-e', startMs: T0, frequencySampleMs: 30_000 });
    const maxMessageAgeMs = 300_000;
    const bad = simulatedBadInputs(sim, { maxMessageAgeMs });
    const raw = serializeInputs(sim.inputs, bad);
    const h = await anEngine({
      acl: simulationAcl('site-e', sim.sources),
      ingress: { maxMessageAgeS: maxMessageAgeMs / 1000 },
    });
    let next = 0;
    // Minute batches, as the demo runner feeds the bus.
    for (let nowMs = sim.startMs; nowMs <= sim.endMs; nowMs += MINUTE_MS) {
      h.clock.advanceTo(nowMs);
      while (next < raw.length && raw[next].atMs <= nowMs) {
        const r = raw[next++];
        h.bus.produce(r.topic, r.key, r.value);
      }
      await h.deliver();
      await h.engine.tick();
    }
    expect(next).toBe(raw.length);
    const codes = h.deadLetters().map((d: { errorCode: string }) => d.errorCode);
    expect(codes).toEqual(bad.map((b) => b.expectedCode));
    expect(h.setpoints().length).toBeGreaterThan(0);
    expect(h.acks().length).toBeGreaterThanOrEqual(2);
  });
});
