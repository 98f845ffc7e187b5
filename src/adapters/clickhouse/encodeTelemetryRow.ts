import type { TelemetryRow, TelemetryTable } from '../../core/ports/telemetrySink';
import { type ColumnKind, TELEMETRY_TABLES } from './telemetryTables';
import { tsvFloat, tsvString, tsvUint } from './tsvEncoding';

type FieldEncoder = (value: unknown) => string;

const ENCODER_BY_KIND: Record<ColumnKind, FieldEncoder> = {
  ms: tsvUint,
  uint: tsvUint,
  float: tsvFloat,
  string: tsvString,
};

export type RowEncoder = (row: TelemetryRow) => string;

function rowEncoderFor(table: TelemetryTable): RowEncoder {
  const columns = TELEMETRY_TABLES[table];
  const names = columns.map((c) => c.name);
  const encoders = columns.map((c) => ENCODER_BY_KIND[c.kind]);
  const last = names.length - 1;
  return (row) => {
    const fields = row as unknown as Record<string, unknown>;
    let line = '';
    for (let i = 0; i < last; i++) line += `${encoders[i](fields[names[i]])}\t`;
    return `${line}${encoders[last](fields[names[last]])}\n`;
  };
}

/** One TabSeparated line per row, columns in `TELEMETRY_TABLES` order. */
export const ROW_ENCODERS = Object.fromEntries(
  (Object.keys(TELEMETRY_TABLES) as TelemetryTable[]).map((t) => [t, rowEncoderFor(t)]),
) as Record<TelemetryTable, RowEncoder>;
