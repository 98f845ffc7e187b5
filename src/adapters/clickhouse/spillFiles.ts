import { mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { TelemetryTable } from '../../core/ports/telemetrySink';
import { TELEMETRY_TABLE_NAMES } from './telemetryTables';

/** One spilled batch on disk: RowBinary rows of one table, exactly as they would be inserted. */
export interface SpillFile {
  seq: number;
  table: TelemetryTable;
  rows: number;
  bytes: number;
  path: string;
}

const SPILL_FILE = /^(\d{12})-([a-z_]+)-(\d+)\.rowbinary$/;
const TABLES = new Set<string>(TELEMETRY_TABLE_NAMES);

/** `<seq>-<table>-<rows>.rowbinary`: the name alone says what the file holds and in which order. */
export function spillFileName(seq: number, table: TelemetryTable, rows: number): string {
  return `${String(seq).padStart(12, '0')}-${table}-${rows}.rowbinary`;
}

/**
 * Spill files an earlier run left in `dir`, oldest first. Half-written files (`.tmp`, from a
 * crash mid-write) are deleted: their rows were never counted as spilled. Runs once, at start-up.
 */
export function scanSpillDir(dir: string): SpillFile[] {
  mkdirSync(dir, { recursive: true });
  const files: SpillFile[] = [];
  for (const name of readdirSync(dir)) {
    if (name.endsWith('.rowbinary.tmp')) {
      rmSync(join(dir, name), { force: true });
      continue;
    }
    const m = SPILL_FILE.exec(name);
    if (!m || !TABLES.has(m[2])) continue;
    const path = join(dir, name);
    files.push({
      seq: Number(m[1]),
      table: m[2] as TelemetryTable,
      rows: Number(m[3]),
      bytes: statSync(path).size,
      path,
    });
  }
  return files.sort((a, b) => a.seq - b.seq);
}

/**
 * Writes `chunks` to `path` durably and atomically: a temp file, fsync, rename. A reader (the
 * next start-up) sees the whole batch or nothing.
 */
export async function writeSpillFile(path: string, chunks: readonly Uint8Array[]): Promise<void> {
  const tmp = `${path}.tmp`;
  const file = await open(tmp, 'w');
  try {
    for (const chunk of chunks) {
      let offset = 0;
      while (offset < chunk.length) {
        const { bytesWritten } = await file.write(chunk, offset, chunk.length - offset);
        offset += bytesWritten;
      }
    }
    await file.sync();
  } catch (error) {
    await file.close().catch(() => {});
    await rm(tmp, { force: true });
    throw error;
  }
  await file.close();
  await rename(tmp, path);
}

/** Keeps a file the server rejected for a post-mortem, under a name start-up does not pick up. */
export async function setSpillFileAside(path: string): Promise<void> {
  await rename(path, `${path}.rejected`).catch(() => {});
}
