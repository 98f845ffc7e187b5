/**
 * The Kafka service in a process of its own, for bench:latency: started, queried and stopped
 * over the IPC channel of `fork`, so the engine's threads share nothing with the measuring
 * clients (as a CSMS and a DSO would see it).
 *
 *   parent → child: { op: 'start', config } | { op: 'stats' } | { op: 'flush' } | { op: 'stop' }
 *   child → parent: { op, ok: true, stats?, cpuUs, error? } answering each, in order (cpuUs: this
 *   process's CPU time so far, all threads, µs)
 */

import { type KafkaService, startKafkaService } from '../../src/cli/kafkaService';
import type { EvflexConfig } from '../../src/config/configSchema';

type Request = { op: 'start'; config: EvflexConfig } | { op: 'stats' } | { op: 'flush' } | { op: 'stop' };

let service: KafkaService | null = null;
const cpuUs = () => {
  const { user, system } = process.cpuUsage();
  return user + system;
};
const reply = (message: object) => process.send?.(message);

let queue: Promise<void> = Promise.resolve();
process.on('message', (request: Request) => {
  queue = queue.then(async () => {
    try {
      switch (request.op) {
        case 'start':
          service = await startKafkaService(request.config, { log: () => {} });
          await service.assigned;
          break;
        case 'flush':
          await service?.engine.handleBatch([]);
          break;
        case 'stop':
          await service?.stop();
          reply({ op: 'stop', ok: true, stats: service?.engine.stats() });
          process.exit(0);
          return;
        case 'stats':
          break;
      }
      reply({ op: request.op, ok: true, stats: service?.engine.stats(), cpuUs: cpuUs() });
    } catch (error) {
      reply({ op: request.op, ok: false, error: String(error) });
    }
  });
});

// The benchmark went away (crashed or killed): do not outlive it.
process.on('disconnect', () => process.exit(1));
