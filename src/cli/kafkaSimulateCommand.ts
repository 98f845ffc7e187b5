import { Partitioners } from 'kafkajs';
import { createKafkaTopics } from '../adapters/kafka/createKafkaTopics';
import { kafkaClient } from '../adapters/kafka/kafkaClient';
import { kafkaTopicNames } from '../adapters/kafka/kafkaTopicNames';
import { simulatedBadInputs } from '../simulator/badInputs';
import { deriveSeed } from '../simulator/rng';
import { type RawSimulatedInput, serializeInputs } from '../simulator/serializeInputs';
import { simulateDay } from '../simulator/simulateDay';
import { type KafkaCliOptions, kafkaConfigFromOptions } from './kafkaConfigFromOptions';

export interface KafkaSimulateOptions extends KafkaCliOptions {
  seed: number;
  sites: number;
  evses: number;
  hours: number;
  /** Simulated seconds per wall second (default 1 = real time). */
  speed: number;
  /** Mix in one of each kind of bad input per site. */
  bad?: boolean;
}

/**
 * `evflex simulate --kafka <brokers>`: publishes the simulator's fleet, DSO, RM and frequency
 * messages for a day starting now, paced in real time (or `speed` times faster), so a person
 * can watch `evflex run` work. When sped up, each message's header `tsMs` is set to the wall
 * time it is sent, so the engine does not find it stale.
 */
export async function kafkaSimulateCommand(opts: KafkaSimulateOptions): Promise<number> {
  const config = kafkaConfigFromOptions(opts);
  await createKafkaTopics(config);
  const names = kafkaTopicNames(config.topicsPrefix);
  const startMs = Date.now();
  const inputs: RawSimulatedInput[] = [];
  for (let i = 0; i < opts.sites; i++) {
    const simulation = simulateDay({
      seed: deriveSeed(opts.seed, `site-${i}`),
      siteId: `site-${String(i + 1).padStart(4, '0')}`,
      startMs,
      durationHours: opts.hours,
      evseCount: opts.evses,
    });
    const bad = opts.bad
      ? simulatedBadInputs(simulation, { maxMessageAgeMs: config.ingress.maxMessageAgeS * 1000 })
      : [];
    inputs.push(...serializeInputs(simulation.inputs, bad));
  }
  inputs.sort((a, b) => a.atMs - b.atMs);
  const producer = kafkaClient(config.kafka as NonNullable<typeof config.kafka>).producer({
    allowAutoTopicCreation: false,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  await producer.connect();
  let stop = false;
  const onSignal = () => {
    stop = true;
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  console.error(
    `evflex simulate: ${inputs.length} messages for ${opts.sites} site(s) over ${opts.hours} h at ${opts.speed}x`,
  );
  let next = 0;
  let sent = 0;
  try {
    while (next < inputs.length && !stop) {
      const wallMs = Date.now();
      const simNowMs = startMs + (wallMs - startMs) * opts.speed;
      const due: RawSimulatedInput[] = [];
      while (next < inputs.length && (inputs[next] as RawSimulatedInput).atMs <= simNowMs)
        due.push(inputs[next++] as RawSimulatedInput);
      if (due.length > 0) {
        const byTopic = new Map<string, { key: string | null; value: string }[]>();
        for (const input of due) {
          const topic = names.physical(input.topic);
          const value = opts.speed === 1 || input.expectedCode ? input.value : restamp(input.value, wallMs);
          const list = byTopic.get(topic) ?? [];
          list.push({ key: input.key, value });
          byTopic.set(topic, list);
        }
        await producer.sendBatch({
          topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
          acks: -1,
        });
        sent += due.length;
        process.stderr.write(`\rsent ${sent}/${inputs.length}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    process.stderr.write('\n');
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await producer.disconnect();
  }
  return 0;
}

function restamp(value: string, tsMs: number): string {
  const message = JSON.parse(value) as { tsMs?: number };
  message.tsMs = tsMs;
  return JSON.stringify(message);
}
