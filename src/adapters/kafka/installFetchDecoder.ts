import { createRequire } from 'node:module';
import { decodeFetchResponse, type FetchDecodeFallbacks } from './decodeFetchResponse';

/** The kafkajs release whose Fetch v11 response module this replaces the decoder of (its last). */
const KAFKAJS_VERSION = '2.2.4';

type Decode = (raw: Buffer) => Promise<unknown>;
interface ResponseModule {
  decode: Decode;
  parse: (data: unknown) => unknown;
}
interface KafkajsDecoder {
  new (buffer: Buffer): unknown;
}

const FETCH_V11_RESPONSE = 'kafkajs/src/protocol/requests/fetch/v11/response';
let installed: boolean | null = null;
let original: Decode | null = null;

/**
 * Puts evflex's Fetch decoder (`decodeFetchResponse`) in place of kafkajs's for Fetch v11, the
 * version kafkajs uses with every broker since Kafka 2.4 (3.9 and 4.x included). kafkajs looks
 * the response module up per request and calls its `decode`, so replacing that one property is
 * the whole change; the records keep kafkajs's shape, and every consumer of the process (the
 * bus's, the snapshot reader's) gets them. Compressed batches and legacy message sets still go
 * through kafkajs's own decoders.
 *
 * Only for kafkajs 2.2.4 (the last release: nothing moves under it); any other version keeps its
 * own decoder. `test/adapters/kafka/decodeFetchResponse.test.ts` decodes the same responses both
 * ways and compares every field.
 */
export function installFetchDecoder(): boolean {
  if (installed !== null) return installed;
  const require = createRequire(import.meta.url);
  const version = (require('kafkajs/package.json') as { version: string }).version;
  if (version !== KAFKAJS_VERSION) {
    installed = false;
    return installed;
  }
  const response = require(FETCH_V11_RESPONSE) as ResponseModule;
  original = response.decode;
  response.decode = (raw) => decodeFetchResponse(raw, kafkajsFallbacks());
  installed = true;
  return installed;
}

let fallbacks: FetchDecodeFallbacks | null = null;

/** kafkajs's own decoders, for what the fast path leaves to them. */
export function kafkajsFallbacks(): FetchDecodeFallbacks {
  if (fallbacks) return fallbacks;
  const require = createRequire(import.meta.url);
  const Decoder = require('kafkajs/src/protocol/decoder') as KafkajsDecoder;
  const decodeRecordBatch = require('kafkajs/src/protocol/recordBatch/v0/decoder') as (
    decoder: unknown,
  ) => Promise<{ records: unknown[] }>;
  const decodeMessageSet = require('kafkajs/src/protocol/messageSet/decoder') as (
    decoder: unknown,
    size: number,
  ) => Promise<unknown[]>;
  fallbacks = {
    legacyRecordSet: (bytes) => decodeMessageSet(new Decoder(bytes), bytes.length),
    compressedBatch: async (bytes) => (await decodeRecordBatch(new Decoder(bytes))).records,
  };
  return fallbacks;
}

/** kafkajs's own Fetch v11 decode (for comparison in tests and benchmarks), installed or not. */
export function kafkajsFetchDecode(): Decode {
  const require = createRequire(import.meta.url);
  return original ?? (require(FETCH_V11_RESPONSE) as ResponseModule).decode;
}
