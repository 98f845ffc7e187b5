/**
 * Stable error codes. The same code lands in the dead-letter record, the log line
 * and the metric label; never rename one, only add.
 */
export const ERROR_CODES = {
  EVFLEX_MALFORMED_JSON: { retriable: false, summary: 'payload is not valid JSON' },
  EVFLEX_SCHEMA_INVALID: { retriable: false, summary: 'payload violates the topic schema' },
  EVFLEX_UNKNOWN_SITE: { retriable: false, summary: 'site is not configured and has no topology' },
  EVFLEX_UNAUTHORIZED_SOURCE: { retriable: false, summary: 'source is not allowed for this site and topic' },
  EVFLEX_STALE_MESSAGE: { retriable: false, summary: 'message is older than the configured maximum age' },
  EVFLEX_DUPLICATE_MESSAGE: { retriable: false, summary: 'messageId was already processed' },
  EVFLEX_KEY_MISMATCH: { retriable: false, summary: 'record key differs from the payload siteId' },
  EVFLEX_UNKNOWN_NODE: { retriable: false, summary: 'message refers to a node the site does not have' },
  EVFLEX_TOPOLOGY_INVALID: { retriable: false, summary: 'topology is structurally invalid' },
  EVFLEX_CONFIG_INVALID: { retriable: false, summary: 'configuration is invalid' },
  EVFLEX_SOLVER_FAILED: { retriable: true, summary: 'optimizer failed or overran its budget' },
  EVFLEX_BROKER_UNAVAILABLE: { retriable: true, summary: 'message broker is unreachable' },
  EVFLEX_TELEMETRY_UNAVAILABLE: { retriable: true, summary: 'telemetry store is unreachable' },
  EVFLEX_ENGINE_FAILED: { retriable: false, summary: 'the engine thread failed or refused a call' },
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;
export const errorCodeList = Object.keys(ERROR_CODES) as [ErrorCode, ...ErrorCode[]];
