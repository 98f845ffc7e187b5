/**
 * The Kafka service in a process of its own, for bench:latency: started, queried and stopped
 * over the IPC channel of `fork`, so the engine's threads share nothing with the measuring
 * clients (as a CSMS and a DSO would see it).
 *
 *   parent → child: { op: 'start', config } | { op: 'stats' } | { op: 'flush' } | { op: 'stop' }
 *                   | { op: 'traceOn' } | { op: 'traceOff' } | { op: 'threads' }
 *                   | { op: 'ingested', records, warmRecords }
 *   child → parent: { op, ok: true, stats?, cpuUs, minorFaults, trace?, threads?, mainLoop?, error? }
 *   answering each, in order (cpuUs: this process's CPU time so far, all threads, µs; minorFaults:
 *   its minor page faults; on traceOff, trace: [messageId, times] pairs, threads: [name, ms on a
 *   CPU, ms waiting for one] over the traced phase, mainLoop: the event-loop delay; on threads,
 *   threads: the same totals so far; on ingested, once the engine has taken in `records` records
 *   and done what they caused: ingested: { warmAtMs, endAtMs, decisions } (epoch ms, fractional),
 *   when `warmRecords` and all of them were in; the engine's decisions by then)
 */

import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { type KafkaService, startKafkaService } from '../../src/cli/kafkaService';
import type { EvflexConfig } from '../../src/config/configSchema';
import { awaitIngested } from './awaitIngested';
import { traceVariations, type VariationTimes } from './variationTrace';

type Request =
  | { op: 'start'; config: EvflexConfig }
  | { op: 'stats' }
  | { op: 'flush' }
  | { op: 'stop' }
  | { op: 'traceOn' }
  | { op: 'traceOff' }
  | { op: 'threads' }
  | { op: 'ingested'; records: number; warmRecords: number };

let service: KafkaService | null = null;
let stopTrace: (() => Map<string, VariationTimes>) | null = null;

/** Per thread of this process: name → [ns on CPU, ns runnable but waiting for a CPU]. */
function threadSchedStats(): Map<string, [number, number]> {
  const out = new Map<string, [number, number]>();
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      const name = `${readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim()}#${tid}`;
      const [onCpuNs, waitNs] = readFileSync(`/proc/self/task/${tid}/schedstat`, 'utf8')
        .split(' ')
        .map(Number);
      out.set(name, [onCpuNs ?? 0, waitNs ?? 0]);
    } catch {
      // The thread ended meanwhile.
    }
  }
  return out;
}
let schedAtTraceOn = new Map<string, [number, number]>();
let loopDelay: ReturnType<typeof monitorEventLoopDelay> | null = null;
/** EVFLEX_BENCH_TRACE_PROFILE=dir: a CPU profile of this main thread while tracing. */
let profiler: Session | null = null;
const cpuUs = () => {
  const { user, system } = process.cpuUsage();
  return user + system;
};
const reply = (message: object) => process.send?.(message);
/** What every answer carries: the engine's counters, this process's CPU time and minor faults. */
const status = () => ({
  stats: service?.engine.stats(),
  cpuUs: cpuUs(),
  minorFaults: process.resourceUsage().minorPageFault,
});

let queue: Promise<void> = Promise.resolve();
process.on('message', (request: Request) => {
  queue = queue.then(async () => {
    try {
      switch (request.op) {
        case 'start':
          service = await startKafkaService(request.config, { log: () => {} });
          await service.assigned;
          break;
        case 'flush':
          await service?.engine.handleBatch([]);
          break;
        case 'stop':
          await service?.stop();
          reply({ op: 'stop', ok: true, stats: service?.engine.stats() });
          process.exit(0);
          return;
        case 'traceOn':
          if (service) stopTrace = traceVariations(service);
          schedAtTraceOn = threadSchedStats();
          loopDelay = monitorEventLoopDelay({ resolution: 1 });
          loopDelay.enable();
          if (process.env.EVFLEX_BENCH_TRACE_PROFILE) {
            profiler = new Session();
            profiler.connect();
            await profiler.post('Profiler.enable');
            await profiler.post('Profiler.start');
          }
          break;
        case 'traceOff': {
          const trace = [...(stopTrace?.() ?? [])];
          stopTrace = null;
          loopDelay?.disable();
          if (profiler && process.env.EVFLEX_BENCH_TRACE_PROFILE) {
            const { profile } = await profiler.post('Profiler.stop');
            mkdirSync(process.env.EVFLEX_BENCH_TRACE_PROFILE, { recursive: true });
            writeFileSync(
              join(process.env.EVFLEX_BENCH_TRACE_PROFILE, `traced-${process.pid}.cpuprofile`),
              JSON.stringify(profile),
            );
            profiler.disconnect();
            profiler = null;
          }
          // Where the process's threads spent the traced phase: on a CPU, or waiting for one.
          const threads: [string, number, number][] = [];
          for (const [name, [onCpuNs, waitNs]] of threadSchedStats()) {
            const [onCpu0, wait0] = schedAtTraceOn.get(name) ?? [0, 0];
            if (onCpuNs - onCpu0 > 1e6)
              threads.push([name, (onCpuNs - onCpu0) / 1e6, (waitNs - wait0) / 1e6]);
          }
          const mainLoop = loopDelay && {
            p99Ms: loopDelay.percentile(99) / 1e6,
            maxMs: loopDelay.max / 1e6,
          };
          reply({ op: request.op, ok: true, ...status(), trace, threads, mainLoop });
          return;
        }
        case 'threads':
          reply({
            op: request.op,
            ok: true,
            threads: [...threadSchedStats()].map(([name, [onCpuNs, waitNs]]) => [
              name,
              onCpuNs / 1e6,
              waitNs / 1e6,
            ]),
          });
          return;
        case 'ingested':
          if (!service) throw new Error('not started');
          reply({
            op: request.op,
            ok: true,
            ...status(),
            ingested: await awaitIngested(service.engine, request.records, request.warmRecords),
          });
          return;
        case 'stats':
          break;
      }
      reply({ op: request.op, ok: true, ...status() });
    } catch (error) {
      reply({ op: request.op, ok: false, error: String(error) });
    }
  });
});

// The benchmark went away (crashed or killed): do not outlive it.
process.on('disconnect', () => process.exit(1));
