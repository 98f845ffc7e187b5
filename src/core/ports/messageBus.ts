import type { InboundRecord, OutboundRecord } from './records';

export interface BusHandlers {
  /**
   * Called with a batch of input records. The returned promise resolves once every
   * output the batch caused has been accepted by the bus (Kafka: acked by the broker);
   * only then may the bus commit the batch's offsets (offset + 1).
   */
  onBatch(batch: InboundRecord[]): Promise<void>;
  /** Partitions of the input topics this instance now owns (Kafka rebalance). */
  onAssigned?(partitions: number[]): Promise<void>;
  /** Partitions about to be taken away: snapshot and release their sites. */
  onRevoked?(partitions: number[]): Promise<void>;
}

/** Port for the message transport: the in-memory bus (embedded default) or Kafka. */
export interface MessageBus {
  start(handlers: BusHandlers): Promise<void>;
  publish(records: OutboundRecord[]): Promise<void>;
  stop(): Promise<void>;
}
