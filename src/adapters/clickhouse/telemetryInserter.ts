import { Readable } from 'node:stream';
import { type ClickHouseClient, ClickHouseError } from '@clickhouse/client';

/** Sends one RowBinary insert. Resolves/rejects with the chunks (re-wrapped if they moved threads). */
export interface TelemetryInserter {
  insert(query: string, chunks: Buffer[]): Promise<Buffer[]>;
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
  chunks: Buffer[],
): Promise<void> {
  const result = await client.exec({ query, values: Readable.from(chunks, { objectMode: false }) });
  await new Promise<void>((resolve, reject) => {
    result.stream.once('end', resolve);
    result.stream.once('error', reject);
    result.stream.resume();
  });
}

/** Inserts on the calling thread (tests with a fake client, or where workers are unwanted). */
export function mainThreadInserter(client: ClickHouseClient): TelemetryInserter {
  return {
    insert: async (query, chunks) => {
      try {
        await execRowBinaryInsert(client, query, chunks);
        return chunks;
      } catch (error) {
        const code = error instanceof ClickHouseError ? error.code : '';
        throw new TelemetryInsertError((error as Error).message, code, chunks);
      }
    },
    close: async () => {},
  };
}
