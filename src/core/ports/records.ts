import type { InputTopic, OutputTopic } from '../../../models/topics';

/** A raw input record as a bus delivers it, before any parsing (topic is the logical name). */
export interface InboundRecord {
  topic: InputTopic;
  key: string | null;
  value: string;
  partition: number;
  /** Bus-specific position, as a decimal string (Kafka offsets exceed 2^53 in theory). */
  offset: string;
  /** When the bus received it, from the injected clock. */
  receivedMs: number;
}

/** A record the engine wants published; `key` decides the partition. */
export interface OutboundRecord {
  topic: OutputTopic;
  key: string;
  value: string;
}
