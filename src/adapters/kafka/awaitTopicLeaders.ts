import type { Admin } from 'kafkajs';
import { EvflexError } from '../../core/evflexError';

/**
 * Waits until every partition of the topics has a leader. Right after creation a broker may
 * still answer UNKNOWN_TOPIC_OR_PARTITION or LEADER_NOT_AVAILABLE for a moment, and kafkajs's
 * own `waitForLeaders` gives up on the former.
 */
export async function awaitTopicLeaders(admin: Admin, topics: string[], timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown = null;
  while (Date.now() < deadline) {
    try {
      const metadata = await admin.fetchTopicMetadata({ topics });
      const ready =
        metadata.topics.length === topics.length &&
        metadata.topics.every((t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0));
      if (ready) return;
    } catch (error) {
      if ((error as { retriable?: boolean }).retriable !== true) throw error;
      lastError = error;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new EvflexError(
    'EVFLEX_BROKER_UNAVAILABLE',
    `topics have no leaders after ${timeoutMs} ms: ${topics.join(', ')}`,
    {
      cause: lastError,
    },
  );
}
