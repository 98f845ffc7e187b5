import type { TestProject } from 'vitest/node';
import { startClickHouse } from '../../infra/clickhouse/clickhouseServer';
import { startKafka } from '../../infra/kafka/kafkaServer';

declare module 'vitest' {
  export interface ProvidedContext {
    kafkaBrokers: string;
    clickhouseUrl: string;
  }
}

/**
 * Starts a real single-node Kafka broker and a real ClickHouse server on 127.0.0.1 with
 * fresh data dirs for the integration project, and stops both by their own pid.
 */
export default async function setup(project: TestProject) {
  const [kafka, clickhouse] = await Promise.all([startKafka(), startClickHouse()]);
  project.provide('kafkaBrokers', kafka.brokers);
  project.provide('clickhouseUrl', clickhouse.url);
  process.env.EVFLEX_TEST_KAFKA = kafka.brokers;
  process.env.EVFLEX_TEST_CLICKHOUSE_URL = clickhouse.url;
  return async () => {
    await Promise.allSettled([kafka.stop(), clickhouse.stop()]);
  };
}
