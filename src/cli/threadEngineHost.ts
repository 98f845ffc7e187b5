import { Worker } from 'node:worker_threads';
import { transferablesOf } from '../adapters/thread/packedRecords';
import type { EvflexConfig } from '../config/configSchema';
import type { EngineStats } from '../core/engine';
import { EvflexError } from '../core/evflexError';
import type { MessageBus } from '../core/ports/messageBus';
import type { OutboundRecord } from '../core/ports/records';
import type { EngineHost } from './engineHost';
import type { Call, EngineThreadData, FromEngineThread, ToEngineThread } from './engineThreadProtocol';

export interface ThreadEngineHostOptions {
  /** Where the engine's outputs go (the service's Kafka bus). */
  bus: MessageBus;
  log: (line: string) => void;
  /** The engine thread died: the service cannot go on. */
  onFatal: (error: Error) => void;
}

type CallWithoutId = Call extends infer C ? (C extends { id: number } ? Omit<C, 'id'> : never) : never;

/**
 * Runs the engine on a thread of its own. The service's thread then only moves bytes: it reads
 * Kafka, hands each partition batch over packed (no per-record string work here), and publishes
 * what the engine asks it to. Planning and validation never hold up the consumer's fetches and
 * heartbeats, or the producer's acks, and on two cores the two halves run side by side.
 */
const ENGINE_YOUNG_GENERATION_MB = 96;

export async function startThreadEngineHost(
  config: EvflexConfig,
  options: ThreadEngineHostOptions,
): Promise<EngineHost> {
  const data: EngineThreadData = { entry: new URL('./engineThreadMain.ts', import.meta.url).href, config };
  const worker = new Worker(new URL('../adapters/thread/tsWorkerBootstrap.mjs', import.meta.url), {
    workerData: data,
    // Every input record leaves a parsed message behind; with V8's default young generation
    // (16 MB semi-spaces) they are scavenged and copied while still alive. 32 MB semi-spaces
    // (a 96 MB young generation) cut the engine thread's CPU per fleet-state record by ~20 %
    // (7.4–8.0 → 6.1–6.4 µs, infra/kafka/README.md "Ingest").
    resourceLimits: { maxYoungGenerationSizeMb: ENGINE_YOUNG_GENERATION_MB },
  });
  const pending = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();
  let seq = 0;
  let lastStats: EngineStats | null = null;
  let dead: Error | null = null;
  let ready: () => void = () => {};
  const started = new Promise<void>((resolve, reject) => {
    ready = resolve;
    worker.once('error', reject);
  });

  worker.on('message', (message: FromEngineThread) => {
    switch (message.op) {
      case 'log':
        options.log(message.line);
        return;
      case 'publish': {
        const reply = (error?: unknown) =>
          worker.postMessage({
            op: 'published',
            id: message.id,
            ...(error === undefined ? {} : { error: error instanceof Error ? error.message : String(error) }),
          } satisfies ToEngineThread);
        options.bus.publish(message.records).then(() => reply(), reply);
        return;
      }
      case 'reply': {
        lastStats = message.stats;
        if (message.id === 0) return ready();
        const call = pending.get(message.id);
        pending.delete(message.id);
        if (message.error === undefined) call?.resolve(message.result);
        else call?.reject(new EvflexError('EVFLEX_ENGINE_FAILED', message.error));
      }
    }
  });
  worker.on('error', (error) => {
    dead = error;
    for (const call of pending.values()) call.reject(error);
    pending.clear();
    options.onFatal(new EvflexError('EVFLEX_ENGINE_FAILED', 'engine thread failed', { cause: error }));
  });
  await started;

  const call = <T>(message: CallWithoutId, transfer?: ArrayBuffer[]): Promise<T> => {
    if (dead) return Promise.reject(dead);
    return new Promise<T>((resolve, reject) => {
      const id = ++seq;
      pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      worker.postMessage({ ...message, id } as Call, transfer);
    });
  };

  return {
    handleBatch: (records) => call({ op: 'batch', records }),
    handlePacked: (batch) => call({ op: 'packed', batch }, transferablesOf(batch)),
    tick: () => call({ op: 'tick' }),
    restore: (states) => call({ op: 'restore', states }),
    siteIds: () => call<string[]>({ op: 'siteIds' }),
    release: (siteIds, snapshot) => call<OutboundRecord[]>({ op: 'release', siteIds, snapshot }),
    takeDirty: () => call<string[]>({ op: 'takeDirty' }),
    snapshotRecords: (siteIds) => call<OutboundRecord[]>({ op: 'snapshots', siteIds }),
    stats: () => lastStats as EngineStats,
    async stop() {
      if (!dead) await call({ op: 'stop' });
      await worker.terminate();
    },
  };
}
