import type { TelemetryTable } from '../../core/ports/telemetrySink';
import { COLUMN_TYPES, TABLE_ORDER_BY, TELEMETRY_TABLE_NAMES, TELEMETRY_TABLES } from './telemetryTables';

export interface Migration {
  version: number;
  name: string;
  /** Statements with `{db}` standing for the database; each must be idempotent (IF NOT EXISTS). */
  statements: string[];
}

function createTable(table: TelemetryTable): string {
  const columns = TELEMETRY_TABLES[table].map((c) => `${c.name} ${COLUMN_TYPES[c.kind]}`).join(', ');
  // Monthly partitions: a test or replay batch may span many days, and current releases cap
  // the partitions one insert may touch.
  return (
    `CREATE TABLE IF NOT EXISTS {db}.${table} (${columns}) ENGINE = MergeTree() ` +
    `PARTITION BY toYYYYMM(toDateTime(intDiv(tsMs, 1000))) ORDER BY ${TABLE_ORDER_BY[table]}`
  );
}

/**
 * Ordered, append-only: never edit an applied migration, add a new version. Only DDL that
 * Debian's ClickHouse 18.16 and current releases both accept (no DateTime64, TTL,
 * LowCardinality, Nullable-heavy or JSON types).
 */
export const TELEMETRY_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'telemetry tables',
    statements: TELEMETRY_TABLE_NAMES.map(createTable),
  },
];
