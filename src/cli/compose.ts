import type { KafkaMessageBusOptions } from '../adapters/kafka/kafkaMessageBus';
import { MemoryBus } from '../adapters/memory/memoryBus';
import type { EvflexConfig } from '../config/configSchema';
import { createEngine, type Engine } from '../core/engine';
import { placeholderPlanner } from '../core/placeholderPlanner';
import type { Clock } from '../core/ports/clock';
import type { MessageBus } from '../core/ports/messageBus';
import type { SitePlanner } from '../core/ports/sitePlanner';
import type { TelemetrySink } from '../core/ports/telemetrySink';
import { plannerFor } from './plannerFor';

export interface Composition {
  engine: Engine;
  bus: MessageBus;
  telemetry: TelemetrySink | null;
  planner: SitePlanner;
}

export interface ComposeOptions {
  clock: Clock;
  /** Supplied by the demo to drive the in-memory bus itself; otherwise chosen from config. */
  bus?: MessageBus;
  kafkaOptions?: KafkaMessageBusOptions;
  log?: (line: string) => void;
}

/**
 * The one composition root: adapters are chosen here, from the validated config, and
 * nowhere else. No broker configured → the in-memory bus; no ClickHouse → no telemetry.
 * Adapters are loaded only when configured, so the embedded default never loads kafkajs.
 */
export async function compose(config: EvflexConfig, options: ComposeOptions): Promise<Composition> {
  const log = options.log ?? ((line: string) => console.error(line));
  let bus: MessageBus;
  if (options.bus) bus = options.bus;
  else if (config.kafka) {
    const { KafkaMessageBus } = await import('../adapters/kafka/kafkaMessageBus');
    bus = new KafkaMessageBus(config, options.clock, options.kafkaOptions);
  } else bus = new MemoryBus(options.clock);
  let telemetry: TelemetrySink | null = null;
  if (config.clickhouse) {
    const { createClickHouseTelemetrySink } = await import('../adapters/clickhouse/clickHouseTelemetrySink');
    telemetry = createClickHouseTelemetrySink({
      url: config.clickhouse.url,
      database: config.clickhouse.database,
      username: config.clickhouse.username,
      password: config.clickhouse.password,
      maxBufferedRows: config.clickhouse.maxBufferedRows,
      batchRows: config.clickhouse.batchRows,
      flushIntervalMs: config.clickhouse.flushIntervalMs,
      spillDir: config.clickhouse.spillDir ?? undefined,
      maxSpillBytes: config.clickhouse.maxSpillBytes,
      log: (level, message) => log(`[telemetry ${level}] ${message}`),
    });
  }
  const planner = config.planner.solver === 'placeholder' ? placeholderPlanner : plannerFor(config);
  const engine = createEngine({
    config,
    clock: options.clock,
    bus,
    planner,
    telemetry,
    log,
    periodicSnapshots: !config.kafka,
    // Service mode runs in real time: deferred re-plans wait for quiet input, in slices.
    schedule: config.kafka
      ? (delayMs, run) => {
          if (delayMs <= 0) setImmediate(run);
          else setTimeout(run, delayMs);
        }
      : undefined,
  });
  return { engine, bus, telemetry, planner };
}
