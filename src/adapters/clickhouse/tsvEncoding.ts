/** TabSeparated escaping, as ClickHouse reads it: backslash escapes for \\, \t, \n, \r, \0. */
const NEEDS_ESCAPE = /[\\\t\n\r\0]/;
const ESCAPE_ALL = /[\\\t\n\r\0]/g;
const ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r', '\0': '\\0' };

export function tsvString(value: unknown): string {
  const text = typeof value === 'string' ? value : value === undefined || value === null ? '' : String(value);
  return NEEDS_ESCAPE.test(text) ? text.replace(ESCAPE_ALL, (c) => ESCAPES[c]) : text;
}

/**
 * Unsigned integer field. A bad value (negative, NaN, fractional) would make the server reject
 * the whole batch, so it is clamped here instead: one odd row must not cost 50,000 good ones.
 */
export function tsvUint(value: unknown): string {
  const n = typeof value === 'number' ? value : Number(value);
  return n > 0 && Number.isFinite(n) ? String(Math.trunc(n)) : '0';
}

export function tsvFloat(value: unknown): string {
  const n = typeof value === 'number' ? value : Number(value);
  if (Number.isFinite(n)) return String(n);
  if (Number.isNaN(n)) return 'nan';
  return n > 0 ? 'inf' : '-inf';
}
