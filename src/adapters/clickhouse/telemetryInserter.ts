import { createReadStream } from 'node:fs';
import { unlink } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { type ClickHouseClient, ClickHouseError } from '@clickhouse/client';
import { writeSpillFile } from './spillFiles';

/**
 * Where the sink's I/O happens: inserts and spill files. Calls resolve/reject with the chunks
 * (re-wrapped if they moved threads) so they can go back to the pool or be retried.
 */
export interface TelemetryInserter {
  /**
   * Sends one RowBinary insert; null when the inserter cannot take it now (its job queue is
   * full): the caller keeps the rows and offers them again later, it never waits.
   */
  insert(query: string, chunks: Buffer[]): Promise<Buffer[]> | null;
  /** Writes the chunks to a spill file at `path` (atomically). */
  spill(path: string, chunks: Buffer[]): Promise<Buffer[]>;
  /** Inserts the RowBinary spill file at `path` and deletes it once the server has the rows. */
  insertFile(query: string, path: string): Promise<void>;
  close(): Promise<void>;
}

/** An insert that failed; `serverCode` is set when the server answered with a ClickHouse error. */
export class TelemetryInsertError extends Error {
  readonly serverCode: string;
  readonly chunks: Buffer[];

  constructor(message: string, serverCode: string, chunks: Buffer[]) {
    super(message);
    this.name = 'TelemetryInsertError';
    this.serverCode = serverCode;
    this.chunks = chunks;
  }
}

/** Runs an insert on `client` and drains the (empty) response so the socket returns to the pool. */
export async function execRowBinaryInsert(
  client: ClickHouseClient,
  query: string,
  body: Buffer[] | Readable,
): Promise<void> {
  const values = Array.isArray(body) ? Readable.from(body, { objectMode: false }) : body;
  const result = await client.exec({ query, values });
  await new Promise<void>((resolve, reject) => {
    result.stream.once('end', resolve);
    result.stream.once('error', reject);
    result.stream.resume();
  });
}

const errorCode = (error: unknown) =>
  error instanceof ClickHouseError ? error.code : String((error as NodeJS.ErrnoException)?.code ?? '');

/**
 * Inserts on the calling thread (tests with a fake client, or where workers are unwanted).
 * File I/O is asynchronous (libuv's pool), so it never blocks the caller either.
 */
export function mainThreadInserter(client: ClickHouseClient): TelemetryInserter {
  return {
    insert: async (query, chunks) => {
      try {
        await execRowBinaryInsert(client, query, chunks);
        return chunks;
      } catch (error) {
        throw new TelemetryInsertError((error as Error).message, errorCode(error), chunks);
      }
    },
    spill: async (path, chunks) => {
      try {
        await writeSpillFile(path, chunks);
        return chunks;
      } catch (error) {
        throw new TelemetryInsertError((error as Error).message, errorCode(error), chunks);
      }
    },
    insertFile: async (query, path) => {
      try {
        await execRowBinaryInsert(client, query, createReadStream(path, { highWaterMark: 1 << 20 }));
      } catch (error) {
        throw new TelemetryInsertError((error as Error).message, errorCode(error), []);
      }
      // The rows are in: a failure to delete must not turn into a retry (a duplicate).
      await unlink(path).catch(() => {});
    },
    close: async () => {},
  };
}
