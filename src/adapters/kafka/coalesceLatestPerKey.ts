import type { InboundRecord } from '../../core/ports/records';

/**
 * Keeps only the last record per key, in offset order. Only for topics where the latest value
 * supersedes earlier ones (frequency); never for DSO, RM or fleet messages. The dropped
 * records are still committed: their effect is superseded, not lost.
 */
export function coalesceLatestPerKey(records: InboundRecord[]): InboundRecord[] {
  if (records.length < 2) return records;
  const lastIndexByKey = new Map<string | null, number>();
  for (let i = 0; i < records.length; i++) lastIndexByKey.set(records[i]?.key ?? null, i);
  if (lastIndexByKey.size === records.length) return records;
  const kept: InboundRecord[] = [];
  for (let i = 0; i < records.length; i++) {
    const record = records[i] as InboundRecord;
    if (lastIndexByKey.get(record.key) === i) kept.push(record);
  }
  return kept;
}
