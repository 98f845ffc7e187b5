import { z } from 'zod';
import { evseStatusSchema } from './fleetState';
import { messageHeaderShape } from './messageHeader';
import { powerVariationMessageSchema } from './powerVariation';
import { activationSchema, baselineSchema, demandResponseSchema, priceCurveSchema } from './rmSignal';
import { sessionSchema } from './session';
import { siteTopologySchema } from './topology';

/**
 * Everything an instance needs to resume a site after (re)assignment. Published to the
 * compacted `state.snapshots` topic keyed by siteId; the latest value wins.
 */
export const evseRuntimeSchema = z.object({
  evseId: z.string(),
  stationId: z.string(),
  status: evseStatusSchema,
  session: sessionSchema.nullable(),
  /** Energy delivered since the last fleet-state report, integrated from setpoints. */
  sessionUpdatedMs: z.number().int().nonnegative(),
  measuredKw: z.number(),
});
export type EvseRuntime = z.infer<typeof evseRuntimeSchema>;

export const siteStateSchema = z.object({
  siteId: z.string(),
  topology: siteTopologySchema.nullable(),
  evses: z.array(evseRuntimeSchema),
  variations: z.array(powerVariationMessageSchema),
  demandResponses: z.array(demandResponseSchema),
  activations: z.array(activationSchema),
  prices: priceCurveSchema.nullable(),
  baseline: baselineSchema.nullable(),
  /** Last emitted setpoint version per EVSE; versions never go backwards. */
  versions: z.record(z.string(), z.number().int().nonnegative()),
  /**
   * Recently seen messageIds, oldest first (duplicate detection survives restarts). Only ids
   * younger than the stale limit are kept: an older duplicate is refused as stale anyway.
   */
  recentMessageIds: z.array(z.string()),
  /** The header tsMs of each id in recentMessageIds, same order. */
  recentMessageTsMs: z.array(z.number()).default([]),
  lastFrequencyHz: z.number().nullable(),
  /** Per input topic-partition: next offset to read after this snapshot. */
  inputOffsets: z.record(z.string(), z.string()),
  /**
   * Input that arrived before the site's topology (topics are read in no fixed order across
   * each other), held until the topology comes and then applied in order, or dead-lettered as
   * EVFLEX_UNKNOWN_SITE after `ingress.awaitTopologyS`. Part of the state: a restart loses none.
   */
  awaitingTopology: z
    .array(
      z.object({
        /** A logical input topic name (models/topics.ts INPUT_TOPICS). */
        topic: z.string(),
        key: z.string().nullable(),
        value: z.string(),
        partition: z.number().int().nonnegative(),
        offset: z.string(),
        receivedMs: z.number(),
      }),
    )
    .default([]),
  updatedMs: z.number().int().nonnegative(),
});
export type SiteState = z.infer<typeof siteStateSchema>;

export const stateSnapshotMessageSchema = z.object({
  ...messageHeaderShape,
  kind: z.literal('stateSnapshot'),
  state: siteStateSchema,
});
export type StateSnapshotMessage = z.infer<typeof stateSnapshotMessageSchema>;
