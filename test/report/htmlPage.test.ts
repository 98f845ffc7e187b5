import { describe, expect, it } from 'vitest';
import { htmlPage } from '../../src/report/htmlPage';
import { htmlTable } from '../../src/report/htmlTable';

describe('htmlPage', () => {
  it('is a complete self-contained document with escaped title and headings', () => {
    const html = htmlPage({
      title: 'Demo <day>',
      subtitle: 'seed 1 & co',
      sections: [{ heading: 'A < B', html: '<p>trusted</p>' }],
    });
    expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
    expect(html).toContain('<title>Demo &lt;day&gt;</title>');
    expect(html).toContain('seed 1 &amp; co');
    expect(html).toContain('<h2>A &lt; B</h2>');
    expect(html).toContain('<p>trusted</p>');
    expect(html.trimEnd().endsWith('</html>')).toBe(true);
    expect(html).not.toMatch(/<script|<link|src=|https?:/);
  });
});

describe('htmlTable', () => {
  it('escapes cells and headers and right-aligns numbers', () => {
    const html = htmlTable(
      [
        { name: '<img onerror=x>', kwh: 12.345 },
        { name: 'ok', kwh: 3 },
      ],
      [
        { label: 'Name & id', value: 'name' },
        { label: 'Energy (kWh)', value: 'kwh' },
        { label: 'Double', value: (r) => r.kwh * 2, format: (v) => `${Number(v).toFixed(1)} kWh` },
      ],
    );
    expect(html).not.toContain('<img');
    expect(html).toContain('&lt;img onerror=x&gt;');
    expect(html).toContain('Name &amp; id');
    expect(html).toContain('<td class="num">12.35</td>');
    expect(html).toContain('24.7 kWh');
    expect(html.match(/<tr>/g)).toHaveLength(3);
  });
});
