import type { DeadLetterMessage } from '../../models/deadLetter';
import type { OutboundRecord } from './ports/records';
import type { TelemetryRow } from './ports/telemetrySink';
import type { Validated } from './validateRecord';

type Rejected = Extract<Validated, { ok: false }>;

/** The raw message, where it came from and why it was refused; keyed like the original. */
export function deadLetterRecord(
  rejected: Rejected,
  nowMs: number,
): { record: OutboundRecord; row: TelemetryRow } {
  const { record } = rejected;
  const message: DeadLetterMessage = {
    kind: 'deadLetter',
    messageId: `dl:${record.topic}:${record.partition}:${record.offset}`,
    source: 'evflex',
    tsMs: nowMs,
    schemaVersion: 1,
    errorCode: rejected.code,
    reason: rejected.reason,
    originalTopic: record.topic,
    originalKey: record.key,
    originalPartition: record.partition,
    originalOffset: record.offset,
    originalMessageId: rejected.messageId,
    siteId: rejected.siteId,
    raw: record.value,
  };
  return {
    record: {
      topic: 'deadletter',
      key: record.key ?? rejected.siteId ?? 'unknown',
      value: JSON.stringify(message),
    },
    row: {
      table: 'deadletters',
      tsMs: nowMs,
      siteId: rejected.siteId ?? '',
      errorCode: rejected.code,
      reason: rejected.reason,
      originalTopic: record.topic,
      originalOffset: record.offset,
      raw: record.value,
    },
  };
}
