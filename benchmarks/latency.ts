/**
 * Latency and ingest benchmark against a real Kafka broker (started here with startKafka,
 * unless --brokers is given).
 *
 * Per size (1, 100, 1,000 sites of 50 EVSEs), with fresh topics and a fresh engine:
 *  - ingest: every site's topology, 50 EV arrivals and `--rounds` − 1 SoC updates per EVSE are
 *    produced first; then the engine (the same service `evflex run --kafka` runs, in a process
 *    of its own) joins and the clock runs until it has applied them all and published what they
 *    caused → `ingestMsgsPerS`. A bare kafkajs consumer, also in a process of its own, reading
 *    the same records in a fresh group gives `baselineIngestMsgsPerS`. Both are measured in
 *    `--ingest-trials` trials (bare and engine alternating which goes first, each trial on
 *    topics of its own): the rates are medians, `ingestRatio` the median of the trials' ratios,
 *    `ingestRatios` all of them.
 *  - latency: a DSO power variation lowering a site's import limit is produced, and the clock
 *    runs until a separate consumer (as a CSMS would run) holds that site's complete setpoint
 *    set (every station's message of the decision, `setSize` of them), one variation at a
 *    time, round-robin over the sites → `p50Ms`, `p99Ms`, `maxMs`.
 *  - baseline: the same path without the engine — produce → a bare kafkajs consumer that
 *    re-produces each record (acks = all) → the separate consumer; two hops like
 *    the engine's path → `baselineP50Ms`, `baselineP99Ms`; the plain one-hop produce →
 *    consume times of the same records → `oneHopP50Ms`, `oneHopP99Ms`, all before the engine
 *    starts. The same echo is sampled again while the engine runs, one sample before each of
 *    the engine's (`echoBesideEngineP50Ms`, `echoBesideEngineP99Ms`: what any client of the
 *    broker gets meanwhile, context only).
 *
 *   npm run bench:latency -- [--json] [--sizes 1,100,1000] [--evses 50] [--samples 1000]
 *                            [--version 3.9.2] [--brokers 127.0.0.1:9092] [--solver fast|placeholder]
 *                            [--planner '{"deferQuietMs":50}'] [--kafka '{"fetchMaxBytes":10485760}']
 *                            [--broker-nice -10]
 *                            [--broker-data memory|disk] [--ingest-trials 3]
 *
 * EVFLEX_BENCH_PROFILE=dir writes a CPU profile of each size's ingest phase there;
 * EVFLEX_BENCH_TRACE=1 prints where a variation's time goes (when the service read it, decided,
 * had its outputs acked, when the CSMS had them; the slowest samples with their parts), the CPU
 * each party (this process, the broker, the service) spent per sample, and per thread of the
 * service how long it ran and how long it waited for a CPU; EVFLEX_BENCH_TRACE_PROFILE=dir
 * adds a CPU profile of the service's Kafka thread over the latency phase.
 */
import { execFileSync, fork } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { type Consumer, type Kafka, Partitioners, type Producer } from 'kafkajs';
import { startKafka } from '../infra/kafka/kafkaServer';
import type { AckMessage } from '../models/ack';
import type { EvseStateMessage, TopologyMessage } from '../models/fleetState';
import type { PowerVariationMessage } from '../models/powerVariation';
import type { SetpointMessage } from '../models/setpoint';
import type { SiteTopology } from '../models/topology';
import { awaitTopicLeaders } from '../src/adapters/kafka/awaitTopicLeaders';
import { createKafkaTopics } from '../src/adapters/kafka/createKafkaTopics';
import { kafkaClient } from '../src/adapters/kafka/kafkaClient';
import { type KafkaService, startKafkaService } from '../src/cli/kafkaService';
import type { EvflexConfig } from '../src/config/configSchema';
import { parseConfig } from '../src/config/loadConfig';
import type { EngineStats } from '../src/core/engine';
import { awaitIngested, epochMs, type IngestTimes } from './support/awaitIngested';
import type { BareIngestResult } from './support/bareConsumerProcess';
import { WARM_FRACTION } from './support/bareConsumerProcess';
import { traceVariations, type VariationTimes } from './support/variationTrace';

const { values: args } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    sizes: { type: 'string', default: '1,100,1000' },
    evses: { type: 'string', default: '50' },
    /** Fleet-state rounds per EVSE in the ingest phase: the arrival, then SoC updates. */
    rounds: { type: 'string', default: '5' },
    /** Variations per size (at least one per site): p99 of 1,000 is the 10th worst, of 200 the 2nd. */
    samples: { type: 'string', default: '1000' },
    version: { type: 'string' },
    brokers: { type: 'string' },
    /**
     * Niceness of the broker this benchmark starts. On the 2-core machines here the broker, the
     * engine and the measuring clients share the cores; −10 serves the broker first, as a broker
     * on its own host would be (0: plain sharing). Baseline and engine run on the same broker.
     */
    'broker-nice': { type: 'string', default: '-10' },
    /**
     * Where the broker this benchmark starts keeps its log: `memory` (tmpfs, /dev/shm) or `disk`
     * (the project's cache dir). The machines here have one virtual disk for everything; with
     * the log on it, an append now and then stalls the whole broker for ~50 ms (filesystem
     * journal commits), for baseline and engine alike. Kafka's own guidance is a data disk not
     * shared with other activity; `memory` stands in for that.
     */
    'broker-data': { type: 'string', default: 'memory' },
    partitions: { type: 'string', default: '12' },
    /**
     * Ingest trials per size: bare consumer and engine each read the fleet state this many
     * times (fresh topics and a fresh engine per trial, the order alternating), and the medians
     * are reported. One run's rates swing by tens of per cent on these shared machines.
     */
    'ingest-trials': { type: 'string', default: '3' },
    solver: { type: 'string', default: 'fast' },
    /** Extra planner config as JSON, e.g. '{"deferQuietMs":50}'. */
    planner: { type: 'string', default: '{}' },
    /** Extra kafka config as JSON, e.g. '{"fetchMaxBytes":10485760}'. */
    kafka: { type: 'string', default: '{}' },
    /** `process` (default): the service runs as a process of its own; `inline`: in this one (profile). */
    engine: { type: 'string', default: 'process' },
  },
});
const sizes = args.sizes.split(',').map(Number);
const evsesPerSite = Number(args.evses);
const ingestRounds = Math.max(1, Number(args.rounds));
const ingestTrials = Math.max(1, Number(args['ingest-trials']));
const minSamples = Number(args.samples);
const say = (line: string) => {
  if (!args.json) console.error(line);
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waiters for something a consumer of this process sees; woken by `wakeUp`, not by polling. */
const waiters = new Set<() => void>();
/**
 * Called by this process's consumers when what a waiter waits for may have changed. The
 * measuring clients wait on events instead of polling, so they take no CPU from the engine
 * and the broker on this shared machine while a sample is in flight.
 */
function wakeUp(): void {
  for (const waiter of [...waiters]) waiter();
}

async function waitUntil(predicate: () => boolean, timeoutMs: number, what: string, recheckMs = 50) {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, recheckMs);
      waiters.add(done);
    });
  }
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i] as number;
}

const round2 = (x: number) => Math.round(x * 100) / 100;

// ---------------------------------------------------------------- fixtures (one site = 50 EVSEs)

const STATION_EVSES = 2;

function siteTopology(siteId: string): SiteTopology {
  const nodes: SiteTopology['nodes'] = [
    { nodeId: siteId, kind: 'site', parentId: null, importLimitKw: evsesPerSite * 12, exportLimitKw: 0 },
  ];
  for (let s = 0; s < Math.ceil(evsesPerSite / STATION_EVSES); s++) {
    const stationId = `${siteId}-CS${s}`;
    nodes.push({ nodeId: stationId, kind: 'station', parentId: siteId, importLimitKw: 44, exportLimitKw: 0 });
    for (let e = 0; e < STATION_EVSES && s * STATION_EVSES + e < evsesPerSite; e++) {
      nodes.push({
        nodeId: `${stationId}-E${e}`,
        kind: 'evse',
        parentId: stationId,
        importLimitKw: 22,
        exportLimitKw: 0,
      });
    }
  }
  return { siteId, nodes };
}

const header = (siteId: string, source: string, tsMs: number) => ({
  messageId: randomUUID(),
  source,
  siteId,
  tsMs,
  schemaVersion: 1 as const,
});

/**
 * A site's fleet-state stream: its topology, each EVSE's arrival, then `rounds - 1` state
 * updates per EVSE (the SoC a CSMS reports as the session goes on), round by round.
 */
function fleetMessages(siteId: string, nowMs: number, rounds: number): string[] {
  const topology = siteTopology(siteId);
  const out: string[] = [
    JSON.stringify({
      ...header(siteId, 'csms', nowMs),
      kind: 'topology',
      topology,
    } satisfies TopologyMessage),
  ];
  for (const node of topology.nodes) {
    if (node.kind !== 'evse') continue;
    const message: EvseStateMessage = {
      ...header(siteId, 'csms', nowMs),
      kind: 'evseState',
      stationId: node.parentId as string,
      evseId: node.nodeId,
      status: 'occupied',
      session: {
        sessionId: `${node.nodeId}-s1`,
        arrivalMs: nowMs - 600_000,
        departureMs: nowMs + 6 * 3600_000,
        energyTargetKwh: 40,
        energyMinKwh: 10,
        energyMaxKwh: 60,
        socPct: 30,
        batteryCapacityKwh: 77,
        maxChargeKw: 11,
        minChargeKw: 0,
        maxDischargeKw: 0,
        v2gAllowed: false,
        minSocReservePct: 20,
        controlMode: 'scheduled',
      },
    };
    out.push(JSON.stringify(message));
  }
  const arrivals = out.slice(1).map((m) => JSON.parse(m) as EvseStateMessage);
  for (let round = 1; round < rounds; round++) {
    for (const arrival of arrivals) {
      const update: EvseStateMessage = {
        ...arrival,
        ...header(siteId, 'csms', nowMs + round * 1000),
        session: { ...(arrival.session as NonNullable<EvseStateMessage['session']>), socPct: 30 + round },
      };
      out.push(JSON.stringify(update));
    }
  }
  return out;
}

function powerVariation(siteId: string, importLimitKw: number, nowMs: number): PowerVariationMessage {
  return {
    ...header(siteId, 'dso', nowMs),
    kind: 'powerVariation',
    variationId: `v-${randomUUID()}`,
    nodeId: siteId,
    mode: 'absolute',
    importLimitKw,
    startMs: nowMs - 1_000,
    endMs: nowMs + 600_000,
    priority: 5,
    mandatory: true,
    guaranteedMinKwPerDevice: 0,
  };
}

/** EVFLEX_BENCH_PROFILE=dir: a CPU profile of the engine's ingest phase (open in Chrome DevTools). */
async function startProfile() {
  const dir = process.env.EVFLEX_BENCH_PROFILE;
  if (!dir) return null;
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  return {
    async stop(name: string) {
      const { profile } = await session.post('Profiler.stop');
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, `${name}.cpuprofile`), JSON.stringify(profile));
      session.disconnect();
    },
  };
}

// ---------------------------------------------------------------- the service under test

interface ServiceUnderTest {
  stats(): Promise<EngineStats>;
  /** Resolves once the work queued in the engine is done. */
  flush(): Promise<void>;
  stop(): Promise<void>;
  /** CPU time of the service's process so far, all threads, µs (inline: of this process). */
  cpuUs(): Promise<number>;
  /** Minor page faults of the service's process so far (inline: of this process). */
  minorFaults(): Promise<number>;
  /** Per thread of the service's process: name, ms on a CPU, ms waiting for one (process mode only). */
  threads(): Promise<[string, number, number][]>;
  /** EVFLEX_BENCH_TRACE: starts noting when variations come in and their outputs go out. */
  traceOn(): Promise<void>;
  /** Stops noting and hands the times over, by variation messageId. */
  traceOff(): Promise<Map<string, VariationTimes>>;
  /**
   * Waits (inside the service's process, without polling it) until the engine has taken in
   * `records` records and done what they caused; when `warmRecords` and all were in (epoch ms).
   */
  ingested(records: number, warmRecords: number): Promise<IngestTimes>;
  /** Only inline: the service itself (snapshot size). */
  inline: KafkaService | null;
}

/** Starts the service and resolves once it has its partitions and their snapshots. */
async function startService(config: EvflexConfig): Promise<ServiceUnderTest> {
  if (args.engine === 'inline' || process.env.EVFLEX_BENCH_PROFILE) {
    const service = await startKafkaService(config, { log: () => {} });
    await service.assigned;
    let stopTrace: (() => Map<string, VariationTimes>) | null = null;
    return {
      traceOn: async () => {
        stopTrace = traceVariations(service);
      },
      traceOff: async () => stopTrace?.() ?? new Map(),
      stats: async () => service.engine.stats(),
      flush: () => service.engine.handleBatch([]),
      stop: () => service.stop(),
      cpuUs: async () => processCpuUs(),
      minorFaults: async () => process.resourceUsage().minorPageFault,
      threads: async () => [],
      ingested: (records, warmRecords) => awaitIngested(service.engine, records, warmRecords),
      inline: service,
    };
  }
  const child = fork(fileURLToPath(new URL('./support/serviceProcess.ts', import.meta.url)), [], {
    execArgv: [
      '--import',
      'tsx',
      // EVFLEX_BENCH_CPU_PROF=dir: CPU profiles of the service process's threads (consumer and engine), written at exit.
      ...(process.env.EVFLEX_BENCH_CPU_PROF
        ? ['--cpu-prof', `--cpu-prof-dir=${process.env.EVFLEX_BENCH_CPU_PROF}`]
        : []),
      // EVFLEX_BENCH_SERVICE_FLAGS='--trace-gc …': more Node flags for it (its stdout is then shown).
      ...(process.env.EVFLEX_BENCH_SERVICE_FLAGS?.split(' ').filter(Boolean) ?? []),
    ],
    stdio: ['ignore', process.env.EVFLEX_BENCH_SERVICE_FLAGS ? 'inherit' : 'ignore', 'inherit', 'ipc'],
  });
  type Reply = {
    ok: boolean;
    stats?: EngineStats;
    cpuUs?: number;
    minorFaults?: number;
    trace?: [string, VariationTimes][];
    threads?: [string, number, number][];
    ingested?: IngestTimes;
    mainLoop?: { p99Ms: number; maxMs: number };
    error?: string;
  };
  const waiting: ((m: Reply) => void)[] = [];
  let lastCpuUs = 0;
  let lastMinorFaults = 0;
  child.on('message', (m: Reply) => {
    lastCpuUs = m.cpuUs ?? lastCpuUs;
    lastMinorFaults = m.minorFaults ?? lastMinorFaults;
    waiting.shift()?.(m);
  });
  const call = (request: object) =>
    new Promise<EngineStats>((resolve, reject) => {
      waiting.push((m) => (m.ok ? resolve(m.stats as EngineStats) : reject(new Error(m.error))));
      child.send(request);
    });
  await call({ op: 'start', config });
  const reply = (request: object) =>
    new Promise<Reply>((resolve) => {
      waiting.push(resolve);
      child.send(request);
    });
  return {
    traceOn: async () => {
      await call({ op: 'traceOn' });
    },
    traceOff: async () => {
      const answer = await reply({ op: 'traceOff' });
      say(`    service main thread's event-loop delay: ${JSON.stringify(answer.mainLoop)}`);
      for (const [name, onCpuMs, waitMs] of answer.threads ?? [])
        say(
          `    service thread ${name}: ${Math.round(onCpuMs)} ms on a CPU, ${Math.round(waitMs)} ms waiting for one`,
        );
      return new Map(answer.trace ?? []);
    },
    stats: () => call({ op: 'stats' }),
    flush: async () => {
      await call({ op: 'flush' });
    },
    ingested: async (records, warmRecords) => {
      const answer = await reply({ op: 'ingested', records, warmRecords });
      if (!answer.ok || !answer.ingested) throw new Error(answer.error ?? 'no ingest times');
      return answer.ingested;
    },
    stop: async () => {
      const exited = new Promise((r) => child.once('exit', r));
      await call({ op: 'stop' });
      await exited;
    },
    cpuUs: async () => {
      await call({ op: 'stats' });
      return lastCpuUs;
    },
    minorFaults: async () => {
      await call({ op: 'stats' });
      return lastMinorFaults;
    },
    threads: async () => (await reply({ op: 'threads' })).threads ?? [],
    inline: null,
  };
}

/** This process's CPU time so far, all threads, µs. */
function processCpuUs(): number {
  const { user, system } = process.cpuUsage();
  return user + system;
}

/** A process's CPU time so far from /proc (utime + stime), µs; 0 when unknown. */
function pidCpuUs(pid: number | null): number {
  if (pid === null) return 0;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1e6) / CLOCK_TICKS_PER_S;
  } catch {
    return 0;
  }
}
/** USER_HZ: 100 on Linux. */
const CLOCK_TICKS_PER_S = 100;

/**
 * Lets the machine settle before a latency phase: dirty pages written out (`sync`), then until
 * the broker spends under 10 % of a core over 250 ms (at most 15 s).
 */
async function settle(brokerPid: number | null): Promise<void> {
  execFileSync('sync');
  const deadline = Date.now() + 15_000;
  while (brokerPid !== null && Date.now() < deadline) {
    const cpu0 = pidCpuUs(brokerPid);
    await sleep(250);
    if (pidCpuUs(brokerPid) - cpu0 < 25_000) return;
  }
}

async function waitUntilAsync(predicate: () => Promise<boolean>, timeoutMs: number, what: string) {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(2);
  }
}

// ---------------------------------------------------------------- kafka helpers

async function produceAll(producer: Producer, topic: string, messages: { key: string; value: string }[]) {
  for (let i = 0; i < messages.length; i += 5_000) {
    await producer.send({ topic, messages: messages.slice(i, i + 5_000), acks: -1 });
  }
}

/**
 * The ingest baseline: a bare kafkajs consumer in a process of its own (as the service under
 * test is), from joining to having read `expected` records → msg/s and that process's CPU µs.
 */
async function bareIngest(
  brokers: string,
  topic: string,
  expected: number,
  parse = false,
): Promise<BareIngestResult> {
  const child = fork(fileURLToPath(new URL('./support/bareConsumerProcess.ts', import.meta.url)), [], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const result = new Promise<BareIngestResult>((resolve, reject) => {
    child.once('message', (m: BareIngestResult) => resolve(m));
    child.once('exit', (code) => reject(new Error(`bare consumer exited with ${code}`)));
  });
  child.send({ brokers, topic, expected, parse });
  const timeout = setTimeout(() => child.kill('SIGKILL'), 300_000);
  try {
    return await result;
  } finally {
    clearTimeout(timeout);
    await new Promise((r) => (child.exitCode === null ? child.once('exit', r) : r(null)));
  }
}

interface SetpointWatch {
  /** setId → arrivals so far, setSize, last arrival. */
  sets: Map<string, { count: number; size: number; lastMs: number }>;
  /** `${siteId}:${tsMs}` of a decision → its set ids (an ack carries the decision's tsMs). */
  setsByDecision: Map<string, string[]>;
  /** requestMessageId → ack. */
  acks: Map<string, AckMessage>;
  echoes: Map<string, number>;
  /** When the last setpoint message arrived (performance.now). */
  lastSetpointMs: number;
  /** Arrivals on the echo's input topic: one hop, produce → consume. */
  oneHop: Map<string, number>;
  consumer: Consumer;
}

async function watchOutputs(
  kafka: Kafka,
  topics: { setpoints: string; acks: string; echo: string; echoIn: string },
): Promise<SetpointWatch> {
  const consumer = kafka.consumer({
    groupId: `bench-csms-${randomBytes(4).toString('hex')}`,
    maxWaitTimeInMs: 100,
  });
  const watch: SetpointWatch = {
    sets: new Map(),
    setsByDecision: new Map(),
    acks: new Map(),
    echoes: new Map(),
    lastSetpointMs: 0,
    oneHop: new Map(),
    consumer,
  };
  await consumer.connect();
  await consumer.subscribe({
    topics: [topics.setpoints, topics.acks, topics.echo, topics.echoIn],
    fromBeginning: false,
  });
  let joined = false;
  consumer.on(consumer.events.GROUP_JOIN, () => {
    joined = true;
    wakeUp();
  });
  // A commit per partition batch would add a round trip each to what the CSMS sees.
  await consumer.run({
    autoCommit: false,
    eachBatch: async ({ batch }) => {
      const nowMs = performance.now();
      if (batch.topic === topics.setpoints) {
        for (const m of batch.messages) {
          const sp = JSON.parse(m.value?.toString() ?? '{}') as SetpointMessage;
          let entry = watch.sets.get(sp.setId);
          if (!entry) {
            entry = { count: 0, size: sp.setSize, lastMs: 0 };
            const decision = `${sp.siteId}:${sp.tsMs}`;
            watch.setsByDecision.set(decision, [...(watch.setsByDecision.get(decision) ?? []), sp.setId]);
          }
          entry.count++;
          entry.lastMs = nowMs;
          watch.lastSetpointMs = nowMs;
          watch.sets.set(sp.setId, entry);
        }
      } else if (batch.topic === topics.acks) {
        for (const m of batch.messages) {
          const ack = JSON.parse(m.value?.toString() ?? '{}') as AckMessage;
          watch.acks.set(ack.requestMessageId, ack);
        }
      } else if (batch.topic === topics.echo) {
        for (const m of batch.messages) watch.echoes.set(m.key?.toString() ?? '', nowMs);
      } else {
        for (const m of batch.messages) watch.oneHop.set(m.key?.toString() ?? '', nowMs);
      }
      wakeUp();
    },
  });
  await waitUntil(() => joined, 60_000, 'output consumer join');
  return watch;
}

/** The baseline's middle: a bare consumer that re-produces each record (acks = all), nothing else. */
async function startEcho(kafka: Kafka, from: string, to: string): Promise<Consumer> {
  const producer = kafka.producer({
    createPartitioner: Partitioners.DefaultPartitioner,
    maxInFlightRequests: 1,
  });
  await producer.connect();
  const consumer = kafka.consumer({
    groupId: `bench-echo-${randomBytes(4).toString('hex')}`,
    maxWaitTimeInMs: 500,
  });
  await consumer.connect();
  await consumer.subscribe({ topic: from, fromBeginning: false });
  let joined = false;
  consumer.on(consumer.events.GROUP_JOIN, () => {
    joined = true;
    wakeUp();
  });
  consumer.on(consumer.events.STOP, () => {
    producer.disconnect().catch(() => {});
  });
  await consumer.run({
    autoCommit: false,
    eachBatch: async ({ batch, commitOffsetsIfNecessary }) => {
      await producer.send({
        topic: to,
        acks: -1,
        messages: batch.messages.map((m) => ({ key: m.key, value: m.value })),
      });
      const last = batch.messages[batch.messages.length - 1]?.offset ?? '0';
      await commitOffsetsIfNecessary({
        topics: [
          {
            topic: batch.topic,
            partitions: [{ partition: batch.partition, offset: String(BigInt(last) + 1n) }],
          },
        ],
      });
    },
  });
  await waitUntil(() => joined, 60_000, 'echo consumer join');
  return consumer;
}

// ---------------------------------------------------------------- ingest trials

function benchConfig(brokers: string, prefix: string): EvflexConfig {
  return parseConfig({
    instanceId: 'bench-engine',
    topicsPrefix: prefix,
    kafka: {
      brokers: [brokers],
      groupId: `bench-${prefix}`,
      partitions: Number(args.partitions),
      ...(JSON.parse(args.kafka) as object),
    },
    planner: { solver: args.solver, ...(JSON.parse(args.planner) as object) },
  });
}

/** One reading of the fleet state: rate, CPU of the reader's process and of the broker meanwhile. */
interface IngestReading {
  msgsPerS: number;
  /** The rate after the first WARM_FRACTION of the records (past start-up: JIT, first fetches). */
  steadyMsgsPerS: number;
  cpuUs: number;
  brokerCpuUs: number;
}

interface IngestTrial extends IngestReading {
  ms: number;
  /** Minor page faults of the service's process meanwhile (fresh memory touched). */
  minorFaults: number;
  /** Site decisions the engine made while it read (the backlog is read before it is planned on). */
  decisions: number;
  bare: IngestReading;
}

async function bareIngestTrial(
  brokers: string,
  topic: string,
  expected: number,
  brokerPid: number | null,
): Promise<IngestReading> {
  const brokerCpu0 = pidCpuUs(brokerPid);
  const bare = await bareIngest(brokers, topic, expected);
  return { ...bare, brokerCpuUs: pidCpuUs(brokerPid) - brokerCpu0 };
}

/**
 * The engine reading the fleet state: the clock starts when it may fetch (joined, its
 * partitions' snapshots loaded), as the bare consumer's starts when it has joined, and stops
 * when it has applied every record and published what they caused.
 */
async function engineIngestTrial(
  service: ServiceUnderTest,
  expected: number,
  brokerPid: number | null,
): Promise<Omit<IngestTrial, 'bare'>> {
  const profiler = await startProfile();
  const engineCpu0 = [await service.cpuUs(), pidCpuUs(brokerPid), await service.minorFaults()];
  const threads0 = process.env.EVFLEX_BENCH_TRACE ? await service.threads() : [];
  const startMs = epochMs();
  const { warmAtMs, endAtMs, decisions } = await service.ingested(
    expected,
    Math.ceil(expected * WARM_FRACTION),
  );
  const warmRecords = Math.ceil(expected * WARM_FRACTION);
  const ms = endAtMs - startMs;
  await profiler?.stop(`ingest-${expected}`);
  if (process.env.EVFLEX_BENCH_TRACE)
    for (const [name, onCpuMs, waitMs] of await service.threads()) {
      const [, onCpu0 = 0, wait0 = 0] = threads0.find(([n]) => n === name) ?? [];
      if (onCpuMs - onCpu0 > 5)
        say(
          `    ingest, service thread ${name}: ${Math.round(onCpuMs - onCpu0)} ms on a CPU, ${Math.round(waitMs - wait0)} ms waiting`,
        );
    }
  return {
    ms,
    msgsPerS: expected / (ms / 1000),
    steadyMsgsPerS: (expected - warmRecords) / ((endAtMs - warmAtMs) / 1000),
    cpuUs: (await service.cpuUs()) - (engineCpu0[0] as number),
    brokerCpuUs: pidCpuUs(brokerPid) - (engineCpu0[1] as number),
    minorFaults: (await service.minorFaults()) - (engineCpu0[2] as number),
    decisions,
  };
}

/** A trial on topics of its own (so the fresh engine restores no snapshot and reads it all), removed after. */
async function separateIngestTrial(
  brokers: string,
  fleet: { key: string; value: string }[],
  brokerPid: number | null,
  engineFirst: boolean,
): Promise<IngestTrial> {
  const prefix = `bench${randomBytes(3).toString('hex')}.`;
  const config = benchConfig(brokers, prefix);
  await createKafkaTopics(config);
  const kafka = kafkaClient({ brokers: [brokers], clientId: 'bench-trial' });
  // A producer of its own: one that knew the topics would fail on its next metadata refresh
  // once they are deleted.
  const producer = kafka.producer({
    createPartitioner: Partitioners.DefaultPartitioner,
    allowAutoTopicCreation: false,
  });
  await producer.connect();
  await produceAll(producer, `${prefix}fleet.state`, fleet);
  await producer.disconnect();
  await settle(brokerPid);
  const engine = async () => {
    const service = await startService(config);
    try {
      return await engineIngestTrial(service, fleet.length, brokerPid);
    } finally {
      await service.stop();
    }
  };
  const bare = () => bareIngestTrial(brokers, `${prefix}fleet.state`, fleet.length, brokerPid);
  let trial: IngestTrial;
  if (engineFirst) {
    const read = await engine();
    await settle(brokerPid);
    trial = { ...read, bare: await bare() };
  } else {
    const bareRead = await bare();
    await settle(brokerPid);
    trial = { ...(await engine()), bare: bareRead };
  }
  const admin = kafka.admin();
  await admin.connect();
  const topics = (await admin.listTopics()).filter((topic) => topic.startsWith(prefix));
  await admin.deleteTopics({ topics }).catch(() => {});
  await admin.disconnect();
  say(
    `  ingest trial: engine ${Math.round(trial.msgsPerS)} msg/s, bare ${Math.round(trial.bare.msgsPerS)} (${engineFirst ? 'engine' : 'bare'} first)`,
  );
  return trial;
}

// ---------------------------------------------------------------- one size

interface SizeResult {
  sites: number;
  evsesPerSite: number;
  messages: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  baselineP50Ms: number;
  baselineP99Ms: number;
  baselineMaxMs: number;
  engineAddedP99Ms: number;
  /** Plain produce → consume, one hop (the engine's path has two). */
  oneHopP50Ms: number;
  oneHopP99Ms: number;
  echoBesideEngineP50Ms: number;
  echoBesideEngineP99Ms: number;
  ingestMessages: number;
  ingestMsgsPerS: number;
  baselineIngestMsgsPerS: number;
  ingestRatio: number;
  /** Engine ÷ bare consumer rate in each trial (the last one is the trial the latency phase follows). */
  ingestRatios: number[];
  /**
   * The same past start-up: rates from when a fifth of the records was read (the cold start —
   * JIT compilation, first fetches — weighs on a 1–2 s read; a service catching up on a long
   * backlog, or running for days, reads at this rate). Medians over the trials, as above.
   */
  steadyIngestMsgsPerS: number;
  steadyBaselineIngestMsgsPerS: number;
  steadyIngestRatio: number;
  steadyIngestRatios: number[];
  /** A bare consumer that also JSON.parses every value (not the target's baseline; context). */
  parseOnlyIngestMsgsPerS: number;
  ingestCpuUsPerMsg: number;
  baselineIngestCpuUsPerMsg: number;
  brokerCpuUsPerMsgEngine: number | null;
  brokerCpuUsPerMsgBare: number | null;
  /** From the end of ingest until every site has its plan (deferred re-plans, in slices). */
  planCatchUpMs: number;
  /** Minor page faults of the service's process while it read the fleet state (fresh memory touched). */
  ingestMinorFaults: number;
  /** Site decisions made during the ingest (median of the trials): planning that competed with reading. */
  ingestDecisions: number;
  kafkaVersion: string;
}

async function runSize(
  brokers: string,
  kafkaVersion: string,
  siteCount: number,
  brokerPid: number | null,
): Promise<SizeResult> {
  const prefix = `bench${randomBytes(3).toString('hex')}.`;
  const config = benchConfig(brokers, prefix);
  await createKafkaTopics(config);
  const kafka = kafkaClient({ brokers: [brokers], clientId: 'bench' });
  const admin = kafka.admin();
  await admin.connect();
  const echoTopics = [`${prefix}echo.in`, `${prefix}echo.out`];
  await admin.createTopics({
    waitForLeaders: false,
    topics: echoTopics.map((topic) => ({
      topic,
      numPartitions: Number(args.partitions),
      replicationFactor: 1,
    })),
  });
  await awaitTopicLeaders(admin, echoTopics);
  await admin.disconnect();
  const producer = kafka.producer({
    createPartitioner: Partitioners.DefaultPartitioner,
    allowAutoTopicCreation: false,
  });
  await producer.connect();

  // Ingest: preload fleet state, then let the engine and a bare consumer read it.
  const siteIds = Array.from({ length: siteCount }, (_, i) => `site-${String(i).padStart(5, '0')}`);
  const nowMs = Date.now();
  const fleet = siteIds.flatMap((siteId) =>
    fleetMessages(siteId, nowMs, ingestRounds).map((value) => ({ key: siteId, value })),
  );
  // The trials before the one the latency phase follows, each on topics of its own.
  const trials: IngestTrial[] = [];
  for (let t = 1; t < ingestTrials; t++)
    trials.push(await separateIngestTrial(brokers, fleet, brokerPid, t % 2 === 1));
  await produceAll(producer, `${prefix}fleet.state`, fleet);
  say(`  ${siteCount} sites: ${fleet.length} fleet-state messages produced`);

  // The baseline: the same two hops through a bare echo, after a few round trips that warm its
  // path; later it is sampled again beside the engine (context).
  const samples = Math.max(minSamples, siteCount);
  const watch = await watchOutputs(kafka, {
    setpoints: `${prefix}setpoints`,
    acks: `${prefix}acks`,
    echo: `${prefix}echo.out`,
    echoIn: `${prefix}echo.in`,
  });
  const echo = await startEcho(kafka, `${prefix}echo.in`, `${prefix}echo.out`);
  await sleep(500);

  const baseline: number[] = [];
  const oneHop: number[] = [];
  const interleaved: number[] = [];
  const echoSample = async (key: string, into: number[] | null, hops: number[] | null = null) => {
    const sentMs = performance.now();
    await producer.send({
      topic: `${prefix}echo.in`,
      acks: -1,
      messages: [{ key, value: JSON.stringify({ key }) }],
    });
    await waitUntil(() => watch.echoes.has(key), 60_000, 'echo');
    await waitUntil(() => watch.oneHop.has(key), 60_000, 'one hop');
    into?.push((watch.echoes.get(key) as number) - sentMs);
    hops?.push((watch.oneHop.get(key) as number) - sentMs);
  };
  // The records just produced are still being written out: both latency phases start on a
  // settled broker, or the first would pay for the preload.
  await settle(brokerPid);
  for (let i = 0; i < 20; i++) await echoSample(`warm-${i}`, null);
  // The baseline proper, with no engine running (the "produce → consume with no engine").
  for (let i = 0; i < samples; i++) await echoSample(`echo-${i}`, baseline, oneHop);

  // The last trial: its engine goes on to the latency phase (bare consumer first when the
  // trials before alternated so). Each reader starts on a settled broker, as in the trials
  // before (the engine used to start right after the parse-only read, the broker still busy
  // with it).
  await settle(brokerPid);
  const bare = await bareIngestTrial(brokers, `${prefix}fleet.state`, fleet.length, brokerPid);
  await settle(brokerPid);
  const parseOnlyIngestMsgsPerS = (await bareIngest(brokers, `${prefix}fleet.state`, fleet.length, true))
    .msgsPerS;
  await settle(brokerPid);
  const service = await startService(config);
  const engine = await engineIngestTrial(service, fleet.length, brokerPid);
  trials.push({ ...engine, bare });
  const ingestStart = performance.now() - engine.ms;
  // Re-plans nothing urgent waits for run once input is quiet: how long until every site has
  // its plan after the backlog was read (reported, and out of the way of the latency samples).
  await waitUntilAsync(
    async () => {
      const stats = await service.stats();
      return stats.deferredSites === 0 && stats.decisions >= siteCount;
    },
    600_000,
    'plans after ingest',
  );
  const planCatchUpMs = performance.now() - ingestStart - engine.ms;
  // The measuring consumer shares this process with the engine's Kafka client: let it finish
  // reading the catch-up's setpoints (25 messages per site) before the first sample.
  await waitUntil(() => performance.now() - watch.lastSetpointMs > 500, 120_000, 'CSMS consumer drained');
  await settle(brokerPid);
  if (process.env.EVFLEX_BENCH_TRACE && service.inline) {
    const inline = service.inline;
    const [snapshot] = await inline.engine.snapshotRecords([siteIds[0] as string]);
    say(
      `    one site's snapshot: ${snapshot?.value.length} bytes; engine stats ${JSON.stringify(inline.engine.stats())}`,
    );
  }
  const ratios = trials.map((t) => round2(t.msgsPerS / t.bare.msgsPerS));
  const median = (xs: number[]) =>
    percentile(
      [...xs].sort((a, b) => a - b),
      50,
    );
  const ingestMsgsPerS = median(trials.map((t) => t.msgsPerS));
  const baselineIngestMsgsPerS = median(trials.map((t) => t.bare.msgsPerS));
  const perMsg = (us: number) => round2(us / fleet.length);
  const steadyRatios = trials.map((t) => round2(t.steadyMsgsPerS / t.bare.steadyMsgsPerS));
  say(
    `  ingest ${Math.round(ingestMsgsPerS)} msg/s (bare consumer ${Math.round(baselineIngestMsgsPerS)} msg/s, ` +
      `one that only JSON.parses ${Math.round(parseOnlyIngestMsgsPerS)}; medians of ${trials.length}, ratios ${ratios.join(', ')}); ` +
      `every site planned ${Math.round(planCatchUpMs)} ms later; past start-up ratios ${steadyRatios.join(', ')}`,
  );

  // Optional breakdown (EVFLEX_BENCH_TRACE=1): when the engine got each variation and
  // published its outputs, on the wall clock both processes share.
  if (process.env.EVFLEX_BENCH_TRACE) await service.traceOn();
  const sent: { messageId: string; sentMs: number; doneMs: number }[] = [];
  // CPU of the three parties over the phase: this process (the DSO, the CSMS and the echo), the
  // broker and the service.
  const phaseCpu0 = [processCpuUs(), pidCpuUs(brokerPid), await service.cpuUs(), performance.now()];

  // Latency: one variation at a time, round-robin over the sites.
  const latencies: number[] = [];
  for (let i = 0; i < samples; i++) {
    await echoSample(`beside-${i}`, interleaved);
    const siteId = siteIds[i % siteCount] as string;
    const limitKw = i % 2 === 0 ? evsesPerSite * 5 : evsesPerSite * 4;
    const variation = powerVariation(siteId, limitKw, Date.now());
    const sentMs = performance.now();
    await producer.send({
      topic: `${prefix}dso.power-variation`,
      acks: -1,
      messages: [{ key: siteId, value: JSON.stringify(variation) }],
    });
    let doneMs = 0;
    await waitUntil(
      () => {
        const ack = watch.acks.get(variation.messageId);
        if (!ack) return false;
        for (const setId of watch.setsByDecision.get(`${siteId}:${ack.tsMs}`) ?? []) {
          const set = watch.sets.get(setId);
          if (!set || set.count < set.size) continue;
          doneMs = set.lastMs;
          return true;
        }
        return false;
      },
      60_000,
      `setpoint set of ${siteId}`,
    );
    latencies.push(doneMs - sentMs);
    sent.push({ messageId: variation.messageId, sentMs, doneMs });
  }
  if (process.env.EVFLEX_BENCH_TRACE) {
    const phaseCpu = [processCpuUs(), pidCpuUs(brokerPid), await service.cpuUs(), performance.now()].map(
      (x, i) => x - (phaseCpu0[i] as number),
    );
    const perSampleMs = (us: number) => round2(us / 1000 / samples);
    say(
      `    CPU per sample (echo and variation): this process ${perSampleMs(phaseCpu[0] as number)} ms, ` +
        `broker ${perSampleMs(phaseCpu[1] as number)} ms, service ${perSampleMs(phaseCpu[2] as number)} ms; ` +
        `wall ${round2((phaseCpu[3] as number) / samples)} ms`,
    );
    const trace = await service.traceOff();
    const breakdown: number[][] = [];
    for (const { messageId, sentMs, doneMs } of sent) {
      const t = trace.get(messageId);
      if (!t) continue;
      const at = (absMs: number) => absMs - performance.timeOrigin;
      breakdown.push([
        sentMs - (sent[0]?.sentMs ?? 0),
        doneMs - sentMs,
        at(t.inputMs) - sentMs,
        at(t.publishStartMs) - at(t.inputMs),
        at(t.publishEndMs) - at(t.publishStartMs),
        doneMs - at(t.publishEndMs),
      ]);
    }
    const parts = [
      'produce→engine read it',
      'read→decided',
      'engine publish (acks=all)',
      'acked→CSMS has set',
    ];
    for (const [i, name] of parts.entries()) {
      const xs = breakdown.map((b) => b[i + 2] as number).sort((a, b) => a - b);
      say(
        `    ${name}: p50 ${round2(percentile(xs, 50))} ms, p99 ${round2(percentile(xs, 99))} ms, max ${round2(xs[xs.length - 1] as number)} ms`,
      );
    }
    say('    the slowest, when (UTC, ms into the phase), total and parts:');
    const startMs = performance.timeOrigin + (sent[0]?.sentMs ?? 0);
    for (const b of breakdown.sort((x, y) => (y[1] as number) - (x[1] as number)).slice(0, 12)) {
      const at = new Date(startMs + (b[0] as number)).toISOString().slice(11, 23);
      say(`      ${at} (${Math.round(b[0] as number)}): ${b.slice(1).map(round2).join(' / ')}`);
    }
  }

  await echo.disconnect();
  await watch.consumer.disconnect();
  await service.stop();
  await producer.disconnect();

  latencies.sort((a, b) => a - b);
  baseline.sort((a, b) => a - b);
  interleaved.sort((a, b) => a - b);
  oneHop.sort((a, b) => a - b);
  const p99Ms = percentile(latencies, 99);
  const baselineP99Ms = percentile(baseline, 99);
  return {
    sites: siteCount,
    evsesPerSite,
    messages: samples,
    p50Ms: round2(percentile(latencies, 50)),
    p99Ms: round2(p99Ms),
    maxMs: round2(latencies[latencies.length - 1] as number),
    baselineP50Ms: round2(percentile(baseline, 50)),
    baselineP99Ms: round2(baselineP99Ms),
    baselineMaxMs: round2(baseline[baseline.length - 1] as number),
    engineAddedP99Ms: round2(p99Ms - baselineP99Ms),
    oneHopP50Ms: round2(percentile(oneHop, 50)),
    oneHopP99Ms: round2(percentile(oneHop, 99)),
    // The same echo while the engine runs, one sample before each of the engine's: what the
    // machine and broker give any client meanwhile (context; engine-added uses the baseline).
    echoBesideEngineP50Ms: round2(percentile(interleaved, 50)),
    echoBesideEngineP99Ms: round2(percentile(interleaved, 99)),
    ingestMessages: fleet.length,
    ingestMsgsPerS: Math.round(ingestMsgsPerS),
    baselineIngestMsgsPerS: Math.round(baselineIngestMsgsPerS),
    ingestRatio: median(ratios),
    ingestRatios: ratios,
    steadyIngestMsgsPerS: Math.round(median(trials.map((t) => t.steadyMsgsPerS))),
    steadyBaselineIngestMsgsPerS: Math.round(median(trials.map((t) => t.bare.steadyMsgsPerS))),
    steadyIngestRatio: median(steadyRatios),
    steadyIngestRatios: steadyRatios,
    parseOnlyIngestMsgsPerS: Math.round(parseOnlyIngestMsgsPerS),
    // CPU per fleet-state record (µs, medians over the trials): the engine's process (all
    // threads) vs the bare consumer's process, and the broker's in each. Less load-dependent
    // than rates.
    ingestCpuUsPerMsg: perMsg(median(trials.map((t) => t.cpuUs))),
    baselineIngestCpuUsPerMsg: perMsg(median(trials.map((t) => t.bare.cpuUs))),
    brokerCpuUsPerMsgEngine: brokerPid === null ? null : perMsg(median(trials.map((t) => t.brokerCpuUs))),
    brokerCpuUsPerMsgBare: brokerPid === null ? null : perMsg(median(trials.map((t) => t.bare.brokerCpuUs))),
    planCatchUpMs: Math.round(planCatchUpMs),
    ingestMinorFaults: engine.minorFaults,
    ingestDecisions: median(trials.map((t) => t.decisions)),
    kafkaVersion,
  };
}

/** The niceness of the broker started here (null: an external one, or unknown). */
let brokerNiceness: number | null = null;
/** Where the broker started here keeps its log (null: an external broker). */
let brokerDataOn: 'memory' | 'disk' | null = null;
const brokerDataDir =
  args['broker-data'] === 'memory' && existsSync('/dev/shm')
    ? join('/dev/shm', `evflex-bench-kafka-${process.pid}-${randomBytes(3).toString('hex')}`)
    : null;

async function main() {
  let brokers = args.brokers;
  let version = args.version ?? process.env.EVFLEX_KAFKA_VERSION ?? 'external';
  let stop = async () => {};
  let brokerPid: number | null = null;
  if (!brokers) {
    const server = await startKafka({
      version: args.version,
      ensureKcat: false,
      niceness: Number(args['broker-nice']),
      ...(brokerDataDir ? { dataDir: brokerDataDir } : {}),
    });
    brokerNiceness = server.niceness;
    brokerDataOn = brokerDataDir ? 'memory' : 'disk';
    brokers = server.brokers;
    version = server.version;
    stop = async () => {
      await server.stop();
      if (brokerDataDir) rmSync(brokerDataDir, { recursive: true, force: true });
    };
    brokerPid = server.pid;
    say(`Kafka ${server.version} on ${brokers}, niceness ${server.niceness}, log on ${brokerDataOn}`);
  }
  try {
    for (const size of sizes) {
      const result = { ...(await runSize(brokers, version, size, brokerPid)), brokerNiceness, brokerDataOn };
      if (args.json) console.log(JSON.stringify(result));
      else
        console.log(
          `${size} sites × ${evsesPerSite} EVSEs: p50 ${result.p50Ms} ms, p99 ${result.p99Ms} ms, max ${result.maxMs} ms ` +
            `(echo baseline p50 ${result.baselineP50Ms}, p99 ${result.baselineP99Ms}; engine-added p99 ${result.engineAddedP99Ms} ms; ` +
            `echo beside the engine p50 ${result.echoBesideEngineP50Ms}, p99 ${result.echoBesideEngineP99Ms}); ` +
            `ingest ${result.ingestMsgsPerS} msg/s vs bare ${result.baselineIngestMsgsPerS} (${result.ingestRatio}; ` +
            `past start-up ${result.steadyIngestMsgsPerS} vs ${result.steadyBaselineIngestMsgsPerS}, ${result.steadyIngestRatio}); ` +
            `CPU µs/msg engine ${result.ingestCpuUsPerMsg} vs bare ${result.baselineIngestCpuUsPerMsg}, ` +
            `broker ${result.brokerCpuUsPerMsgEngine} vs ${result.brokerCpuUsPerMsgBare}`,
        );
    }
  } finally {
    await stop();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
