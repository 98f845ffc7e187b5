import { z } from 'zod';
import { siteTopologySchema } from '../../models/topology';
import { quantity } from './quantity';

/**
 * The one config object. Every default lives here; `evflex config --schema` prints
 * the JSON Schema generated from this source.
 */
export const aclEntrySchema = z.object({
  /** Site id, or "*" for every site. */
  siteId: z.string().min(1),
  /** Logical input topic, or "*" for every input topic. */
  topic: z.string().min(1),
  sources: z.array(z.string().min(1)).min(1),
});
export type AclEntry = z.infer<typeof aclEntrySchema>;

export const configSchema = z.object({
  instanceId: z.string().min(1).default('evflex-1'),
  topicsPrefix: z.string().default(''),
  kafka: z
    .object({
      brokers: z.array(z.string().min(1)).min(1),
      clientId: z.string().default('evflex'),
      groupId: z.string().default('evflex-engine'),
      partitions: z.number().int().positive().default(12),
      replicationFactor: z.number().int().positive().default(1),
      /**
       * Bytes per fetch, all partitions together, and per partition (kafkajs `maxBytes`,
       * `maxBytesPerPartition`; these are its defaults). 32 MiB / 4 MiB read a backlog more slowly
       * (ingest 0.37–0.56 of a bare consumer vs 0.53–0.63 in five paired runs): a fetch's decoded
       * records stay alive until their batches are handed over, so the consumer's young
       * generation copies them, and every large response is fresh memory (more page faults).
       */
      fetchMaxBytes: z
        .number()
        .int()
        .positive()
        .default(10 * 1024 * 1024),
      fetchMaxBytesPerPartition: z
        .number()
        .int()
        .positive()
        .default(1024 * 1024),
      /**
       * Who decodes fetched records. `evflex` (default): evflex's own Fetch v11 decoder
       * (`decodeFetchResponse`), one small object per record over the fetch's bytes, packed
       * from there; kafkajs's made ~15 objects per record and was a third of the Kafka thread's
       * CPU per record. `kafkajs`: kafkajs's own. Process-wide once a bus or snapshot store has
       * started with `evflex` (it replaces kafkajs 2.2.4's decoder; other versions keep theirs).
       */
      fetchDecoder: z.enum(['evflex', 'kafkajs']).default('evflex'),
      /**
       * Engine threads of the service (`evflex run`); thread `i` is the only writer for the sites
       * of the partitions p with p mod n = i, as an instance is for its partitions. One thread
       * parsed, checked, applied and planned every record in turn and was what held ingest back
       * while the cores had time left; two split that work (infra/kafka/README.md, "Ingest").
       * At most the input partition count is used; on a single core, 1 (three busy threads on one
       * core only add switching).
       */
      engineThreads: z.number().int().positive().default(2),
    })
    .nullable()
    .default(null),
  clickhouse: z
    .object({
      url: z.string().url(),
      database: z.string().default('evflex'),
      username: z.string().default('default'),
      password: z.string().default(''),
      maxBufferedRows: z.number().int().positive().default(1_000_000),
      batchRows: z.number().int().positive().default(50_000),
      flushIntervalMs: quantity('ms').default(500),
      /**
       * Where telemetry spills when ClickHouse is down and the memory buffer is full (one dir per
       * engine process). Off by default: an unsized disk must not fill silently; rows past the
       * memory bound are then dropped and counted.
       */
      spillDir: z.string().min(1).nullable().default(null),
      maxSpillBytes: z
        .number()
        .int()
        .positive()
        .default(1024 * 1024 * 1024),
    })
    .nullable()
    .default(null),
  time: z
    .object({
      slotMinutes: quantity('min').pipe(z.number().int().min(1).max(60)).default(15),
      horizonHours: quantity('h').pipe(z.number().min(1).max(48)).default(24),
    })
    .default({ slotMinutes: 15, horizonHours: 24 }),
  ingress: z
    .object({
      /** Messages older than this (by their tsMs against the clock) are dead-lettered as stale. */
      maxMessageAgeS: quantity('s').pipe(z.number().positive()).default(300),
      /** How many recent messageIds per site are remembered for duplicate detection. */
      dedupeWindow: z.number().int().positive().default(20_000),
      /**
       * Input for a site whose topology has not arrived yet is held this long (topics are read
       * in no fixed order across each other: a DSO limit may come first), then dead-lettered.
       */
      awaitTopologyS: quantity('s').pipe(z.number().nonnegative()).default(60),
      /** At most this many records held per site, and in all, before more are dead-lettered at once. */
      maxAwaitingPerSite: z.number().int().nonnegative().default(1_000),
      maxAwaitingTotal: z.number().int().nonnegative().default(100_000),
    })
    .default({
      maxMessageAgeS: 300,
      dedupeWindow: 20_000,
      awaitTopologyS: 60,
      maxAwaitingPerSite: 1_000,
      maxAwaitingTotal: 100_000,
    }),
  planner: z
    .object({
      solver: z.enum(['fast', 'placeholder']).default('fast'),
      /** Re-plan every site at least this often even without events. */
      replanIntervalS: quantity('s').pipe(z.number().positive()).default(60),
      /** Fleet events for one site arriving within this window are planned once. */
      coalesceMs: quantity('ms').pipe(z.number().nonnegative()).default(0),
      /** A solve slower than this falls back to the safe placeholder policy. */
      solveBudgetMs: quantity('ms').pipe(z.number().positive()).default(500),
      /**
       * The fast scheduler's negative-cycle phase (what closes the last gap to the exact optimum on
       * tight V2G sites) runs on engine plans of sites up to this many session × slot pairs. Its
       * graph costs a few milliseconds to build on a 50-EVSE × 96-slot site, which doubles the
       * plan; larger sites get greedy + repair + improvement (0.04–0.13 % from exact on the
       * benchmark sites). 0 turns it off.
       */
      cycleSearchMaxSessionSlots: z.number().int().nonnegative().default(2_000),
      /**
       * Service mode only (the engine has a scheduler): re-plans that nothing urgent waits for
       * (fleet events, prices, timer, restore) wait until input has been quiet this long, so a
       * backlog is read before it is planned on. Live traffic does not wait: input that came in a
       * batch of at most `backlogRecords` with nothing of its partition left unread (Kafka's high
       * watermark), no partition behind (see backlogRecords)…
       */
      deferQuietMs: quantity('ms').pipe(z.number().nonnegative()).default(20),
      /** …but never longer than this after their first trigger… */
      deferMaxMs: quantity('ms').pipe(z.number().positive()).default(3000),
      /** …and run in slices of at most this much planning time, so urgent input never waits longer. */
      deferSliceMs: quantity('ms').pipe(z.number().positive()).default(8),
      /**
       * While the engine reads a backlog — a batch was fetched with more than `backlogRecords`
       * records of its partition still unread (Kafka: behind the high watermark) — the cap is
       * `deferMaxBacklogMs` instead of `deferMaxMs`: plans made now the rest of the backlog
       * would make stale; and a gap in the input does not count as quiet while a partition's
       * last batch (within the last second) left more than that unread. Urgent input (DSO, DR,
       * frequency, topology) is decided at once as ever.
       */
      backlogRecords: z.number().int().nonnegative().default(1_000),
      deferMaxBacklogMs: quantity('ms').pipe(z.number().positive()).default(30_000),
    })
    .default({
      solver: 'fast',
      replanIntervalS: 60,
      coalesceMs: 0,
      solveBudgetMs: 500,
      cycleSearchMaxSessionSlots: 2_000,
      deferQuietMs: 20,
      deferMaxMs: 3000,
      deferSliceMs: 8,
      backlogRecords: 1_000,
      deferMaxBacklogMs: 30_000,
    }),
  setpoints: z
    .object({
      /** How long a setpoint stays valid; stations fall back to fallbackLimitKw after it. */
      validityS: quantity('s').pipe(z.number().positive()).default(300),
      /** Safe limit a station applies when the engine goes quiet (§14a guaranteed minimum by default). */
      fallbackLimitKw: quantity('kW').pipe(z.number().nonnegative()).default(4.2),
    })
    .default({ validityS: 300, fallbackLimitKw: 4.2 }),
  frequency: z
    .object({
      nominalHz: quantity('Hz').default(50),
      /** FCR: deadband plus insensitivity ≤ 10 mHz, full activation at ±200 mHz. */
      deadbandHz: quantity('Hz').default(0.01),
      fullActivationHz: quantity('Hz').default(0.2),
      reservedUpKw: quantity('kW').default(0),
      reservedDownKw: quantity('kW').default(0),
      /**
       * How long the fleet must be able to hold the full reserve (energy, not just power): the
       * EU SOGL lets TSOs require 15–30 min for limited-energy FCR providers.
       */
      reserveEnduranceMin: quantity('min').pipe(z.number().nonnegative()).default(15),
    })
    .default({
      nominalHz: 50,
      deadbandHz: 0.01,
      fullActivationHz: 0.2,
      reservedUpKw: 0,
      reservedDownKw: 0,
      reserveEnduranceMin: 15,
    }),
  state: z
    .object({
      /** How often every site's state is published to the compacted state.snapshots topic. */
      snapshotIntervalS: quantity('s').pipe(z.number().positive()).default(60),
    })
    .default({ snapshotIntervalS: 60 }),
  acl: z.array(aclEntrySchema).default([{ siteId: '*', topic: '*', sources: ['*'] }]),
  /** Topologies known up front; more can be announced on fleet.state. */
  sites: z.array(siteTopologySchema).default([]),
});

export type EvflexConfig = z.output<typeof configSchema>;
export type EvflexConfigInput = z.input<typeof configSchema>;
