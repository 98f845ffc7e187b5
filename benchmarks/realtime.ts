/**
 * Real-time layer benchmark (IEC 63110-1 8.2.10): one grid-frequency sample in → the site's
 * complete droop-adjusted setpoint set out, on the in-memory bus (no broker, so the engine's own
 * share is what is measured). Baseline in the same run: the same engine and samples with no
 * reserve configured, so each sample is only validated and applied (no decision).
 *
 *   npm run -s bench:realtime -- --json [--evses 50,500] [--samples 2000]
 */
import { SCHEMA_VERSION } from '../models/messageHeader';
import type { SiteTopology } from '../models/topology';
import { MemoryBus } from '../src/adapters/memory/memoryBus';
import { parseConfig } from '../src/config/loadConfig';
import { createEngine } from '../src/core/engine';
import { createMpcPlanner } from '../src/core/mpcPlanner';
import { VirtualClock } from '../src/core/virtualClock';

const args = process.argv.slice(2);
const argValue = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const json = args.includes('--json');
const sizes = (argValue('--evses') ?? '50,500').split(',').map(Number);
const samples = Number(argValue('--samples') ?? 2000);
const T0 = Date.UTC(2026, 10, 23);

function site(evses: number): SiteTopology {
  const nodes: SiteTopology['nodes'] = [
    { nodeId: 'rt', kind: 'site', parentId: null, importLimitKw: evses * 7, exportLimitKw: evses * 3 },
  ];
  for (let s = 0; s < evses / 2; s++) {
    nodes.push({ nodeId: `rt-s${s}`, kind: 'station', parentId: 'rt', importLimitKw: 22, exportLimitKw: 11 });
    for (let e = 0; e < 2; e++)
      nodes.push({
        nodeId: `rt-s${s}-e${e}`,
        kind: 'evse',
        parentId: `rt-s${s}`,
        importLimitKw: 11,
        exportLimitKw: 11,
        v2gCapable: true,
      });
  }
  return { siteId: 'rt', nodes };
}

const percentile = (xs: number[], p: number) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
};

async function run(evses: number, reserveKw: number) {
  const config = parseConfig({ frequency: { reservedUpKw: reserveKw, reservedDownKw: reserveKw } });
  const clock = new VirtualClock(T0);
  const bus = new MemoryBus(clock, { keepOutputs: false });
  const engine = createEngine({ config, clock, bus, planner: createMpcPlanner(config), log: () => {} });
  await engine.start();
  let n = 0;
  const header = () => ({
    messageId: `m${n++}`,
    source: 'bench',
    siteId: 'rt',
    tsMs: clock.nowMs(),
    schemaVersion: SCHEMA_VERSION,
  });
  bus.produce('fleet.state', 'rt', JSON.stringify({ ...header(), kind: 'topology', topology: site(evses) }));
  for (const node of site(evses).nodes.filter((x) => x.kind === 'evse')) {
    const session = {
      sessionId: `s-${node.nodeId}`,
      arrivalMs: T0,
      departureMs: T0 + 8 * 3_600_000,
      energyTargetKwh: 30,
      energyMinKwh: 10,
      energyMaxKwh: 40,
      socPct: 50,
      batteryCapacityKwh: 60,
      maxChargeKw: 11,
      maxDischargeKw: 11,
      v2gAllowed: true,
    };
    bus.produce(
      'fleet.state',
      'rt',
      JSON.stringify({
        ...header(),
        kind: 'evseState',
        stationId: node.parentId,
        evseId: node.nodeId,
        status: 'occupied',
        session,
      }),
    );
  }
  await bus.deliver();
  let setsOut = 0;
  bus.onOutput('setpoints', () => setsOut++);
  const latencies: number[] = [];
  const decisionsBefore = engine.stats().decisions;
  for (let i = 0; i < samples; i++) {
    clock.advanceTo(T0 + 1000 + i * 50); // 20 Hz, the GB Dynamic Containment data rate
    // A deviation that keeps moving (±150 mHz triangle), so every sample changes the response.
    const hz = 50 + 0.15 * (((i % 40) - 20) / 20);
    bus.produce(
      'grid.frequency',
      'rt',
      JSON.stringify({ ...header(), kind: 'frequency', meterId: 'm1', hz, accuracyMilliHz: 1 }),
    );
    const t = performance.now();
    await bus.deliver();
    latencies.push(performance.now() - t);
  }
  await engine.stop();
  return { latencies, decisions: engine.stats().decisions - decisionsBefore, setsOut };
}

for (const evses of sizes) {
  const base = await run(evses, 0);
  const droop = await run(evses, evses * 2);
  const row = {
    evses,
    samples,
    decisions: droop.decisions,
    p50Ms: +percentile(droop.latencies, 0.5).toFixed(3),
    p99Ms: +percentile(droop.latencies, 0.99).toFixed(3),
    maxMs: +Math.max(...droop.latencies).toFixed(3),
    baselineP50Ms: +percentile(base.latencies, 0.5).toFixed(3),
    baselineP99Ms: +percentile(base.latencies, 0.99).toFixed(3),
    baselineDecisions: base.decisions,
  };
  console.log(json ? JSON.stringify(row) : row);
}
