import type { ErrorCode } from '../../models/errorCode';
import { type InputMessage, topicSchemas } from '../../models/topics';
import type { EvflexConfig } from '../config/configSchema';
import { checkAcl } from './acl';
import type { FastCheck } from './fastSchemaCheck';
import type { InboundRecord } from './ports/records';

export type Validated =
  | {
      ok: true;
      record: InboundRecord;
      message: InputMessage;
      /** Valid, but the site has no topology yet: to be held until it comes (see the engine). */
      awaitsTopology?: boolean;
    }
  | {
      ok: false;
      record: InboundRecord;
      code: ErrorCode;
      reason: string;
      siteId: string | null;
      messageId: string | null;
    };

export interface IngressContext {
  config: EvflexConfig;
  nowMs: number;
  /** Whether the site already has a topology (or is configured with one). */
  hasTopology(siteId: string): boolean;
  isDuplicate(siteId: string, messageId: string): boolean;
  /** A compiled check that implies the zod schema accepts the value unchanged (see fastSchemaCheck). */
  fastCheck?: FastCheck;
}

function refusal(
  record: InboundRecord,
  code: ErrorCode,
  reason: string,
  siteId: string | null = null,
  messageId: string | null = null,
): Validated {
  return { ok: false, record, code, reason, siteId, messageId };
}

/**
 * The edge: parse, check the schema, the key, the site, the ACL, the age and the
 * messageId, in that order, then whether the site has a topology yet. Past this point the
 * core trusts its types.
 */
export function validateRecord(record: InboundRecord, ctx: IngressContext): Validated {
  let json: unknown;
  try {
    json = JSON.parse(record.value);
  } catch (error) {
    return refusal(record, 'EVFLEX_MALFORMED_JSON', (error as Error).message, record.key);
  }
  const parsed = ctx.fastCheck?.(record.topic, json)
    ? ({ success: true, data: json } as const)
    : topicSchemas[record.topic].safeParse(json);
  const rawHeader = json as { siteId?: unknown; messageId?: unknown } | null;
  const headerSite = typeof rawHeader?.siteId === 'string' ? rawHeader.siteId : record.key;
  const headerId = typeof rawHeader?.messageId === 'string' ? rawHeader.messageId : null;
  if (!parsed.success) {
    const detail = parsed.error.issues
      .slice(0, 5)
      .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
      .join('; ');
    return refusal(record, 'EVFLEX_SCHEMA_INVALID', detail, headerSite, headerId);
  }
  const message = parsed.data as InputMessage;
  const { siteId, messageId, source, tsMs } = message;
  if (record.key !== null && record.key !== siteId) {
    return refusal(
      record,
      'EVFLEX_KEY_MISMATCH',
      `key ${record.key} but siteId ${siteId}`,
      siteId,
      messageId,
    );
  }
  const verdict = checkAcl(ctx.config.acl, siteId, record.topic, source);
  if (verdict === 'unknown-site')
    return refusal(record, 'EVFLEX_UNKNOWN_SITE', `site ${siteId} is not configured`, siteId, messageId);
  if (verdict === 'unauthorized') {
    return refusal(
      record,
      'EVFLEX_UNAUTHORIZED_SOURCE',
      `${source} may not send ${record.topic} for ${siteId}`,
      siteId,
      messageId,
    );
  }
  const maxAgeMs = ctx.config.ingress.maxMessageAgeS * 1000;
  if (tsMs < ctx.nowMs - maxAgeMs) {
    return refusal(
      record,
      'EVFLEX_STALE_MESSAGE',
      `${ctx.nowMs - tsMs} ms old, limit ${maxAgeMs} ms`,
      siteId,
      messageId,
    );
  }
  if (ctx.isDuplicate(siteId, messageId)) {
    return refusal(
      record,
      'EVFLEX_DUPLICATE_MESSAGE',
      `messageId ${messageId} already processed`,
      siteId,
      messageId,
    );
  }
  const announcesTopology = 'kind' in message && message.kind === 'topology';
  if (!announcesTopology && !ctx.hasTopology(siteId))
    return { ok: true, record, message, awaitsTopology: true };
  return { ok: true, record, message };
}
