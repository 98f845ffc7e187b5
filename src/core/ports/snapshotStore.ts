import type { SiteState } from '../../../models/stateSnapshot';

/** Port for reading back the latest site snapshots (Kafka: the compacted state.snapshots topic). */
export interface SnapshotStore {
  /** Latest snapshot per site for the given sites (or all when omitted). */
  load(siteIds?: readonly string[]): Promise<Map<string, SiteState>>;
}
