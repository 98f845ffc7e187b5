import type { ClickHouseClient } from '@clickhouse/client';
import { EvflexError } from '../../core/evflexError';
import { type Migration, TELEMETRY_MIGRATIONS } from './telemetryMigrations';

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function assertIdentifier(name: string): string {
  if (!IDENTIFIER.test(name))
    throw new EvflexError('EVFLEX_CONFIG_INVALID', `not a plain identifier: ${name}`);
  return name;
}

/**
 * Brings `database` up to the newest migration and returns the applied versions. Safe to run
 * from several engine instances at once: statements are idempotent, and a version recorded
 * twice is harmless because only max(version) is read.
 */
export async function migrateTelemetrySchema(
  client: ClickHouseClient,
  database: string,
  migrations: readonly Migration[] = TELEMETRY_MIGRATIONS,
  nowMs: () => number = Date.now,
): Promise<number[]> {
  const db = assertIdentifier(database);
  await client.command({ query: `CREATE DATABASE IF NOT EXISTS ${db}` });
  await client.command({
    query: `CREATE TABLE IF NOT EXISTS ${db}.schema_migrations (version UInt32, name String, appliedMs UInt64) ENGINE = MergeTree() ORDER BY version`,
  });
  const result = await client.query({
    query: `SELECT max(version) AS version FROM ${db}.schema_migrations`,
    format: 'JSONEachRow',
  });
  const rows = await result.json<{ version: number | string }>();
  const current = Number(rows[0]?.version ?? 0);
  const applied: number[] = [];
  for (const migration of [...migrations].sort((a, b) => a.version - b.version)) {
    if (migration.version <= current) continue;
    for (const statement of migration.statements) {
      await client.command({ query: statement.replaceAll('{db}', db) });
    }
    await client.insert({
      table: `${db}.schema_migrations`,
      values: [{ version: migration.version, name: migration.name, appliedMs: nowMs() }],
      format: 'JSONEachRow',
    });
    applied.push(migration.version);
  }
  return applied;
}
