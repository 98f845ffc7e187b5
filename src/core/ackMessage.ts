import type { AckMessage } from '../../models/ack';
import { SCHEMA_VERSION } from '../../models/messageHeader';
import type { PendingAck } from './siteRuntime';

/** The answer to one DSO/RM request; the ack's messageId follows from the request's, so replays dedupe. */
export function ackMessage(
  instanceId: string,
  siteId: string,
  pending: PendingAck,
  nowMs: number,
  outcome: Pick<AckMessage, 'status'> & Partial<Pick<AckMessage, 'requestedKw' | 'achievedKw' | 'reason'>>,
): AckMessage {
  return {
    messageId: `ack:${pending.requestMessageId}`,
    source: instanceId,
    siteId,
    tsMs: nowMs,
    schemaVersion: SCHEMA_VERSION,
    kind: 'ack',
    requestId: pending.requestId,
    requestMessageId: pending.requestMessageId,
    requestTopic: pending.requestTopic,
    ...outcome,
  };
}
