/**
 * The ingest baseline of bench:latency in a process of its own, like the service under test:
 * a bare kafkajs consumer in a fresh group reads `expected` records of a topic from the start,
 * and the time and CPU from joining the group to having read them all are sent back. With
 * `parse`, it also turns each value into a string and JSON.parses it (context: the least any
 * consumer of JSON messages does).
 *
 *   parent → child (once): { brokers, topic, expected, parse }
 *   child → parent (once): { msgsPerS, steadyMsgsPerS, cpuUs } (steadyMsgsPerS: the rate after the
 *   first WARM_FRACTION of the records, past start-up; cpuUs: this process, all threads, over the
 *   whole span)
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { kafkaClient } from '../../src/adapters/kafka/kafkaClient';

interface Request {
  brokers: string;
  topic: string;
  expected: number;
  parse: boolean;
}

/** Rates past start-up (JIT, first fetches) count from when this share of the records was read. */
export const WARM_FRACTION = 0.2;

export interface BareIngestResult {
  msgsPerS: number;
  steadyMsgsPerS: number;
  cpuUs: number;
}

const cpuUs = () => {
  const { user, system } = process.cpuUsage();
  return user + system;
};

async function bareIngest({ brokers, topic, expected, parse }: Request) {
  const kafka = kafkaClient({ brokers: [brokers], clientId: 'bench-bare' });
  const consumer = kafka.consumer({
    groupId: `bench-bare-${randomBytes(4).toString('hex')}`,
    maxWaitTimeInMs: 100,
  });
  let count = 0;
  let startMs = 0;
  let startCpuUs = 0;
  consumer.on(consumer.events.GROUP_JOIN, () => {
    startMs = performance.now();
    startCpuUs = cpuUs();
  });
  let warmMs = 0;
  let warmCount = 0;
  let finish: (result: BareIngestResult) => void = () => {};
  const done = new Promise<BareIngestResult>((resolve) => {
    finish = resolve;
  });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachBatch: async ({ batch }) => {
      if (parse) for (const m of batch.messages) JSON.parse(m.value?.toString('utf8') ?? 'null');
      count += batch.messages.length;
      if (warmMs === 0 && count >= expected * WARM_FRACTION) {
        warmMs = performance.now();
        warmCount = count;
      }
      if (count >= expected) {
        const endMs = performance.now();
        finish({
          msgsPerS: expected / ((endMs - startMs) / 1000),
          steadyMsgsPerS: (expected - warmCount) / ((endMs - warmMs) / 1000),
          cpuUs: cpuUs() - startCpuUs,
        });
      }
    },
  });
  const result = await done;
  await consumer.disconnect();
  return result;
}

process.once('message', (request: Request) => {
  bareIngest(request).then(
    (result) => process.send?.(result, () => process.exit(0)),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
});
// The benchmark went away: do not outlive it.
process.on('disconnect', () => process.exit(1));
