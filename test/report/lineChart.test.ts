import { describe, expect, it } from 'vitest';
import { niceTicks, timeTicks } from '../../src/report/axisTicks';
import { lineChartSvg } from '../../src/report/lineChart';

const DAY_START_MS = Date.UTC(2026, 0, 15);

describe('lineChartSvg', () => {
  it('draws a self-contained svg with title, legend, axes and one path per series', () => {
    const xs = Array.from({ length: 97 }, (_, i) => DAY_START_MS + i * 15 * 60_000);
    const svg = lineChartSvg({
      title: 'Site power vs limit',
      yLabel: 'kW',
      xIsTimeMs: true,
      series: [
        { name: 'site power', xs, ys: xs.map((_, i) => 100 + 50 * Math.sin(i / 10)) },
        { name: 'site limit', xs, ys: xs.map(() => 200), step: true, dashed: true },
      ],
    });
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.endsWith('</svg>')).toBe(true);
    expect(svg.match(/<path /g)).toHaveLength(2);
    expect(svg).toContain('stroke-dasharray');
    expect(svg).toContain('>00:00<');
    expect(svg).toContain('>12:00<');
    expect(svg).toContain('time (UTC)');
    expect(svg).toContain('site limit');
    expect(svg).not.toMatch(/https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
    expect(svg).not.toContain('NaN');
  });

  it('escapes every piece of text', () => {
    const svg = lineChartSvg({
      title: '<script>alert("x")</script>',
      yLabel: 'a & b',
      series: [{ name: "it's <b>", xs: [0, 1], ys: [1, 2] }],
    });
    expect(svg).not.toContain('<script>');
    expect(svg).not.toContain('<b>');
    expect(svg).toContain('&lt;script&gt;');
    expect(svg).toContain('a &amp; b');
    expect(svg).toContain('it&#39;s');
  });

  it('breaks lines at NaN and copes with empty, flat and huge series', () => {
    const gap = lineChartSvg({
      title: 'gap',
      yLabel: 'y',
      series: [{ name: 's', xs: [0, 1, 2, 3], ys: [1, Number.NaN, 2, 3] }],
    });
    expect(gap.match(/ d="M[^"]*"/)?.[0].match(/M/g)).toHaveLength(2);
    const empty = lineChartSvg({ title: 'empty', yLabel: 'y', series: [] });
    expect(empty).toContain('no data');
    const flat = lineChartSvg({
      title: 'flat',
      yLabel: 'y',
      series: [{ name: 's', xs: [0, 1], ys: [5, 5] }],
    });
    expect(flat).not.toContain('NaN');
    const n = 86_400;
    const xs = Float64Array.from({ length: n }, (_, i) => DAY_START_MS + i * 1000);
    const ys = Float64Array.from(
      { length: n },
      (_, i) => 50 + 0.02 * Math.sin(i / 100) - (i === 40_000 ? 0.2 : 0),
    );
    const big = lineChartSvg({
      title: 'frequency',
      yLabel: 'Hz',
      xIsTimeMs: true,
      series: [{ name: 'f', xs, ys }],
    });
    expect(big.length).toBeLessThan(150_000);
    expect(big).toContain('49.8');
  });
});

describe('axis ticks', () => {
  it('gives 1-2-5 steps that cover the range', () => {
    const t = niceTicks(3, 97);
    expect(t.min).toBeLessThanOrEqual(3);
    expect(t.max).toBeGreaterThanOrEqual(97);
    expect(t.values).toContain(20);
  });
  it('labels time ticks in UTC at round hours', () => {
    const t = timeTicks(DAY_START_MS, DAY_START_MS + 24 * 3_600_000);
    expect(t.labels).toEqual([
      '00:00',
      '03:00',
      '06:00',
      '09:00',
      '12:00',
      '15:00',
      '18:00',
      '21:00',
      '00:00',
    ]);
  });
});
