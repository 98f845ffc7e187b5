import type { InputTopic, OutputTopic } from '../../../models/topics';
import type { Clock } from '../../core/ports/clock';
import type { BusHandlers, MessageBus } from '../../core/ports/messageBus';
import type { InboundRecord, OutboundRecord } from '../../core/ports/records';

type OutputListener = (record: OutboundRecord) => void;

/**
 * The embedded default transport: an in-process, single-partition log per topic.
 * Producers append input records; `deliver()` hands everything pending to the engine as
 * one batch (so a burst is coalesced, as a Kafka batch would be). Published outputs are
 * kept per topic and pushed to listeners, which is how the demo's fleet plays the CSMS.
 */
export class MemoryBus implements MessageBus {
  private handlers: BusHandlers | null = null;
  private pending: InboundRecord[] = [];
  private nextOffset = new Map<InputTopic, bigint>();
  private readonly outputLog = new Map<OutputTopic, OutboundRecord[]>();
  private readonly listeners = new Map<OutputTopic, OutputListener[]>();

  constructor(
    private readonly clock: Clock,
    private readonly options: { keepOutputs?: boolean } = {},
  ) {}

  async start(handlers: BusHandlers): Promise<void> {
    this.handlers = handlers;
  }

  async stop(): Promise<void> {
    this.handlers = null;
  }

  /** Appends one raw input record (the value is the wire string, possibly invalid). */
  produce(topic: InputTopic, key: string | null, value: string): void {
    const offset = this.nextOffset.get(topic) ?? 0n;
    this.nextOffset.set(topic, offset + 1n);
    this.pending.push({
      topic,
      key,
      value,
      partition: 0,
      offset: offset.toString(),
      receivedMs: this.clock.nowMs(),
    });
  }

  /** Hands all pending input to the engine as one batch and waits for its outputs. */
  async deliver(): Promise<number> {
    if (!this.handlers) throw new Error('memory bus not started');
    const batch = this.pending;
    if (batch.length === 0) return 0;
    this.pending = [];
    await this.handlers.onBatch(batch);
    return batch.length;
  }

  async publish(records: OutboundRecord[]): Promise<void> {
    for (const record of records) {
      if (this.options.keepOutputs !== false) {
        const log = this.outputLog.get(record.topic) ?? [];
        log.push(record);
        this.outputLog.set(record.topic, log);
      }
      for (const listener of this.listeners.get(record.topic) ?? []) listener(record);
    }
  }

  onOutput(topic: OutputTopic, listener: OutputListener): void {
    const list = this.listeners.get(topic) ?? [];
    list.push(listener);
    this.listeners.set(topic, list);
  }

  outputs(topic: OutputTopic): readonly OutboundRecord[] {
    return this.outputLog.get(topic) ?? [];
  }
}
