import type { DemoResult } from './runDemo';

/** The terminal summary: one aligned table, the figures a flexibility operator looks at first. */
export function renderDemoSummary(s: DemoResult['summary']): string {
  const rows: [string, string][] = [
    ['site', `${s.siteId} (${s.evses} EVSEs, planner ${s.solver}, seed ${s.seed})`],
    ['sessions', String(s.sessions)],
    ['energy requested', `${s.energyRequestedKwh.toFixed(1)} kWh`],
    [
      'energy delivered',
      `${s.energyDeliveredKwh.toFixed(1)} kWh (${((100 * s.energyDeliveredKwh) / Math.max(1e-9, s.energyRequestedKwh)).toFixed(1)} %)`,
    ],
    ['peak vs site limit', `${s.peakKw.toFixed(1)} kW / ${s.siteLimitKw.toFixed(1)} kW`],
    ['limit violations', `${s.limitViolations} plant minutes, ${s.setpointSetViolations} setpoint sets`],
    ['energy cost', `${s.costEur.toFixed(2)} EUR`],
    ['decisions', `${s.decisions} (${s.fallbacks} fallbacks, max solve ${s.maxSolveMs.toFixed(1)} ms)`],
    ['setpoint messages', String(s.setpointMessages)],
    ['acks to DSO/RM', String(s.acks)],
    [
      'dead letters',
      `${s.deadLetters}${
        s.deadLetters
          ? ` (${Object.entries(s.deadLettersByCode)
              .map(([c, n]) => `${c}: ${n}`)
              .join(', ')})`
          : ''
      }`,
    ],
    ['expired setpoints', `${s.expiredSetpointMinutes} EV-minutes on fallback`],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  const line = `+${'-'.repeat(width + 2)}+${'-'.repeat(62)}`;
  return [line, ...rows.map(([k, v]) => `| ${k.padEnd(width)} | ${v}`), line].join('\n');
}
