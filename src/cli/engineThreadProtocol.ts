import type { SiteState } from '../../models/stateSnapshot';
import type { PackedRecords } from '../adapters/thread/packedRecords';
import type { EvflexConfig } from '../config/configSchema';
import type { EngineStats } from '../core/engine';
import type { InboundRecord, OutboundRecord } from '../core/ports/records';

/** What the engine thread is started with. */
export interface EngineThreadData {
  /** The module the bootstrap imports once TypeScript loading is registered. */
  entry: string;
  config: EvflexConfig;
}

/** Calls from the service's thread to the engine thread, answered by `Reply` with the same id. */
export type Call =
  | { id: number; op: 'batch'; records: InboundRecord[] }
  | { id: number; op: 'packed'; batch: PackedRecords }
  | { id: number; op: 'tick' }
  | { id: number; op: 'restore'; states: SiteState[] }
  | { id: number; op: 'siteIds' }
  | { id: number; op: 'release'; siteIds: string[]; snapshot: boolean }
  | { id: number; op: 'takeDirty' }
  | { id: number; op: 'snapshots'; siteIds: string[] }
  | { id: number; op: 'stop' };

export type Reply = { op: 'reply'; id: number; result?: unknown; error?: string; stats: EngineStats };

/** The engine thread asks the service's thread to publish; answered by `Published`. */
export type PublishRequest = { op: 'publish'; id: number; records: OutboundRecord[] };
export type Published = { op: 'published'; id: number; error?: string };

export type Log = { op: 'log'; line: string };

export type ToEngineThread = Call | Published;
export type FromEngineThread = Reply | PublishRequest | Log;
