import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/loadConfig';
import type { InboundRecord } from '../../src/core/ports/records';
import { validateRecord } from '../../src/core/validateRecord';
import { keyMismatchInput, simulatedBadInputs, unknownNodeInput } from '../../src/simulator/badInputs';
import { serializeInputs } from '../../src/simulator/serializeInputs';
import { simulateDay } from '../../src/simulator/simulateDay';
import { simulationAcl } from '../../src/simulator/simulationAcl';

const DAY_START_MS = Date.UTC(2026, 0, 15);
const MAX_AGE_MS = 300_000;

describe('simulated bad inputs', () => {
  const sim = simulateDay({ seed: 3, siteId: 'site-b', startMs: DAY_START_MS, frequencySampleMs: 60_000 });
  const bad = simulatedBadInputs(sim, { maxMessageAgeMs: MAX_AGE_MS });

  it('cover the six kinds the issue names, once each, inside the run', () => {
    expect(bad.map((b) => b.expectedCode).sort()).toEqual([
      'EVFLEX_DUPLICATE_MESSAGE',
      'EVFLEX_MALFORMED_JSON',
      'EVFLEX_SCHEMA_INVALID',
      'EVFLEX_STALE_MESSAGE',
      'EVFLEX_UNAUTHORIZED_SOURCE',
      'EVFLEX_UNKNOWN_SITE',
    ]);
    for (const b of bad) {
      expect(b.atMs).toBeGreaterThanOrEqual(sim.startMs);
      expect(b.atMs).toBeLessThan(sim.endMs);
      expect(b.description.length).toBeGreaterThan(0);
    }
    expect(() => JSON.parse(bad.find((b) => b.expectedCode === 'EVFLEX_MALFORMED_JSON')!.value)).toThrow();
  });

  it('get their code at the engine edge while every simulated message passes it', () => {
    const config = parseConfig({
      acl: simulationAcl('site-b', sim.sources),
      ingress: { maxMessageAgeS: MAX_AGE_MS / 1000 },
    });
    const raw = serializeInputs(sim.inputs, bad);
    expect(raw).toHaveLength(sim.inputs.length + bad.length);
    const seen = new Set<string>();
    const sitesWithTopology = new Set<string>();
    const codes: string[] = [];
    raw.forEach((r, index) => {
      const record: InboundRecord = {
        topic: r.topic,
        key: r.key,
        value: r.value,
        partition: 0,
        offset: String(index),
        receivedMs: r.atMs,
      };
      const verdict = validateRecord(record, {
        config,
        nowMs: r.atMs,
        hasTopology: (siteId) => sitesWithTopology.has(siteId),
        isDuplicate: (siteId, messageId) => seen.has(`${siteId}/${messageId}`),
      });
      if (verdict.ok) {
        expect(r.expectedCode).toBeUndefined();
        const m = verdict.message as { siteId: string; messageId: string; kind?: string };
        seen.add(`${m.siteId}/${m.messageId}`);
        if (m.kind === 'topology') sitesWithTopology.add(m.siteId);
      } else {
        expect(verdict.code).toBe(r.expectedCode);
        codes.push(verdict.code);
      }
    });
    expect(codes).toHaveLength(6);
  });

  it('has builders for key mismatch and unknown node too', () => {
    const ctx = { siteId: 'site-b', atMs: DAY_START_MS, messageId: 'x-1' };
    expect(keyMismatchInput(ctx).key).not.toBe('site-b');
    expect(JSON.parse(unknownNodeInput({ ...ctx, stationId: 'site-b-CS001' }).value).evseId).toBe(
      'site-b-CS001-99',
    );
  });
});
