import { performance } from 'node:perf_hooks';
import type { EngineHost } from '../../src/cli/engineHost';

/** When the engine had taken in the warm-up share and all of the records (epoch ms), and its decisions by then. */
export interface IngestTimes {
  warmAtMs: number;
  endAtMs: number;
  decisions: number;
}

/** Epoch milliseconds, fractional: comparable across the benchmark's processes. */
export const epochMs = () => performance.timeOrigin + performance.now();

/**
 * Waits in the service's own process until its engine has taken in `records` records, then
 * until what they caused is done. The engine's counters are read locally each millisecond,
 * which costs next to nothing; the benchmark asking over IPC every few milliseconds took CPU
 * from the service it measures (its Kafka thread answers IPC) and from the cores they share.
 */
export async function awaitIngested(
  engine: EngineHost,
  records: number,
  warmRecords: number,
): Promise<IngestTimes> {
  let warmAtMs = 0;
  for (let recordsIn = engine.stats().recordsIn; recordsIn < records; recordsIn = engine.stats().recordsIn) {
    if (warmAtMs === 0 && recordsIn >= warmRecords) warmAtMs = epochMs();
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  if (warmAtMs === 0) warmAtMs = epochMs();
  await engine.handleBatch([]);
  return { warmAtMs, endAtMs: epochMs(), decisions: engine.stats().decisions };
}
