import { parentPort, workerData } from 'node:worker_threads';
import type { MessageBus } from '../core/ports/messageBus';
import type { OutboundRecord } from '../core/ports/records';
import { systemClock } from '../core/systemClock';
import { compose } from './compose';
import { type EngineHost, localEngineHost } from './engineHost';
import type { Call, EngineThreadData, FromEngineThread, ToEngineThread } from './engineThreadProtocol';

/**
 * The engine thread: the engine and everything it owns (state, planner, telemetry sink) run
 * here; the service's thread keeps the Kafka client. Inputs arrive packed, outputs go back to be
 * published, and a call is answered only once the outputs it caused were acked by the broker.
 */
const port = parentPort;
if (!port) throw new Error('engineThreadMain runs as a worker thread');
const { config } = workerData as EngineThreadData;
const send = (message: FromEngineThread, transfer?: ArrayBuffer[]) => port.postMessage(message, transfer);
const log = (line: string) => send({ op: 'log', line });

const pendingPublishes = new Map<number, { resolve(): void; reject(error: Error): void }>();
let publishSeq = 0;

/** The engine's bus here: publishing is asking the service's thread to publish. */
const threadBus: MessageBus = {
  start: async () => {},
  stop: async () => {},
  publish: (records: OutboundRecord[]) =>
    records.length === 0
      ? Promise.resolve()
      : new Promise<void>((resolve, reject) => {
          const id = ++publishSeq;
          pendingPublishes.set(id, { resolve, reject });
          send({ op: 'publish', id, records });
        }),
};

const { engine } = await compose(config, { clock: systemClock, bus: threadBus, log });
const host: EngineHost = localEngineHost(engine);

const run = (call: Call): Promise<unknown> => {
  switch (call.op) {
    case 'batch':
      return host.handleBatch(call.records);
    case 'packed':
      return host.handlePacked(call.batch);
    case 'tick':
      return host.tick();
    case 'restore':
      return host.restore(call.states);
    case 'siteIds':
      return host.siteIds();
    case 'release':
      return host.release(call.siteIds, call.snapshot);
    case 'takeDirty':
      return host.takeDirty();
    case 'snapshots':
      return host.snapshotRecords(call.siteIds);
    case 'stop':
      return host.stop();
  }
};

port.on('message', (message: ToEngineThread) => {
  if (message.op === 'published') {
    const pending = pendingPublishes.get(message.id);
    pendingPublishes.delete(message.id);
    if (message.error === undefined) pending?.resolve();
    else pending?.reject(new Error(message.error));
    return;
  }
  const { id } = message;
  run(message).then(
    (result) => send({ op: 'reply', id, result, stats: host.stats() }),
    (error: unknown) =>
      send({
        op: 'reply',
        id,
        error: error instanceof Error ? error.message : String(error),
        stats: host.stats(),
      }),
  );
});
// Ready: the service's thread starts calling once it sees the first reply.
send({ op: 'reply', id: 0, stats: host.stats() });
