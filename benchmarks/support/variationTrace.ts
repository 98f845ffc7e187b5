/**
 * Where a DSO variation's time goes inside the service, for bench:latency's
 * EVFLEX_BENCH_TRACE=1: when the service handed the variation to its engine, and when it
 * started and finished publishing the outputs that ack it. Times are absolute milliseconds
 * (performance.timeOrigin + now), comparable across the benchmark's processes.
 */
import { performance } from 'node:perf_hooks';
import type { AckMessage } from '../../models/ack';
import type { KafkaService } from '../../src/cli/kafkaService';

export interface VariationTimes {
  /** The consumer handed the batch holding the variation to the engine. */
  inputMs: number;
  publishStartMs: number;
  /** The broker acknowledged the outputs (acks = all). */
  publishEndMs: number;
}

const absNowMs = () => performance.timeOrigin + performance.now();
const DSO_TOPIC = 'dso.power-variation';

/** Starts tracing the service's variations; the returned function stops and hands the times over. */
export function traceVariations(service: KafkaService): () => Map<string, VariationTimes> {
  const times = new Map<string, VariationTimes>();
  const inputAt = new Map<string, number>();
  const noteInput = (values: string[]) => {
    const nowMs = absNowMs();
    for (const value of values) {
      const { messageId } = JSON.parse(value) as { messageId?: string };
      if (messageId) inputAt.set(messageId, nowMs);
    }
  };
  const { engine, bus } = service;
  const handlePacked = engine.handlePacked;
  const handleBatch = engine.handleBatch;
  const publish = bus.publish;
  const decoder = new TextDecoder();
  engine.handlePacked = (batch) => {
    if (batch.topic === DSO_TOPIC) {
      const values: string[] = [];
      for (let i = 0; i < batch.count; i++) {
        const start = batch.bounds[i * 3 + 1] as number;
        const valueStart = start < 0 ? (batch.bounds[i * 3] as number) : start;
        values.push(decoder.decode(batch.bytes.subarray(valueStart, batch.bounds[i * 3 + 2])));
      }
      noteInput(values);
    }
    return handlePacked.call(engine, batch);
  };
  engine.handleBatch = (records, behindRecords) => {
    noteInput(records.filter((r) => r.topic === DSO_TOPIC).map((r) => r.value));
    return handleBatch.call(engine, records, behindRecords);
  };
  bus.publish = async (records) => {
    const publishStartMs = absNowMs();
    await publish.call(bus, records);
    const publishEndMs = absNowMs();
    for (const r of records) {
      if (r.topic !== 'acks') continue;
      const { requestMessageId } = JSON.parse(r.value) as AckMessage;
      const inputMs = inputAt.get(requestMessageId);
      if (inputMs !== undefined) times.set(requestMessageId, { inputMs, publishStartMs, publishEndMs });
    }
  };
  return () => {
    engine.handlePacked = handlePacked;
    engine.handleBatch = handleBatch;
    bus.publish = publish;
    return times;
  };
}
