import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/loadConfig';
import { EvflexError } from '../../src/core/evflexError';

describe('config', () => {
  it('fills every default from one place', () => {
    const config = parseConfig({});
    expect(config.time).toEqual({ slotMinutes: 15, horizonHours: 24 });
    expect(config.kafka).toBeNull();
    expect(config.clickhouse).toBeNull();
    expect(config.setpoints.fallbackLimitKw).toBe(4.2);
    expect(config.acl).toEqual([{ siteId: '*', topic: '*', sources: ['*'] }]);
  });

  it('parses human quantities with units once, into plain numbers', () => {
    const config = parseConfig({
      setpoints: { validityS: '5 min', fallbackLimitKw: '4200 W' },
      frequency: { deadbandHz: '10 mHz', reservedUpKw: '1.5 MW' },
      planner: { solveBudgetMs: '0.25 s' },
      time: { slotMinutes: '0.25 h', horizonHours: '2 days' },
    });
    expect(config.setpoints.validityS).toBeCloseTo(300);
    expect(config.setpoints.fallbackLimitKw).toBeCloseTo(4.2);
    expect(config.frequency.deadbandHz).toBeCloseTo(0.01);
    expect(config.frequency.reservedUpKw).toBeCloseTo(1500);
    expect(config.planner.solveBudgetMs).toBeCloseTo(250);
    expect(config.time.slotMinutes).toBe(15);
    expect(config.time.horizonHours).toBe(48);
  });

  it('refuses nonsense with a stable code and the path of the problem', () => {
    const attempt = () => parseConfig({ setpoints: { validityS: '11 kW' }, time: { slotMinutes: 90 } });
    expect(attempt).toThrow(EvflexError);
    try {
      attempt();
    } catch (error) {
      expect((error as EvflexError).code).toBe('EVFLEX_CONFIG_INVALID');
      expect((error as EvflexError).message).toContain('setpoints.validityS');
      expect((error as EvflexError).message).toContain('time.slotMinutes');
    }
  });
});
