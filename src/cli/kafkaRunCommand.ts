import { createKafkaTopics } from '../adapters/kafka/createKafkaTopics';
import { type KafkaCliOptions, kafkaConfigFromOptions } from './kafkaConfigFromOptions';
import { startKafkaService } from './kafkaService';

export interface KafkaRunOptions extends KafkaCliOptions {
  /** Create missing topics before joining the group (default true). */
  createTopics?: boolean;
  sessionTimeoutMs?: number;
  checkpointIntervalMs?: number;
}

/**
 * `evflex run --kafka <brokers>`: the engine as a long-lived group member. SIGTERM or SIGINT
 * stops it gracefully (finish the batch in flight, snapshot and release every site, commit,
 * leave the group); a second signal exits at once.
 */
export async function kafkaRunCommand(opts: KafkaRunOptions): Promise<number> {
  const config = kafkaConfigFromOptions(opts);
  if (opts.createTopics !== false) await createKafkaTopics(config);
  let fatalError: Error | null = null;
  let wake: () => void = () => {};
  const stopRequested = new Promise<void>((resolve) => {
    wake = resolve;
  });
  const service = await startKafkaService(config, {
    sessionTimeoutMs: opts.sessionTimeoutMs,
    checkpointIntervalMs: opts.checkpointIntervalMs,
    onFatal: (error) => {
      fatalError = error;
      wake();
    },
  });
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals++;
    if (signals > 1) process.exit(130);
    console.error(`evflex: ${signal}, stopping`);
    wake();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  console.error(
    `evflex: instance ${config.instanceId} in group ${config.kafka?.groupId} on ${config.kafka?.brokers.join(',')}`,
  );
  await stopRequested;
  await service.stop();
  process.off('SIGTERM', onSignal);
  process.off('SIGINT', onSignal);
  const stats = service.engine.stats();
  console.error(`evflex: stopped; ${JSON.stringify(stats)}`);
  return fatalError ? 1 : 0;
}
