/**
 * Telemetry benchmark: sustained ClickHouse insert rate from one process, and the control
 * path's latency with the sink on vs off in the same run.
 *
 * The control loop ticks every millisecond (as frequency samples arrive); each tick runs a
 * droop allocation over a fleet in typed arrays and, with the sink on, records the telemetry
 * rows due at the offered rate. Control latency = tick completion minus the time the tick was
 * due, so anything the sink does on the event loop (encoding, HTTP writes, GC) shows up.
 *
 * Sink-on and sink-off run in alternating slices of the same run (off/on, then on/off), so
 * both see the same background load on a shared machine; after each on slice the sink is
 * drained, and that time counts against the insert rate.
 *
 *   npm run bench:telemetry -- [--json] [--seconds 10] [--slice 2] [--rate 250000] [--evses 2000]
 *     [--diagnose] [--realtime [--realtime-priority 20] [--realtime-others 10]]
 *     [--single-threaded-gc] [--semi-space-mb 64] [--pin] [--placement isolated|shared]
 *
 * --placement isolated (the default) is --realtime --pin: production's placement, ClickHouse on
 * another host (here: other cores) and a real-time control thread. Where that is not permitted
 * (no root, one CPU) it falls back to sharing and the JSON's `placement` says why.
 * --placement shared: everything shares every core at SCHED_OTHER (add --realtime or --pin to
 * take one of the two).
 *
 * --realtime puts the control (main) thread at SCHED_FIFO after the warm-up, for both the
 * sink-on and the sink-off slices; --realtime-others N also puts this process's other threads
 * (insert worker, V8 platform, libuv pool) at SCHED_FIFO N, below the control thread (at the
 * same priority they would delay it). Needs root (CAP_SYS_NICE) and `chrt`. The JSON says
 * which policy the threads ended up with (`schedPolicy`).
 *
 * --pin (after the warm-up, `taskset`): the control thread on CPU 0, the ClickHouse server and
 * this process's other threads on the other CPUs, as when the database runs elsewhere and the
 * control thread has a core of its own (threads it starts later inherit CPU 0; the server's
 * inherit theirs). Other processes on the box are left alone. The JSON says so (`cpuPinning`).
 *
 * --single-threaded-gc runs the benchmark under `node --single-threaded-gc` (it re-executes
 * itself): V8 then posts no parallel GC tasks to its platform threads, so the control thread
 * never waits inside pthread_cond_signal for a platform thread that a busy CPU keeps from
 * running (see infra/clickhouse/README.md). --semi-space-mb N fixes V8's young generation at
 * N MB per semi-space (`--min-semi-space-size` = `--max-semi-space-size` = N): the row objects
 * the caller builds then cost a few larger scavenges instead of ~5 per second. The JSON lists
 * the node flags used (`nodeFlags`).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { openSync, readdirSync, readFileSync, readSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { PerformanceObserver, performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { createClient } from '@clickhouse/client';
import { startClickHouse } from '../infra/clickhouse/clickhouseServer';
import { createClickHouseTelemetrySink } from '../src/adapters/clickhouse/clickHouseTelemetrySink';
import type { TelemetryRow, TelemetrySink } from '../src/core/ports/telemetrySink';

const { values: args } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    seconds: { type: 'string', default: '10' },
    slice: { type: 'string', default: '2' },
    rate: { type: 'string', default: '250000' },
    evses: { type: 'string', default: '2000' },
    diagnose: { type: 'boolean', default: false },
    realtime: { type: 'boolean', default: false },
    'realtime-priority': { type: 'string', default: '20' },
    'realtime-others': { type: 'string', default: '0' },
    'single-threaded-gc': { type: 'boolean', default: false },
    'semi-space-mb': { type: 'string' },
    pin: { type: 'boolean', default: false },
    /**
     * `isolated` (default): --realtime and --pin, as in production, where ClickHouse runs on
     * another host and the engine's control thread is real-time (infra/clickhouse/README.md);
     * falls back to sharing, and says so, where that is not permitted. `shared`: every thread
     * and the server share every core at SCHED_OTHER (unless --realtime / --pin are given).
     */
    placement: { type: 'string', default: 'isolated' },
  },
});
const isolated = args.placement === 'isolated';
if (!isolated && args.placement !== 'shared')
  throw new Error(`--placement ${args.placement}: isolated or shared`);
// V8 flags that must be set before the heap exists (and some are not allowed in NODE_OPTIONS).
const v8Flags = [
  ...(args['single-threaded-gc'] ? ['--single-threaded-gc'] : []),
  ...(args['semi-space-mb']
    ? [`--min-semi-space-size=${args['semi-space-mb']}`, `--max-semi-space-size=${args['semi-space-mb']}`]
    : []),
].filter((f) => !process.execArgv.includes(f));
if (v8Flags.length > 0) {
  const child = spawnSync(process.execPath, [...v8Flags, ...process.execArgv, ...process.argv.slice(1)], {
    stdio: 'inherit',
  });
  process.exit(child.status ?? 1);
}
const nodeFlags = process.execArgv.filter((a) => a.startsWith('--') && !/^--(require|import|loader)/.test(a));
const phaseS = Number(args.seconds);
const sliceS = Number(args.slice);
const offeredRowsPerS = Number(args.rate);
const evseCount = Number(args.evses);
const TICK_MS = 1;

const say = (line: string) => {
  if (!args.json) console.log(line);
};

/** A representative real-time step: droop response allocated over the fleet's headroom. */
function makeControlStep(n: number) {
  const headroomUpKw = new Float64Array(n);
  const headroomDownKw = new Float64Array(n);
  const setpointKw = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    headroomUpKw[i] = 3 + (i % 8);
    headroomDownKw[i] = 2 + (i % 5);
  }
  let totalUpKw = 0;
  let totalDownKw = 0;
  for (let i = 0; i < n; i++) {
    totalUpKw += headroomUpKw[i];
    totalDownKw += headroomDownKw[i];
  }
  return (hz: number) => {
    const deviationHz = hz - 50;
    const share = Math.max(-1, Math.min(1, deviationHz / 0.2));
    const requiredKw = share * (share > 0 ? totalUpKw : totalDownKw);
    const total = share > 0 ? totalUpKw : totalDownKw;
    const headroom = share > 0 ? headroomUpKw : headroomDownKw;
    let allocatedKw = 0;
    for (let i = 0; i < n; i++) {
      const kw = (requiredKw * headroom[i]) / total;
      setpointKw[i] = kw;
      allocatedKw += kw;
    }
    return allocatedKw;
  };
}

/** Rows rotate through the tables the engine writes most (meter values and frequency dominate). */
function makeRowSource(tsBaseMs: number) {
  let n = 0;
  const evseIds = Array.from({ length: 500 }, (_, i) => `evse-${i}`);
  const siteIds = Array.from({ length: 40 }, (_, i) => `site-${i}`);
  return (): TelemetryRow => {
    n++;
    const tsMs = tsBaseMs + (n >> 6);
    const k = n % 10;
    if (k < 7) {
      // A fresh object per row, as the engine builds them.
      return {
        table: 'meter_values',
        tsMs,
        siteId: siteIds[n % 40],
        evseId: evseIds[n % 500],
        powerKw: (n % 220) / 10,
      };
    }
    if (k < 9)
      return {
        table: 'frequency',
        tsMs,
        siteId: siteIds[n % 40],
        meterId: 'meter-1',
        hz: 50 + ((n % 41) - 20) / 1000,
      };
    return {
      table: 'setpoints',
      tsMs,
      siteId: siteIds[n % 40],
      stationId: `station-${n % 250}`,
      evseId: evseIds[n % 500],
      sessionId: `session-${n}`,
      version: n,
      limitKw: 11,
      setpointKw: (n % 110) / 10,
      validFromMs: tsMs,
      validToMs: tsMs + 300_000,
    };
  };
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

interface PhaseResult {
  /** Share of wall time the main thread was busy (event-loop utilization). */
  busyS: number;
  latenciesMs: number[];
  /** With --diagnose: per tick, the window it was late over and the run-queue wait in it. */
  dueMs: number[];
  doneMs: number[];
  runQueueMs: number[];
  onCpuMs: number[];
  stepMs: number[];
  rowsRecorded: number;
  elapsedS: number;
}

const nextRow = makeRowSource(Date.UTC(2026, 0, 1));

/*
 * --diagnose: where a late tick's time went. GC pauses come from the GC observer; time the
 * control thread was runnable but not running (another thread or process had the CPU) and
 * time it ran come from the kernel's per-thread schedstat; what is neither, it slept: waiting
 * for its timer, or blocked on a lock another thread holds (see infra/clickhouse/README.md).
 */
const gcPauses: Array<{ startMs: number; endMs: number; kind: number }> = [];
if (args.diagnose) {
  new PerformanceObserver((list) => {
    for (const e of list.getEntries())
      gcPauses.push({
        startMs: e.startTime,
        endMs: e.startTime + e.duration,
        kind: (e as { detail?: { kind?: number } }).detail?.kind ?? 0,
      });
  }).observe({ entryTypes: ['gc'] });
}
const schedstatFd = args.diagnose ? openSync(`/proc/self/task/${process.pid}/schedstat`, 'r') : -1;
const schedBuf = Buffer.alloc(128);
/** The control thread's schedstat: nanoseconds on a CPU, and runnable but waiting for one. */
const schedstat = { onCpuNs: 0, runQueueNs: 0 };
function readSchedstat(): void {
  if (schedstatFd < 0) return;
  const n = readSync(schedstatFd, schedBuf, 0, schedBuf.length, 0);
  const fields = schedBuf.toString('latin1', 0, n).split(' ');
  schedstat.onCpuNs = Number(fields[0]);
  schedstat.runQueueNs = Number(fields[1]);
}
function gcMsWithin(fromMs: number, toMs: number): number {
  let ms = 0;
  for (const g of gcPauses) {
    if (g.endMs <= fromMs || g.startMs >= toMs) continue;
    ms += Math.min(toMs, g.endMs) - Math.max(fromMs, g.startMs);
  }
  return ms;
}

/** Runs the control loop for `seconds`; records telemetry at the offered rate when `sink` is given. */
function runPhase(sink: TelemetrySink | null, seconds: number): Promise<PhaseResult> {
  const step = makeControlStep(evseCount);
  const latencies: number[] = [];
  const steps: number[] = [];
  const dues: number[] = [];
  const dones: number[] = [];
  const runQueue: number[] = [];
  const onCpu: number[] = [];
  readSchedstat();
  let waitNs = schedstat.runQueueNs;
  let cpuNs = schedstat.onCpuNs;
  let rowsRecorded = 0;
  const eluStart = performance.eventLoopUtilization();
  const startMs = performance.now();
  const endMs = startMs + seconds * 1000;
  let dueMs = startMs;
  let tick = 0;
  return new Promise((resolve) => {
    const loop = () => {
      const beganMs = performance.now();
      tick++;
      step(50 + Math.sin(tick / 100) * 0.1);
      if (sink) {
        const rowsDue = Math.floor(((beganMs - startMs) / 1000) * offeredRowsPerS) - rowsRecorded;
        for (let i = 0; i < rowsDue; i++) sink.record(nextRow());
        rowsRecorded += Math.max(0, rowsDue);
      }
      const doneMs = performance.now();
      latencies.push(doneMs - dueMs);
      steps.push(doneMs - beganMs);
      if (args.diagnose) {
        readSchedstat();
        dues.push(dueMs);
        dones.push(doneMs);
        runQueue.push((schedstat.runQueueNs - waitNs) / 1e6);
        onCpu.push((schedstat.onCpuNs - cpuNs) / 1e6);
        waitNs = schedstat.runQueueNs;
        cpuNs = schedstat.onCpuNs;
      }
      if (doneMs >= endMs) {
        const elu = performance.eventLoopUtilization(eluStart);
        resolve({
          busyS: elu.active / 1000,
          latenciesMs: latencies,
          stepMs: steps,
          dueMs: dues,
          doneMs: dones,
          runQueueMs: runQueue,
          onCpuMs: onCpu,
          rowsRecorded,
          elapsedS: (doneMs - startMs) / 1000,
        });
        return;
      }
      // Next tick is due one period after this one was due (or now, if we are behind).
      dueMs = Math.max(dueMs + TICK_MS, performance.now());
      setTimeout(loop, Math.max(0, dueMs - performance.now()));
    };
    setTimeout(loop, 0);
  });
}

/** CPU seconds so far: the server process, this process (all threads), its main thread. */
function cpuSnapshot(serverPid: number) {
  const ticks = (path: string, a: number, b: number) => {
    try {
      const f = readFileSync(path, 'utf8');
      const fields = f.slice(f.lastIndexOf(')') + 2).split(' ');
      return (Number(fields[a]) + Number(fields[b])) / 100;
    } catch {
      return 0;
    }
  };
  const usage = process.cpuUsage();
  return {
    // utime and stime are fields 14 and 15 of stat, 11 and 12 after the command name.
    server: ticks(`/proc/${serverPid}/stat`, 11, 12),
    process: (usage.user + usage.system) / 1e6,
    main: ticks(`/proc/self/task/${process.pid}/stat`, 11, 12),
  };
}

/** CPU seconds per thread name of a process (threads of the same name summed). */
function threadCpu(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  let tids: string[] = [];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tids) {
    try {
      const f = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const name = f.slice(f.indexOf('(') + 1, f.lastIndexOf(')'));
      const fields = f.slice(f.lastIndexOf(')') + 2).split(' ');
      out.set(name, (out.get(name) ?? 0) + (Number(fields[11]) + Number(fields[12])) / 100);
    } catch {}
  }
  return out;
}
function addThreadCpu(into: Map<string, number>, before: Map<string, number>, after: Map<string, number>) {
  for (const [k, v] of after) into.set(k, (into.get(k) ?? 0) + v - (before.get(k) ?? 0));
}

/**
 * For the slowest 1% of ticks: how much of their lateness was GC, waiting for a CPU, or other;
 * and how long the control thread ran and slept in them (schedstat is read once per tick, so
 * its window is the whole gap since the previous tick, not just the late part).
 */
function attributeLateTicks(phase: PhaseResult) {
  const n = phase.latenciesMs.length;
  if (phase.dueMs.length !== n || n === 0) return null;
  const order = Array.from({ length: n }, (_, i) => i).sort(
    (a, b) => phase.latenciesMs[b] - phase.latenciesMs[a],
  );
  const worst = order.slice(0, Math.max(1, Math.floor(n / 100)));
  let late = 0;
  let gc = 0;
  let runQueue = 0;
  let onCpu = 0;
  let asleep = 0;
  for (const i of worst) {
    late += phase.latenciesMs[i];
    gc += gcMsWithin(phase.dueMs[i], phase.doneMs[i]);
    runQueue += Math.min(phase.runQueueMs[i], phase.latenciesMs[i]);
    onCpu += phase.onCpuMs[i];
    asleep += Math.max(0, phase.latenciesMs[i] - phase.runQueueMs[i] - phase.onCpuMs[i]);
  }
  const k = worst.length;
  const round = (x: number) => Number((x / k).toFixed(3));
  return {
    ticks: k,
    lateMs: round(late),
    gcMs: round(gc),
    runQueueMs: round(runQueue),
    otherMs: round(late - gc - runQueue),
    onCpuMs: round(onCpu),
    asleepMs: round(asleep),
  };
}

/*
 * --realtime. `chrt -R` (SCHED_RESET_ON_FORK): threads and processes started later do not
 * inherit the policy. Per thread id: without -a, chrt changes only that thread.
 */
const controlPriority = Number(args['realtime-priority']);
const othersPriority = Number(args['realtime-others']);
function setRealtime(): void {
  if (othersPriority >= controlPriority) {
    throw new Error(
      '--realtime-others must be below --realtime-priority (equal FIFO threads delay the control thread)',
    );
  }
  execFileSync('chrt', ['-f', '-R', '-p', String(controlPriority), String(process.pid)]);
  if (othersPriority <= 0) return;
  for (const tid of readdirSync('/proc/self/task')) {
    if (Number(tid) === process.pid) continue;
    try {
      execFileSync('chrt', ['-f', '-R', '-p', String(othersPriority), tid]);
    } catch {} // a thread that just exited
  }
}

/** --pin: CPU 0 for the control thread; the rest of the CPUs for the server and our other threads. */
function pinControlThread(serverPid: number): string {
  const cpus = availableParallelism();
  if (cpus < 2) throw new Error('--pin needs at least 2 CPUs');
  const rest = cpus === 2 ? '1' : `1-${cpus - 1}`;
  execFileSync('taskset', ['-a', '-c', '-p', rest, String(serverPid)], { stdio: 'ignore' });
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      execFileSync('taskset', ['-c', '-p', Number(tid) === process.pid ? '0' : rest, tid], {
        stdio: 'ignore',
      });
    } catch {} // a thread that just exited
  }
  return `control thread on CPU 0; server and other threads on CPU ${rest}`;
}

const POLICY_NAMES: Record<number, string> = {
  0: 'SCHED_OTHER',
  1: 'SCHED_FIFO',
  2: 'SCHED_RR',
  3: 'SCHED_BATCH',
  5: 'SCHED_IDLE',
};
/** The policy the control thread and the other threads really have (read back from /proc). */
function describeSchedPolicy(): string {
  const policyOf = (tid: string) => {
    const f = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    const fields = f.slice(f.lastIndexOf(')') + 2).split(' ');
    // rt_priority and policy are fields 40 and 41 of stat, 37 and 38 after the command name.
    const policy = POLICY_NAMES[Number(fields[38])] ?? `policy ${fields[38]}`;
    return fields[37] === '0' ? policy : `${policy}:${fields[37]}`;
  };
  const others = new Map<string, number>();
  for (const tid of readdirSync('/proc/self/task')) {
    if (Number(tid) === process.pid) continue;
    try {
      const p = policyOf(tid);
      others.set(p, (others.get(p) ?? 0) + 1);
    } catch {}
  }
  const rest = [...others].map(([p, n]) => `${n} other threads ${p}`).join(', ');
  return `control thread ${policyOf(String(process.pid))}; ${rest}`;
}

// The server shares this box in the benchmark (not in production): let it yield the CPU.
const server = await startClickHouse({ niceness: 10 });
try {
  say(
    `clickhouse ${server.url}; phases of ${phaseS} s, offered ${offeredRowsPerS} rows/s, ${evseCount} EVSEs`,
  );
  const sink = createClickHouseTelemetrySink({
    url: server.url,
    database: 'evflex_bench',
    // Server CPU per million rows (--diagnose): 3.1–4.9 s at 250 ms / 100k-row inserts,
    // 2.8–4.9 at 500 ms / 100k, 2.3–2.9 at 1 s / 250k; but at 1 s the drain after each slice
    // cost the rate 197–233k rows/s, so 500 ms (the config default).
    batchRows: 100_000,
    maxBufferedRows: 2_000_000,
    flushIntervalMs: 500,
    log: (level, message) => {
      if (!args.json || level === 'error') console.error(message);
    },
  });
  await sink.ready();
  const serverCpuAtStartS = cpuSnapshot(server.pid).server;

  // Warm up JIT and connections so neither phase pays for them.
  await runPhase(sink, 1);
  await sink.flush();
  const warm = sink.stats();
  // After the warm-up, so the insert worker and the libuv pool threads exist.
  // A step asked for by its flag must work; as part of the isolated default, it is skipped
  // (and the JSON's `placement` says why) where it is not permitted.
  const placementNotes: string[] = [];
  const placeStep = <T>(asked: boolean, step: () => T, otherwise: T, what: string): T => {
    if (asked) return step();
    if (!isolated) return otherwise;
    try {
      return step();
    } catch (error) {
      const e = error as Error & { stderr?: Buffer | string };
      placementNotes.push(`${what} (${(String(e.stderr ?? '').trim() || e.message).split('\n')[0]})`);
      return otherwise;
    }
  };
  placeStep(args.realtime, setRealtime, undefined, 'no SCHED_FIFO');
  const cpuPinning = placeStep(args.pin, () => pinControlThread(server.pid), 'none', 'no pinning');
  const placement = placementNotes.length > 0 ? `shared: ${placementNotes.join('; ')}` : args.placement;
  const schedPolicy = describeSchedPolicy();

  const emptyPhase = (): PhaseResult => ({
    busyS: 0,
    latenciesMs: [],
    stepMs: [],
    dueMs: [],
    doneMs: [],
    runQueueMs: [],
    onCpuMs: [],
    rowsRecorded: 0,
    elapsedS: 0,
  });
  const off = emptyPhase();
  const on = emptyPhase();
  const serverThreadsOn = new Map<string, number>();
  const selfThreadsOn = new Map<string, number>();
  const cpu = { on: { server: 0, process: 0, main: 0 }, off: { server: 0, process: 0, main: 0 } };
  let onWithDrainS = 0;
  const rounds = Math.max(1, Math.round(phaseS / sliceS));
  for (let round = 0; round < rounds; round++) {
    for (const sinkOn of round % 2 === 0 ? [false, true] : [true, false]) {
      const cpuBefore = cpuSnapshot(server.pid);
      const threadsBefore = args.diagnose && sinkOn ? [threadCpu(server.pid), threadCpu(process.pid)] : null;
      const slice = await runPhase(sinkOn ? sink : null, sliceS);
      const cpuAfter = cpuSnapshot(server.pid);
      if (threadsBefore) {
        addThreadCpu(serverThreadsOn, threadsBefore[0], threadCpu(server.pid));
        addThreadCpu(selfThreadsOn, threadsBefore[1], threadCpu(process.pid));
      }
      const cpuInto = sinkOn ? cpu.on : cpu.off;
      cpuInto.server += cpuAfter.server - cpuBefore.server;
      cpuInto.process += cpuAfter.process - cpuBefore.process;
      cpuInto.main += cpuAfter.main - cpuBefore.main;
      const into = sinkOn ? on : off;
      into.latenciesMs.push(...slice.latenciesMs);
      into.stepMs.push(...slice.stepMs);
      into.dueMs.push(...slice.dueMs);
      into.doneMs.push(...slice.doneMs);
      into.runQueueMs.push(...slice.runQueueMs);
      into.onCpuMs.push(...slice.onCpuMs);
      into.rowsRecorded += slice.rowsRecorded;
      into.elapsedS += slice.elapsedS;
      into.busyS += slice.busyS;
      if (sinkOn) {
        const drainStartMs = performance.now();
        await sink.flush();
        onWithDrainS += slice.elapsedS + (performance.now() - drainStartMs) / 1000;
      }
    }
  }
  const stats = sink.stats();
  // Sustained rate: rows written during the on slices over their time including the drains.
  const rowsWritten = stats.rowsWritten - warm.rowsWritten;
  await sink.close();
  const serverCpuS = cpuSnapshot(server.pid).server - serverCpuAtStartS;

  const check = createClient({ url: server.url });
  const counted = await check.query({
    query:
      'SELECT (SELECT count() FROM evflex_bench.meter_values) + (SELECT count() FROM evflex_bench.frequency) + (SELECT count() FROM evflex_bench.setpoints) AS rows',
    format: 'JSONEachRow',
  });
  const rowsInServer = Number((await counted.json<{ rows: string }>())[0].rows);
  await check.close();

  const sorted = (xs: number[]) => Float64Array.from(xs).sort();
  const [onLatencies, offLatencies, onSteps, offSteps] = [
    on.latenciesMs,
    off.latenciesMs,
    on.stepMs,
    off.stepMs,
  ].map(sorted);
  const result = {
    placement,
    schedPolicy,
    cpuPinning,
    nodeFlags,
    rowsPerS: Math.round(rowsWritten / onWithDrainS),
    rowsDropped: stats.rowsDropped,
    controlP99MsSinkOn: Number(percentile(onLatencies, 99).toFixed(3)),
    controlP99MsSinkOff: Number(percentile(offLatencies, 99).toFixed(3)),
    controlP50MsSinkOn: Number(percentile(onLatencies, 50).toFixed(3)),
    controlP50MsSinkOff: Number(percentile(offLatencies, 50).toFixed(3)),
    stepP99MsSinkOn: Number(percentile(onSteps, 99).toFixed(3)),
    stepP99MsSinkOff: Number(percentile(offSteps, 99).toFixed(3)),
    mainThreadBusyPctSinkOn: Number(((100 * on.busyS) / on.elapsedS).toFixed(1)),
    mainThreadBusyPctSinkOff: Number(((100 * off.busyS) / off.elapsedS).toFixed(1)),
    offeredRowsPerS,
    rowsRecorded: on.rowsRecorded,
    rowsWritten,
    rowsInServer,
    insertErrors: stats.insertErrors,
    phaseS,
    evses: evseCount,
    ticksSinkOn: on.latenciesMs.length,
    slices: rounds * 2,
    sliceS,
    ticksSinkOff: off.latenciesMs.length,
  };
  const diagnosis = args.diagnose
    ? {
        worstTicksSinkOn: attributeLateTicks(on),
        worstTicksSinkOff: attributeLateTicks(off),
        serverCpuSPerMillionRows: Number(((serverCpuS * 1e6) / stats.rowsWritten).toFixed(2)),
        gcPauses: gcPauses.length,
        // perf_hooks kinds: 1 minor (scavenge), 2 major, 4 incremental marking, 8 weak callbacks.
        gcMsByKind: Object.fromEntries(
          [...new Set(gcPauses.map((g) => g.kind))].map((k) => [
            k,
            Number(
              gcPauses
                .filter((g) => g.kind === k)
                .reduce((t, g) => t + g.endMs - g.startMs, 0)
                .toFixed(1),
            ),
          ]),
        ),
        gcPauseMsTotal: Number(gcPauses.reduce((t, g) => t + g.endMs - g.startMs, 0).toFixed(1)),
        cpuPctSinkOn: {
          server: Number(((100 * cpu.on.server) / on.elapsedS).toFixed(1)),
          mainThread: Number(((100 * cpu.on.main) / on.elapsedS).toFixed(1)),
          otherThreads: Number(((100 * (cpu.on.process - cpu.on.main)) / on.elapsedS).toFixed(1)),
        },
        threadCpuPctSinkOn: Object.fromEntries(
          [...serverThreadsOn, ...[...selfThreadsOn].map(([k, v]) => [`self:${k}`, v] as const)]
            .filter(([, v]) => v > 0)
            .map(([k, v]) => [k, Number(((100 * v) / on.elapsedS).toFixed(1))]),
        ),
        cpuPctSinkOff: {
          server: Number(((100 * cpu.off.server) / off.elapsedS).toFixed(1)),
          mainThread: Number(((100 * cpu.off.main) / off.elapsedS).toFixed(1)),
          otherThreads: Number(((100 * (cpu.off.process - cpu.off.main)) / off.elapsedS).toFixed(1)),
        },
      }
    : undefined;
  if (args.json) console.log(JSON.stringify(diagnosis ? { ...result, diagnosis } : result));
  else if (diagnosis) console.log(JSON.stringify({ ...result, diagnosis }, null, 2));
  else console.table(result);
} finally {
  await server.stop();
}
