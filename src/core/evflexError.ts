import { ERROR_CODES, type ErrorCode } from '../../models/errorCode';

/** The one error type: a stable code, a human reason, and whether retrying can help. */
export class EvflexError extends Error {
  readonly code: ErrorCode;
  readonly retriable: boolean;

  constructor(code: ErrorCode, reason: string, options?: { cause?: unknown }) {
    super(`${code}: ${reason}`, options);
    this.name = 'EvflexError';
    this.code = code;
    this.retriable = ERROR_CODES[code].retriable;
  }
}
