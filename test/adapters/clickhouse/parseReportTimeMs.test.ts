import { describe, expect, it } from 'vitest';
import { parseReportTimeMs } from '../../../src/cli/reportCommand';

describe('parseReportTimeMs', () => {
  it('reads epoch ms and ISO times, UTC unless a zone is given', () => {
    expect(parseReportTimeMs('1768471200000')).toBe(1_768_471_200_000);
    expect(parseReportTimeMs('2026-01-15')).toBe(Date.UTC(2026, 0, 15));
    expect(parseReportTimeMs('2026-01-15T10:00')).toBe(Date.UTC(2026, 0, 15, 10));
    expect(parseReportTimeMs('2026-01-15T10:00:00+01:00')).toBe(Date.UTC(2026, 0, 15, 9));
  });
  it('rejects what is not a time', () => {
    expect(() => parseReportTimeMs('yesterday')).toThrow(/EVFLEX_CONFIG_INVALID/);
  });
});
