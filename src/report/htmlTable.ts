import { escapeXml } from './escapeXml';

export interface HtmlTableColumn<Row> {
  /** Header text (escaped). */
  label: string;
  /** Property name, or a function producing the cell value; values are escaped. */
  value: keyof Row | ((row: Row) => unknown);
  /** Right-align numbers. Defaults to true when the first non-empty value is a number. */
  numeric?: boolean;
  /** Formats the cell value (the result is escaped). */
  format?: (value: unknown, row: Row) => string;
  /** Extra CSS class for a cell, e.g. "good" or "bad" (must be a plain class name). */
  cellClass?: (row: Row) => string | undefined;
}

/** A plain HTML table; every header and cell is escaped. */
export function htmlTable<Row>(rows: readonly Row[], columns: readonly HtmlTableColumn<Row>[]): string {
  const cellValue = (row: Row, column: HtmlTableColumn<Row>): unknown =>
    typeof column.value === 'function' ? column.value(row) : row[column.value];
  const numeric = columns.map((column) => {
    if (column.numeric !== undefined) return column.numeric;
    const first = rows
      .map((r) => cellValue(r, column))
      .find((v) => v !== undefined && v !== null && v !== '');
    return typeof first === 'number';
  });
  const head = columns
    .map((c, i) => `<th${numeric[i] ? ' class="num"' : ''}>${escapeXml(c.label)}</th>`)
    .join('');
  const body = rows
    .map((row) => {
      const cells = columns.map((column, i) => {
        const value = cellValue(row, column);
        const text = column.format ? column.format(value, row) : defaultFormat(value);
        const classes = [numeric[i] ? 'num' : '', column.cellClass?.(row) ?? ''].filter(Boolean).join(' ');
        return `<td${classes ? ` class="${escapeXml(classes)}"` : ''}>${escapeXml(text)}</td>`;
      });
      return `<tr>${cells.join('')}</tr>`;
    })
    .join('\n');
  return `<table>\n<thead><tr>${head}</tr></thead>\n<tbody>\n${body}\n</tbody>\n</table>`;
}

function defaultFormat(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return String(value);
    return Number.isInteger(value) ? String(value) : value.toFixed(2);
  }
  return String(value);
}
