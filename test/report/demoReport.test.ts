import { describe, expect, it } from 'vitest';
import { renderDemoReport, summaryTable } from '../../src/report/demoReport';
import { aDemoReport } from './aDemoReport';

const data = aDemoReport();

describe('renderDemoReport', () => {
  const html = renderDemoReport(data);

  it('is one self-contained HTML document with the power, SoC and price plots', () => {
    expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
    expect(html.trimEnd().endsWith('</html>')).toBe(true);
    expect(html).not.toMatch(/<script|<link|<img|src=|url\((?!#)/);
    const svgs = html.match(/<svg /g) ?? [];
    expect(svgs.length).toBeGreaterThanOrEqual(4);
    for (const title of [
      'Site power vs import limit',
      'State of charge',
      'Energy prices',
      'Grid frequency',
    ]) {
      expect(html).toContain(title);
    }
    expect(html).toContain('EVFLEX_DUPLICATE_MESSAGE');
    expect(html).not.toContain('NaN');
    expect(html.length).toBeLessThan(2_000_000);
  });

  it('plots at most 20 SoC trajectories', () => {
    expect(data.socTrajectories.length).toBeGreaterThan(20);
    expect(html).toContain(`State of charge (20 of ${data.socTrajectories.length} sessions)`);
  });

  it('escapes text coming from the data', () => {
    expect(html).toContain('Unexpected end of &lt;JSON&gt;');
    const hostile = renderDemoReport({
      ...data,
      title: '<script>x</script>',
      summary: { ...data.summary, siteId: '"><img src=x>' },
      notes: ['<b>n</b>'],
    });
    expect(hostile).not.toContain('<script>x');
    expect(hostile).not.toContain('<img');
    expect(hostile).not.toContain('<b>n</b>');
  });

  it('copes with empty series and no optional parts', () => {
    const bare = renderDemoReport({
      summary: { ...data.summary, deadLetters: {} },
      sitePower: { tsMs: [], sitePowerKw: [], siteLimitKw: [] },
      prices: { tsMs: [], importPricePerKwh: [], exportPricePerKwh: [] },
      socTrajectories: [],
    });
    expect(bare).toContain('No dead letters.');
    expect(bare).toContain('no data');
  });
});

describe('summaryTable', () => {
  it('aligns labels and values and marks pass/fail', () => {
    const text = summaryTable(data);
    const lines = text.split('\n');
    expect(lines[0]).toMatch(/^metric\s+value$/);
    const valueEnd = lines[0].length;
    for (const line of lines.slice(2)) {
      const core = line.replace(/\s+(ok|!!)$/, '');
      expect(core.length).toBe(valueEnd);
    }
    expect(text).toMatch(/limit violations\s+0\s+ok/);
    expect(text).toMatch(/energy requested\s+\d+\.\d kWh/);
    expect(text).toContain('EVFLEX_MALFORMED_JSON');
    const failing = summaryTable({ ...data, summary: { ...data.summary, limitViolations: 3 } });
    expect(failing).toMatch(/limit violations\s+3\s+!!/);
  });
});
