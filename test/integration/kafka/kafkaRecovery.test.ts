import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import type { DeadLetterMessage } from '../../../models/deadLetter';
import type { EvseStateMessage } from '../../../models/fleetState';
import { createKafkaTopics } from '../../../src/adapters/kafka/createKafkaTopics';
import { KafkaSnapshotStore } from '../../../src/adapters/kafka/kafkaSnapshotStore';
import { createRng } from '../../../src/simulator/rng';
import { startEngineProcess } from './engineProcessHandle';
import { aCollector, aKafkaConfig, aProducer, testBrokers, waitFor } from './kafkaTestKit';
import { setpointsOf } from './setpointSets';
import { anEvArrival, aSite, aTopologyMessage, keyed, type TestSite } from './siteBuilders';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('engine process killed with SIGKILL mid-stream and restarted', () => {
  let brokers: string;
  beforeAll(() => {
    brokers = testBrokers(inject('kafkaBrokers'));
  });

  it('leaves no live session without a valid setpoint, no version going backwards, no input skipped or applied twice', async () => {
    const config = aKafkaConfig(brokers);
    await createKafkaTopics(config);
    const dir = mkdtempSync(join(tmpdir(), 'evflex-recovery-'));
    const configPath = join(dir, 'config.json');
    writeFileSync(
      configPath,
      JSON.stringify({
        instanceId: 'engine-1',
        topicsPrefix: config.topicsPrefix,
        kafka: { brokers: [brokers], groupId: config.kafka?.groupId, partitions: 4 },
      }),
    );
    const producer = await aProducer(config);
    const collector = await aCollector(config, ['setpoints', 'deadletter']);
    const sites: TestSite[] = Array.from({ length: 8 }, (_, i) => aSite(`site-r${i}`));
    /** Latest session id we reported per EVSE (null = no EV). */
    const live = new Map<string, string | null>();
    const produced: string[] = [];
    const rng = createRng(7);

    const step = async () => {
      const messages: { key: string; value: string }[] = [];
      for (let n = 0; n < 4; n++) {
        const site = sites[Math.floor(rng.next() * sites.length)] as TestSite;
        const e = Math.floor(rng.next() * site.evses.length);
        const [stationId, evseId] = site.evses[e] as [string, string];
        const now = Date.now();
        const current = live.get(evseId) ?? null;
        let message: EvseStateMessage;
        if (current === null) {
          message = anEvArrival(site, e, now, { sessionId: `${evseId}-${now}-${n}` });
        } else if (rng.next() < 0.4) {
          message = { ...anEvArrival(site, e, now), status: 'available', session: null, stationId, evseId };
        } else {
          const arrival = anEvArrival(site, e, now, { sessionId: current });
          message = {
            ...arrival,
            session: { ...(arrival.session as NonNullable<EvseStateMessage['session']>), socPct: 30 + n },
          };
        }
        live.set(evseId, message.session ? message.session.sessionId : null);
        produced.push(message.messageId);
        messages.push(keyed(message));
      }
      await producer.send('fleet.state', messages);
    };

    let engine = startEngineProcess(brokers, configPath);
    try {
      await engine.assigned();
      const now = Date.now();
      const topologies = sites.map((s) => aTopologyMessage(s, now));
      for (const t of topologies) produced.push(t.messageId);
      await producer.send('fleet.state', topologies.map(keyed));
      for (let i = 0; i < 40; i++) {
        await step();
        await sleep(50);
      }
      await collector.waitFor(() => collector.of('setpoints').length > 0, 30_000, 'first setpoints');
      // Mid-stream: kill without any chance to clean up, keep producing while it is down.
      engine.kill('SIGKILL');
      await engine.exited();
      for (let i = 0; i < 20; i++) {
        await step();
        await sleep(50);
      }
      engine = startEngineProcess(brokers, configPath);
      await engine.assigned();
      expect(engine.log()).toMatch(/assigned partitions \[[0-9,]+\], [1-9]\d* sites restored/);
      for (let i = 0; i < 30; i++) {
        await step();
        await sleep(50);
      }

      // Every EVSE's newest setpoint names the session we last reported, and is valid now.
      const latest = () => {
        const byEvse = new Map<string, { version: number; sessionId: string | null; validToMs: number }>();
        for (const m of setpointsOf(collector.of('setpoints'))) {
          for (const e of m.evses) {
            const prev = byEvse.get(e.evseId);
            if (!prev || e.version > prev.version) byEvse.set(e.evseId, e);
          }
        }
        return byEvse;
      };
      await waitFor(
        () => {
          const byEvse = latest();
          return [...live].every(([evseId, sessionId]) => byEvse.get(evseId)?.sessionId === sessionId);
        },
        60_000,
        'setpoints naming every reported session',
      );
      const byEvse = latest();
      for (const [evseId, sessionId] of live) {
        if (sessionId === null) continue;
        expect(byEvse.get(evseId)?.validToMs, evseId).toBeGreaterThan(Date.now());
      }

      // Versions never go backwards, per EVSE, in the order a CSMS receives them.
      const lastVersion = new Map<string, number>();
      for (const m of setpointsOf(collector.of('setpoints'))) {
        for (const e of m.evses) {
          expect(e.version, `${e.evseId} went backwards`).toBeGreaterThanOrEqual(
            lastVersion.get(e.evseId) ?? 0,
          );
          lastVersion.set(e.evseId, e.version);
        }
      }

      // Graceful stop publishes final snapshots: every input we produced is in some site's history.
      engine.kill('SIGTERM');
      expect(await engine.exited()).toBe(0);
      const states = await new KafkaSnapshotStore(config).load();
      const seen = new Set([...states.values()].flatMap((s) => s.recentMessageIds));
      const missing = produced.filter((id) => !seen.has(id));
      if (missing.length > 0) console.error(engine.log().slice(-5000));
      expect(missing, 'inputs skipped').toEqual([]);
      // Nothing applied twice: a replayed input the snapshot already had would be refused as a duplicate.
      const duplicates = collector
        .of('deadletter')
        .map((r) => JSON.parse(r.value) as DeadLetterMessage)
        .filter((d) => d.errorCode === 'EVFLEX_DUPLICATE_MESSAGE');
      expect(duplicates).toEqual([]);
      expect(collector.of('deadletter')).toEqual([]);
    } finally {
      engine.kill('SIGKILL');
      await collector.close();
      await producer.close();
    }
  });
});
