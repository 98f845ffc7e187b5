import { type AxisTicks, niceTicks, timeTicks } from './axisTicks';
import { escapeXml } from './escapeXml';

export interface LineSeries {
  name: string;
  xs: ArrayLike<number>;
  /** Non-finite values (NaN) break the line, so gaps stay visible. */
  ys: ArrayLike<number>;
  color?: string;
  /** Draw as a step function (value holds until the next x), e.g. limits and prices. */
  step?: boolean;
  dashed?: boolean;
}

export interface LineChartOptions {
  title: string;
  xLabel?: string;
  yLabel: string;
  series: LineSeries[];
  width?: number;
  height?: number;
  /** xs are UTC epoch milliseconds; ticks read HH:MM UTC. */
  xIsTimeMs?: boolean;
  /** Fix the y range (e.g. 0–100 for SoC); data outside is clipped. */
  yMin?: number;
  yMax?: number;
}

/** Twenty distinguishable colours (Tableau 10, then its lighter companions). */
export const CHART_PALETTE = [
  '#1f77b4',
  '#d62728',
  '#2ca02c',
  '#ff7f0e',
  '#9467bd',
  '#8c564b',
  '#e377c2',
  '#7f7f7f',
  '#bcbd22',
  '#17becf',
  '#aec7e8',
  '#ff9896',
  '#98df8a',
  '#ffbb78',
  '#c5b0d5',
  '#c49c94',
  '#f7b6d2',
  '#525252',
  '#dbdb8d',
  '#9edae5',
];

const FONT = 'font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif"';
const CHAR_WIDTH_PX = 6.5;

/**
 * A self-contained SVG line chart: no scripts, no external fonts or assets, so the
 * string can be inlined into an HTML report or written to a .svg file as is.
 */
export function lineChartSvg(opts: LineChartOptions): string {
  const width = opts.width ?? 900;
  const height = opts.height ?? 340;
  const series = opts.series.map((s, i) => ({
    ...s,
    color: s.color ?? CHART_PALETTE[i % CHART_PALETTE.length],
  }));

  const legend = layoutLegend(
    series.map((s) => s.name),
    width - 80,
  );
  const left = 68;
  const right = width - 20;
  const top = 34 + legend.rows * 16 + 8;
  const xLabel = opts.xLabel ?? (opts.xIsTimeMs ? 'time (UTC)' : undefined);
  const bottom = height - (xLabel ? 44 : 28);
  const plotWidth = Math.max(10, right - left);
  const plotHeight = Math.max(10, bottom - top);

  const extent = dataExtent(series);
  const xTicks: AxisTicks = opts.xIsTimeMs
    ? timeTicks(extent.xMin, extent.xMax)
    : niceTicks(extent.xMin, extent.xMax, Math.max(2, Math.floor(plotWidth / 90)));
  // A little air around the data, except at a zero baseline, so extremes do not sit on the frame.
  const yPadding = (extent.yMax - extent.yMin) * 0.03;
  const yLow = extent.yMin === 0 ? 0 : extent.yMin - yPadding;
  const yHigh = extent.yMax === 0 ? 0 : extent.yMax + yPadding;
  const yTicksRaw = niceTicks(
    opts.yMin ?? yLow,
    opts.yMax ?? yHigh,
    Math.max(2, Math.floor(plotHeight / 32)),
  );
  const yTicks = withFixedRange(yTicksRaw, opts.yMin, opts.yMax);

  const xSpan = xTicks.max - xTicks.min || 1;
  const ySpan = yTicks.max - yTicks.min || 1;
  const sx = (x: number) => left + ((x - xTicks.min) / xSpan) * plotWidth;
  const sy = (y: number) => bottom - ((y - yTicks.min) / ySpan) * plotHeight;

  const clipId = `clip-${hashText(`${opts.title}|${series.map((s) => s.name).join('|')}|${width}x${height}`)}`;
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${escapeXml(opts.title)}" ${FONT} font-size="12">`,
  );
  parts.push(`<title>${escapeXml(opts.title)}</title>`);
  parts.push(`<rect x="0" y="0" width="${width}" height="${height}" fill="#ffffff"/>`);
  parts.push(
    `<defs><clipPath id="${clipId}"><rect x="${left}" y="${top}" width="${plotWidth}" height="${plotHeight}"/></clipPath></defs>`,
  );
  parts.push(
    `<text x="${width / 2}" y="20" text-anchor="middle" font-size="15" font-weight="600">${escapeXml(opts.title)}</text>`,
  );

  // Grid and tick labels.
  for (let i = 0; i < yTicks.values.length; i++) {
    const y = round(sy(yTicks.values[i]));
    if (y < top - 0.5 || y > bottom + 0.5) continue;
    parts.push(`<line x1="${left}" y1="${y}" x2="${right}" y2="${y}" stroke="#e5e5e5"/>`);
    parts.push(
      `<text x="${left - 6}" y="${y + 4}" text-anchor="end" fill="#333">${escapeXml(yTicks.labels[i])}</text>`,
    );
  }
  for (let i = 0; i < xTicks.values.length; i++) {
    const x = round(sx(xTicks.values[i]));
    if (x < left - 0.5 || x > right + 0.5) continue;
    parts.push(`<line x1="${x}" y1="${top}" x2="${x}" y2="${bottom}" stroke="#f0f0f0"/>`);
    parts.push(`<line x1="${x}" y1="${bottom}" x2="${x}" y2="${bottom + 5}" stroke="#333"/>`);
    parts.push(
      `<text x="${x}" y="${bottom + 18}" text-anchor="middle" fill="#333">${escapeXml(xTicks.labels[i])}</text>`,
    );
  }
  parts.push(
    `<rect x="${left}" y="${top}" width="${plotWidth}" height="${plotHeight}" fill="none" stroke="#333"/>`,
  );

  // Axis labels.
  if (xLabel) {
    parts.push(
      `<text x="${left + plotWidth / 2}" y="${height - 8}" text-anchor="middle" fill="#333">${escapeXml(xLabel)}</text>`,
    );
  }
  const yMid = top + plotHeight / 2;
  parts.push(
    `<text x="16" y="${yMid}" text-anchor="middle" transform="rotate(-90 16 ${yMid})" fill="#333">${escapeXml(opts.yLabel)}</text>`,
  );

  // Data.
  if (!extent.hasData) {
    parts.push(
      `<text x="${left + plotWidth / 2}" y="${yMid}" text-anchor="middle" fill="#999">no data</text>`,
    );
  }
  parts.push(`<g clip-path="url(#${clipId})" fill="none" stroke-width="1.6" stroke-linejoin="round">`);
  for (const s of series) {
    const d = pathData(s, sx, sy, plotWidth);
    if (!d) continue;
    const dash = s.dashed ? ' stroke-dasharray="6 4"' : '';
    parts.push(
      `<path d="${d}" stroke="${escapeXml(s.color)}"${dash}><title>${escapeXml(s.name)}</title></path>`,
    );
  }
  parts.push('</g>');

  // Legend.
  for (let i = 0; i < series.length; i++) {
    const s = series[i];
    const { x, row } = legend.positions[i];
    const lx = 40 + x;
    const ly = 34 + row * 16;
    const dash = s.dashed ? ' stroke-dasharray="6 4"' : '';
    parts.push(
      `<line x1="${lx}" y1="${ly}" x2="${lx + 20}" y2="${ly}" stroke="${escapeXml(s.color)}" stroke-width="2.5"${dash}/>`,
    );
    parts.push(`<text x="${lx + 25}" y="${ly + 4}" fill="#333">${escapeXml(s.name)}</text>`);
  }
  parts.push('</svg>');
  return parts.join('');
}

function layoutLegend(
  names: string[],
  maxWidth: number,
): { rows: number; positions: { x: number; row: number }[] } {
  const positions: { x: number; row: number }[] = [];
  let x = 0;
  let row = 0;
  for (const name of names) {
    const itemWidth = 25 + name.length * CHAR_WIDTH_PX + 18;
    if (x > 0 && x + itemWidth > maxWidth) {
      x = 0;
      row++;
    }
    positions.push({ x, row });
    x += itemWidth;
  }
  return { rows: names.length === 0 ? 0 : row + 1, positions };
}

function dataExtent(series: LineSeries[]) {
  let xMin = Number.POSITIVE_INFINITY;
  let xMax = Number.NEGATIVE_INFINITY;
  let yMin = Number.POSITIVE_INFINITY;
  let yMax = Number.NEGATIVE_INFINITY;
  for (const s of series) {
    const n = Math.min(s.xs.length, s.ys.length);
    for (let i = 0; i < n; i++) {
      const x = s.xs[i];
      const y = s.ys[i];
      if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
      if (x < xMin) xMin = x;
      if (x > xMax) xMax = x;
      if (y < yMin) yMin = y;
      if (y > yMax) yMax = y;
    }
  }
  const hasData = xMin <= xMax;
  return hasData ? { hasData, xMin, xMax, yMin, yMax } : { hasData, xMin: 0, xMax: 1, yMin: 0, yMax: 1 };
}

function withFixedRange(ticks: AxisTicks, yMin?: number, yMax?: number): AxisTicks {
  if (yMin === undefined && yMax === undefined) return ticks;
  return { ...ticks, min: yMin ?? ticks.min, max: yMax ?? ticks.max };
}

/**
 * SVG path for one series. Long series are reduced to first/min/max/last per pixel
 * column, which keeps a 1 s frequency trace of a whole day to a few thousand points
 * while preserving its extremes.
 */
function pathData(
  s: LineSeries,
  sx: (x: number) => number,
  sy: (y: number) => number,
  plotWidth: number,
): string {
  const n = Math.min(s.xs.length, s.ys.length);
  const xs: number[] = [];
  const ys: number[] = [];
  // Within one pixel column a step drawn through first/min/max/last looks the same as the full one.
  const decimate = n > plotWidth * 4;
  let column = Number.NaN;
  let bucket: { x: number; y: number }[] = [];
  const flush = () => {
    if (bucket.length === 0) return;
    if (bucket.length <= 4) {
      for (const p of bucket) push(p.x, p.y);
    } else {
      let lo = bucket[0];
      let hi = bucket[0];
      for (const p of bucket) {
        if (p.y < lo.y) lo = p;
        if (p.y > hi.y) hi = p;
      }
      const mid = lo.x <= hi.x ? [lo, hi] : [hi, lo];
      for (const p of [bucket[0], ...mid, bucket[bucket.length - 1]]) push(p.x, p.y);
    }
    bucket = [];
  };
  const push = (x: number, y: number) => {
    xs.push(x);
    ys.push(y);
  };
  for (let i = 0; i < n; i++) {
    const x = sx(s.xs[i]);
    const y = sy(s.ys[i]);
    if (!Number.isFinite(x) || !Number.isFinite(y)) {
      flush();
      push(Number.NaN, Number.NaN);
      continue;
    }
    if (!decimate) {
      push(x, y);
      continue;
    }
    const col = Math.floor(x);
    if (col !== column) {
      flush();
      column = col;
    }
    bucket.push({ x, y });
  }
  flush();

  let d = '';
  let penDown = false;
  for (let i = 0; i < xs.length; i++) {
    const x = xs[i];
    const y = ys[i];
    if (Number.isNaN(x)) {
      penDown = false;
      continue;
    }
    if (!penDown) {
      d += `M${round(x)} ${round(y)}`;
      penDown = true;
    } else if (s.step) {
      d += `H${round(x)}V${round(y)}`;
    } else {
      d += `L${round(x)} ${round(y)}`;
    }
  }
  return d;
}

function round(v: number): number {
  return Math.round(v * 10) / 10;
}

/** Short stable hash so several charts in one page get distinct clip-path ids. */
function hashText(text: string): string {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 16777619);
  }
  return (h >>> 0).toString(36);
}
