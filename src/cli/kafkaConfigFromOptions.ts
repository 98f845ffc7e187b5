import { readFileSync } from 'node:fs';
import type { EvflexConfig } from '../config/configSchema';
import { parseConfig } from '../config/loadConfig';

export interface KafkaCliOptions {
  /** Comma-separated bootstrap brokers, e.g. 127.0.0.1:9092. */
  kafka: string;
  /** Optional JSON config file; --kafka and the other flags override it. */
  config?: string;
  topicsPrefix?: string;
  groupId?: string;
  instanceId?: string;
  partitions?: number;
}

/** The one validated config for the Kafka sub-commands: file (if any) + command-line overrides. */
export function kafkaConfigFromOptions(opts: KafkaCliOptions): EvflexConfig {
  const raw = opts.config ? (JSON.parse(readFileSync(opts.config, 'utf8')) as Record<string, unknown>) : {};
  const rawKafka = (raw.kafka ?? {}) as Record<string, unknown>;
  return parseConfig({
    ...raw,
    ...(opts.topicsPrefix !== undefined ? { topicsPrefix: opts.topicsPrefix } : {}),
    ...(opts.instanceId !== undefined ? { instanceId: opts.instanceId } : {}),
    kafka: {
      ...rawKafka,
      brokers: opts.kafka
        .split(',')
        .map((b) => b.trim())
        .filter(Boolean),
      ...(opts.groupId !== undefined ? { groupId: opts.groupId } : {}),
      ...(opts.partitions !== undefined ? { partitions: opts.partitions } : {}),
    },
  });
}
