import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/loadConfig';
import { createEngine } from '../../src/core/engine';
import { placeholderPlanner } from '../../src/core/placeholderPlanner';
import type { InboundRecord, OutboundRecord } from '../../src/core/ports/records';
import { VirtualClock } from '../../src/core/virtualClock';
import { anEv, anEvArrival, aPowerVariation, aSite, aTopologyMessage, T0 } from '../support/builders';

const site = aSite({ siteId: 'site-q', siteLimitKw: 60, zones: [{ limitKw: 60, stations: 2 }] });
let offset = 0;
const record = (topic: InboundRecord['topic'], message: { siteId: string }): InboundRecord => ({
  topic,
  key: message.siteId,
  value: JSON.stringify(message),
  partition: 0,
  offset: String(offset++),
  receivedMs: T0,
});

describe('publishing is pipelined, completion stays in order', () => {
  it('hands a unit to the bus before the previous unit was acked; units resolve in order; a failure fails only its unit', async () => {
    const sends: { records: OutboundRecord[]; ack(): void; fail(): void }[] = [];
    const bus = {
      start: async () => {},
      stop: async () => {},
      publish: (records: OutboundRecord[]) =>
        new Promise<void>((resolve, reject) => {
          sends.push({ records, ack: resolve, fail: () => reject(new Error('broker said no')) });
        }),
    };
    const engine = createEngine({
      config: parseConfig({}),
      clock: new VirtualClock(T0),
      bus,
      planner: placeholderPlanner,
      log: () => {},
    });
    const done: string[] = [];
    const first = engine
      .handleBatch([
        record('fleet.state', aTopologyMessage(site, T0)),
        record('fleet.state', anEvArrival('site-q', 'z1-s1-e1', anEv(), T0)),
      ])
      .then(() => done.push('first'));
    const second = engine
      .handleBatch([record('dso.power-variation', aPowerVariation('site-q', { importLimitKw: 5 }, T0))])
      .then(
        () => done.push('second'),
        () => done.push('second failed'),
      );
    const third = engine
      .handleBatch([record('dso.power-variation', aPowerVariation('site-q', { importLimitKw: 4 }, T0))])
      .then(() => done.push('third'));
    await new Promise((r) => setTimeout(r, 5));
    // All three units were handed to the bus although none was acked yet.
    expect(sends).toHaveLength(3);
    expect(sends[1]?.records.some((r) => r.topic === 'acks')).toBe(true);
    sends[2]?.ack();
    sends[1]?.fail();
    await new Promise((r) => setTimeout(r, 5));
    expect(done).toEqual([]); // the first is not acked yet: nothing completes before it
    sends[0]?.ack();
    await Promise.all([first, second, third]);
    expect(done).toEqual(['first', 'second failed', 'third']);
  });
});
