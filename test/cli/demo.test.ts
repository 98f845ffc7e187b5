import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runDemo } from '../../src/cli/demo/runDemo';

const sha = (text: string) => createHash('sha256').update(text).digest('hex');

describe('evflex demo on the embedded default', () => {
  it('gives byte-identical setpoints for the same seed, and different ones for another seed', async () => {
    const options = { evseCount: 50, durationHours: 8, solver: 'placeholder' as const };
    const a = await runDemo({ seed: 7, ...options });
    const b = await runDemo({ seed: 7, ...options });
    const c = await runDemo({ seed: 8, ...options });
    expect(a.setpointsJsonl.length).toBeGreaterThan(10_000);
    expect(sha(a.setpointsJsonl)).toBe(sha(b.setpointsJsonl));
    expect(sha(a.setpointsJsonl)).not.toBe(sha(c.setpointsJsonl));
    // Everything but the measured solve time is a function of the seed.
    expect({ ...a.summary, maxSolveMs: 0 }).toEqual({ ...b.summary, maxSolveMs: 0 });
  });

  it('charges the fleet within every limit over a whole day', async () => {
    const { summary, series } = await runDemo({
      seed: 3,
      evseCount: 50,
      durationHours: 24,
      solver: 'placeholder',
    });
    expect(summary.evses).toBeGreaterThanOrEqual(50);
    expect(summary.sessions).toBeGreaterThan(40);
    expect(summary.limitViolations).toBe(0);
    expect(summary.setpointSetViolations).toBe(0);
    expect(summary.expiredSetpointMinutes).toBe(0);
    expect(summary.energyDeliveredKwh).toBeGreaterThan(0.9 * summary.energyRequestedKwh);
    expect(series.sitePowerKw.length).toBe(24 * 60);
    for (let i = 0; i < series.sitePowerKw.length; i++) {
      expect(series.sitePowerKw[i]).toBeLessThanOrEqual(series.siteLimitKw[i] + 1e-6);
    }
    expect(summary.acks).toBeGreaterThanOrEqual(3);
    // One of each kind of bad input was sent during the day; each was dead-lettered, nothing else was.
    expect(summary.deadLettersByCode).toEqual({
      EVFLEX_MALFORMED_JSON: 1,
      EVFLEX_SCHEMA_INVALID: 1,
      EVFLEX_UNKNOWN_SITE: 1,
      EVFLEX_UNAUTHORIZED_SOURCE: 1,
      EVFLEX_STALE_MESSAGE: 1,
      EVFLEX_DUPLICATE_MESSAGE: 1,
    });
  });

  it('the MPC planner delivers what equal-share delivers, within limits, for less money', async () => {
    const options = { seed: 5, evseCount: 50, durationHours: 24 };
    const mpc = await runDemo({ ...options, solver: 'fast' });
    const equal = await runDemo({ ...options, solver: 'placeholder' });
    expect(mpc.summary.solver).toBe('mpc-fast');
    expect(mpc.summary.limitViolations + mpc.summary.setpointSetViolations).toBe(0);
    expect(mpc.summary.fallbacks).toBe(0);
    expect(mpc.report.summary.sessionsMet).toBeGreaterThanOrEqual(0.95 * mpc.summary.sessions);
    expect(mpc.summary.energyDeliveredKwh).toBeGreaterThan(0.97 * equal.summary.energyDeliveredKwh);
    expect(mpc.summary.costEur).toBeLessThan(0.9 * equal.summary.costEur);
    // Flexibility envelopes were published once per slot (8.2.5) and on request (8.2.6).
    expect(mpc.acks.some((a) => (a as { requestId: string }).requestId.startsWith('fr-'))).toBe(true);
  });

  it('`npm run demo -- --json` prints one JSON summary and writes report.json and report.html', () => {
    const out = mkdtempSync(join(tmpdir(), 'evflex-demo-'));
    const stdout = execFileSync(
      'npx',
      ['tsx', 'src/cli/main.ts', 'demo', '--json', '--hours', '3', '--evses', '50', '--out', out],
      { cwd: join(__dirname, '../..'), encoding: 'utf8' },
    );
    const lines = stdout.trim().split('\n');
    const summary = JSON.parse(lines[lines.length - 1]);
    for (const key of [
      'sessions',
      'energyRequestedKwh',
      'energyDeliveredKwh',
      'peakKw',
      'siteLimitKw',
      'limitViolations',
      'deadLetters',
    ]) {
      expect(summary, key).toHaveProperty(key);
      expect(typeof summary[key]).toBe('number');
    }
    expect(existsSync(join(out, 'report.json'))).toBe(true);
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    expect(html).toMatch(/^<!doctype html>/i);
    expect(html).toContain('<svg');
    expect(JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')).summary.sessions).toBe(
      summary.sessions,
    );
  });
});
