import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { AckMessage } from '../../../models/ack';
import type { DeadLetterMessage } from '../../../models/deadLetter';
import type { ErrorCode } from '../../../models/errorCode';
import { createKafkaTopics } from '../../../src/adapters/kafka/createKafkaTopics';
import { type KafkaService, startKafkaService } from '../../../src/cli/kafkaService';
import type { EvflexConfig } from '../../../src/config/configSchema';
import {
  aCollector,
  aKafkaConfig,
  aProducer,
  type Collector,
  produceWithKcat,
  type TestProducer,
  testBrokers,
  waitFor,
} from './kafkaTestKit';
import { completeSetpointSets, setpointsOf } from './setpointSets';
import { anEvArrival, aPowerVariation, aSite, aTopologyMessage, keyed } from './siteBuilders';

/** Service logs stay out of the test output, except a fatal one. */
/** Waits for the ack of a request and returns it. */
async function ackOf(collector: Collector, requestMessageId: string): Promise<AckMessage> {
  const find = () =>
    collector
      .of('acks')
      .map((r) => JSON.parse(r.value) as AckMessage)
      .find((a) => a.requestMessageId === requestMessageId);
  await collector.waitFor(() => find() !== undefined, 60_000, `the ack of ${requestMessageId}`);
  return find() as AckMessage;
}

const quiet = (line: string) => {
  if (line.includes('fatal')) console.error(line);
};

describe('evflex service on a real broker', () => {
  let brokers: string;
  beforeAll(() => {
    brokers = testBrokers(inject('kafkaBrokers'));
  });

  describe('one instance', () => {
    let config: EvflexConfig;
    let service: KafkaService;
    let producer: TestProducer;
    let collector: Collector;

    beforeAll(async () => {
      config = aKafkaConfig(brokers, {
        acl: [
          { siteId: '*', topic: 'dso.power-variation', sources: ['dso-1'] },
          { siteId: '*', topic: 'fleet.state', sources: ['csms-1'] },
          { siteId: '*', topic: 'fleet.meter', sources: ['csms-1'] },
          { siteId: '*', topic: 'grid.frequency', sources: ['meter-1'] },
          { siteId: '*', topic: 'rm.signals', sources: ['fo-1'] },
        ],
        // Input for a site without topology is held this long before it is dead-lettered.
        ingress: { awaitTopologyS: 3 },
      });
      await createKafkaTopics(config);
      producer = await aProducer(config);
      collector = await aCollector(config, ['setpoints', 'acks', 'deadletter']);
      service = await startKafkaService(config, { sessionTimeoutMs: 10_000, log: quiet });
      await service.assigned;
    });
    afterAll(async () => {
      await service?.stop();
      await collector?.close();
      await producer?.close();
    });

    it('fleet state and a DSO variation in → setpoints within the new limit and an ack out', async () => {
      const site = aSite('site-e2e', { importLimitKw: 120 });
      const now = Date.now();
      await producer.send('fleet.state', [keyed(aTopologyMessage(site, now))]);
      await producer.send(
        'fleet.state',
        site.evses.map((_, i) => keyed(anEvArrival(site, i, now))),
      );
      // Topics are consumed independently: let the site be known before the DSO speaks.
      await collector.waitFor(
        () => setpointsOf(collector.of('setpoints')).some((m) => m.siteId === site.siteId),
        60_000,
        'first setpoints of the site',
      );
      const variation = aPowerVariation(site, 30, Date.now());
      await producer.send('dso.power-variation', [keyed(variation)]);

      const ack = await ackOf(collector, variation.messageId);
      expect(ack.status).not.toBe('rejected');
      expect(ack.siteId).toBe(site.siteId);

      // The set decided with the variation: every EVSE of the site, the sum within 30 kW.
      await collector.waitFor(
        () =>
          [...completeSetpointSets(collector.of('setpoints')).values()].some(
            (set) => set[0]?.siteId === site.siteId && set.some((m) => m.trigger.includes('dsoVariation')),
          ),
        60_000,
        'setpoints after the variation',
      );
      const sets = [...completeSetpointSets(collector.of('setpoints')).values()].filter(
        (set) => set[0]?.siteId === site.siteId,
      );
      // Sets decided with the variation or later (the ack comes out of the same decision).
      const after = sets.filter((set) => set[0] && set[0].tsMs >= ack.tsMs);
      expect(after.length).toBeGreaterThan(0);
      for (const set of after) {
        const evses = set.flatMap((m) => m.evses);
        expect(evses).toHaveLength(site.evses.length);
        const totalKw = evses.reduce((sum, e) => sum + e.limitKw, 0);
        expect(totalKw).toBeLessThanOrEqual(30 + 1e-6);
        for (const e of evses) expect(e.validToMs).toBeGreaterThan(Date.now());
      }
    });

    it('a DSO limit read before the site topology (another topic) is held, then obeyed and acked', async () => {
      const site = aSite('site-dso-first', { importLimitKw: 120 });
      const variation = aPowerVariation(site, 25, Date.now());
      await producer.send('dso.power-variation', [keyed(variation)]);
      await new Promise((r) => setTimeout(r, 500));
      const now = Date.now();
      await producer.send('fleet.state', [
        keyed(aTopologyMessage(site, now)),
        ...site.evses.map((_, i) => keyed(anEvArrival(site, i, now))),
      ]);
      await ackOf(collector, variation.messageId);
      await collector.waitFor(
        () =>
          [...completeSetpointSets(collector.of('setpoints')).values()].some(
            (set) => set[0]?.siteId === site.siteId && set.some((m) => m.trigger.includes('arrival')),
          ),
        60_000,
        'setpoints for the arrivals',
      );
      for (const set of completeSetpointSets(collector.of('setpoints')).values()) {
        if (set[0]?.siteId !== site.siteId) continue;
        const totalKw = set.flatMap((m) => m.evses).reduce((sum, e) => sum + e.limitKw, 0);
        expect(totalKw).toBeLessThanOrEqual(25 + 1e-6);
      }
      const dead = collector.of('deadletter').map((r) => JSON.parse(r.value) as DeadLetterMessage);
      expect(dead.filter((d) => d.siteId === site.siteId)).toEqual([]);
    });

    it('every kind of bad input goes to deadletter with its code while good messages still flow', async () => {
      const site = aSite('site-bad');
      const now = Date.now();
      await producer.send('fleet.state', [keyed(aTopologyMessage(site, now))]);
      const arrival = anEvArrival(site, 0, now);
      const duplicate = { ...anEvArrival(site, 1, now), messageId: arrival.messageId };
      const stale = anEvArrival(site, 2, now - 3_600_000);
      const schemaInvalid = { ...anEvArrival(site, 3, now), status: 'exploded' };
      const unauthorized = { ...aPowerVariation(site, 50, now), source: 'someone-else' };
      const unknownSite = { ...anEvArrival(aSite('site-nobody-knows'), 0, now) };
      const unknownNode = aPowerVariation(site, 50, now, { nodeId: 'no-such-node' });
      const good = aPowerVariation(site, 40, Date.now());
      await producer.send('fleet.state', [keyed(arrival)]);
      await collector.waitFor(
        () => setpointsOf(collector.of('setpoints')).some((m) => m.siteId === site.siteId),
        60_000,
        'first setpoints of the site',
      );
      await producer.send('fleet.state', [
        { key: site.siteId, value: '{"messageId": "m-1", "siteId": ' },
        keyed(duplicate),
        keyed(stale),
        keyed(schemaInvalid),
        keyed(unknownSite),
        { key: 'site-other', value: JSON.stringify(anEvArrival(site, 4, now)) },
      ]);
      await producer.send('dso.power-variation', [keyed(unauthorized), keyed(unknownNode), keyed(good)]);

      const expected: ErrorCode[] = [
        'EVFLEX_MALFORMED_JSON',
        'EVFLEX_DUPLICATE_MESSAGE',
        'EVFLEX_STALE_MESSAGE',
        'EVFLEX_SCHEMA_INVALID',
        'EVFLEX_UNKNOWN_SITE',
        'EVFLEX_KEY_MISMATCH',
        'EVFLEX_UNAUTHORIZED_SOURCE',
        'EVFLEX_UNKNOWN_NODE',
      ];
      const codes = () =>
        new Set(collector.of('deadletter').map((r) => (JSON.parse(r.value) as DeadLetterMessage).errorCode));
      await collector.waitFor(
        () => expected.every((c) => codes().has(c)),
        60_000,
        `dead letters ${expected.join(',')}`,
      );
      const letters = collector.of('deadletter').map((r) => JSON.parse(r.value) as DeadLetterMessage);
      const malformed = letters.find((l) => l.errorCode === 'EVFLEX_MALFORMED_JSON');
      expect(malformed?.originalTopic).toBe('fleet.state');
      expect(malformed?.raw).toBe('{"messageId": "m-1", "siteId": ');
      expect(malformed?.originalOffset).not.toBeNull();
      // The good variation after the bad ones is still answered.
      await collector.waitFor(
        () =>
          collector
            .of('acks')
            .some((r) => (JSON.parse(r.value) as AckMessage).requestMessageId === good.messageId),
        60_000,
        'ack of the good variation',
      );
    });

    it('consumes messages produced by kcat, a client that is not ours', async () => {
      const site = aSite('site-kcat');
      const now = Date.now();
      await produceWithKcat(
        config,
        'fleet.state',
        [aTopologyMessage(site, now), anEvArrival(site, 0, now)].map((m) => ({
          key: m.siteId,
          value: JSON.stringify(m),
        })),
      );
      await collector.waitFor(
        () =>
          setpointsOf(collector.of('setpoints')).some(
            (m) => m.siteId === site.siteId && m.evses.some((e) => e.sessionId !== null && e.limitKw > 0),
          ),
        60_000,
        'setpoints for the kcat site',
      );
    });
  });

  it('two instances in one group split the sites; each site gets setpoints from exactly one', async () => {
    const config = aKafkaConfig(brokers, { kafka: { brokers: [brokers], partitions: 6 } });
    await createKafkaTopics(config);
    const producer = await aProducer(config);
    const collector = await aCollector(config, ['setpoints']);
    const a = await startKafkaService(
      { ...config, instanceId: 'engine-a' },
      { sessionTimeoutMs: 10_000, log: quiet },
    );
    const b = await startKafkaService(
      { ...config, instanceId: 'engine-b' },
      { sessionTimeoutMs: 10_000, log: quiet },
    );
    try {
      await Promise.all([a.assigned, b.assigned]);
      await waitFor(
        () => a.ownedPartitions().length === 3 && b.ownedPartitions().length === 3,
        60_000,
        'a 3/3 split',
      );
      const sites = Array.from({ length: 16 }, (_, i) => aSite(`site-g${i}`));
      const now = Date.now();
      await producer.send(
        'fleet.state',
        sites.map((s) => keyed(aTopologyMessage(s, now))),
      );
      await producer.send(
        'fleet.state',
        sites.map((s) => keyed(anEvArrival(s, 0, now))),
      );
      // Wait until every site's owner has applied the first arrival (its session shows up in a
      // setpoint), not only the topology: the first setpoints of a site come from its topology
      // decision, and an owner stopped before it consumed the arrivals snapshots a site without
      // that session. The new owner then (correctly) applies the arrival itself, after its
      // restore decision, and the check below would not be about snapshots at all.
      const sessionOf = (evseId: string) =>
        setpointsOf(collector.of('setpoints'))
          .flatMap((m) => m.evses)
          .some((e) => e.evseId === evseId && e.sessionId !== null);
      await collector.waitFor(
        () => sites.every((s) => sessionOf(s.evses[0]?.[1] as string)),
        60_000,
        'setpoints with the first arrival for every site',
      );
      const sources = new Map<string, Set<string>>();
      for (const m of setpointsOf(collector.of('setpoints'))) {
        const set = sources.get(m.siteId) ?? new Set();
        set.add(m.source);
        sources.set(m.siteId, set);
      }
      for (const s of sites) expect([...(sources.get(s.siteId) ?? [])], s.siteId).toHaveLength(1);
      const used = new Set([...sources.values()].map((set) => [...set][0]));
      expect(used).toEqual(new Set(['engine-a', 'engine-b']));

      // B leaves gracefully: A takes its sites over from B's snapshots, and versions go on rising.
      const lastVersionOf = (source?: string) => {
        const versions = new Map<string, number>();
        for (const m of setpointsOf(collector.of('setpoints'))) {
          if (source && m.source !== source) continue;
          for (const e of m.evses) versions.set(e.evseId, Math.max(versions.get(e.evseId) ?? 0, e.version));
        }
        return versions;
      };
      const bSites = sites.filter((s) => [...(sources.get(s.siteId) ?? [])][0] === 'engine-b');
      const beforeHandover = lastVersionOf('engine-b');
      await b.stop();
      await waitFor(() => a.ownedPartitions().length === 6, 60_000, 'A owns every partition');
      await producer.send(
        'fleet.state',
        bSites.map((s) => keyed(anEvArrival(s, 1, Date.now()))),
      );
      // A's complete sets decided after the second arrival (its session is in them). Not just any
      // complete set from A: A's first set for a taken-over site is its restore decision, made
      // from the snapshot before A has read the partition's backlog from B's committed offset,
      // and the sets decided after it may still be on their way when it is collected. "The
      // latest set seen so far" is then not A's latest decision.
      const afterSecondArrival = () =>
        [...completeSetpointSets(collector.of('setpoints')).values()].filter((set) => {
          const site = bSites.find((s) => s.siteId === set[0]?.siteId);
          const secondEvse = site?.evses[1]?.[1];
          return (
            set[0]?.source === 'engine-a' &&
            set.some((m) => m.evses.some((e) => e.evseId === secondEvse && e.sessionId !== null))
          );
        });
      await collector.waitFor(
        () => {
          const decided = new Set(afterSecondArrival().map((set) => set[0]?.siteId));
          return bSites.every((s) => decided.has(s.siteId));
        },
        60_000,
        "A's complete setpoint sets with the second arrival for B's former sites",
      );
      const afterHandover = lastVersionOf('engine-a');
      for (const [evseId, version] of beforeHandover) {
        expect(afterHandover.get(evseId), evseId).toBeGreaterThan(version);
      }
      // A took the sessions over from B's snapshots: the first arrival is still there.
      for (const site of bSites) {
        const firstEvse = site.evses[0]?.[1] as string;
        const sets = afterSecondArrival().filter((set) => set[0]?.siteId === site.siteId);
        for (const set of sets) {
          const first = set.flatMap((m) => m.evses).find((e) => e.evseId === firstEvse);
          expect(first?.sessionId, firstEvse).not.toBeNull();
        }
      }
    } finally {
      await b.stop();
      await a.stop();
      await collector.close();
      await producer.close();
    }
  });
});
