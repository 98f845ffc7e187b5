import { Kafka, type KafkaConfig, logLevel } from 'kafkajs';

export interface KafkaConnection {
  brokers: string[];
  clientId: string;
}

const LEVELS: Record<string, logLevel> = {
  nothing: logLevel.NOTHING,
  error: logLevel.ERROR,
  warn: logLevel.WARN,
  info: logLevel.INFO,
  debug: logLevel.DEBUG,
};

/**
 * The one place a kafkajs client is built. Logs go to stderr as JSON lines at the level in
 * EVFLEX_KAFKA_LOG (default error), so stdout stays free for the CLI's own output.
 */
export function kafkaClient(connection: KafkaConnection, overrides: Partial<KafkaConfig> = {}): Kafka {
  const level = LEVELS[(process.env.EVFLEX_KAFKA_LOG ?? 'error').toLowerCase()] ?? logLevel.ERROR;
  return new Kafka({
    clientId: connection.clientId,
    brokers: connection.brokers,
    logLevel: level,
    logCreator:
      () =>
      ({ namespace, level: entryLevel, log }) => {
        // Per-request errors (not leader, coordinator loading, rebalancing) are retried by
        // kafkajs and are noise unless debugging.
        if (namespace === 'Connection' && level < logLevel.INFO) return;
        const { message, ...extra } = log;
        process.stderr.write(
          `${JSON.stringify({ level: logLevel[entryLevel], ns: `kafkajs.${namespace}`, message, ...extra })}\n`,
        );
      },
    connectionTimeout: 3_000,
    requestTimeout: 30_000,
    retry: { initialRetryTime: 100, retries: 8 },
    ...overrides,
  });
}
