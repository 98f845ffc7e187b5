import type { TelemetryRow, TelemetryTable } from '../../core/ports/telemetrySink';
import { maxStringBytes, type RowBinaryBuffer } from './rowBinaryBuffer';
import { type ColumnKind, TELEMETRY_TABLES } from './telemetryTables';

/** Appends one row to the buffer. */
export type RowBinaryEncoder = (buffer: RowBinaryBuffer, row: TelemetryRow) => void;

const WRITER: Record<ColumnKind, string> = {
  ms: 'uint64',
  uint: 'uint32',
  float: 'float64',
  string: 'string',
};
const FIXED_BYTES: Record<ColumnKind, number> = { ms: 8, uint: 4, float: 8, string: 0 };
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

function encoderFor(table: TelemetryTable): RowBinaryEncoder {
  const columns = TELEMETRY_TABLES[table];
  for (const c of columns) if (!IDENTIFIER.test(c.name)) throw new Error(`bad column name ${c.name}`);
  const fixed = columns.reduce((n, c) => n + FIXED_BYTES[c.kind], 0);
  const bound = columns
    .filter((c) => c.kind === 'string')
    .map((c) => `maxStringBytes(r.${c.name})`)
    .join(' + ');
  const writes = columns.map((c) => `w.${WRITER[c.kind]}(r.${c.name});`).join('\n');
  // Generated from our own column list (names checked above): straight-line code with
  // fixed property names keeps V8's property access monomorphic, several times faster
  // than a loop over column names at 200k+ rows/s.
  const body = `return function encode_${table}(w, r) {
    w.beginRow(${fixed}${bound ? ` + ${bound}` : ''});
    ${writes}
    w.endRow();
  };`;
  return new Function('maxStringBytes', body)(maxStringBytes) as RowBinaryEncoder;
}

/** RowBinary encoder per table, columns in `TELEMETRY_TABLES` order. */
export const ROW_BINARY_ENCODERS = Object.fromEntries(
  (Object.keys(TELEMETRY_TABLES) as TelemetryTable[]).map((t) => [t, encoderFor(t)]),
) as Record<TelemetryTable, RowBinaryEncoder>;
