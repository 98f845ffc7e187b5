import type { SetpointMessage } from '../../models/setpoint';
import type { InputTopic } from '../../models/topics';
import { MemoryBus } from '../../src/adapters/memory/memoryBus';
import type { EvflexConfigInput } from '../../src/config/configSchema';
import { parseConfig } from '../../src/config/loadConfig';
import { createEngine } from '../../src/core/engine';
import { placeholderPlanner } from '../../src/core/placeholderPlanner';
import type { SitePlanner } from '../../src/core/ports/sitePlanner';
import { VirtualClock } from '../../src/core/virtualClock';
import { T0 } from './builders';

/** An engine on the in-memory bus and virtual time, with helpers to feed and read it. */
export async function anEngine(
  configInput: EvflexConfigInput = {},
  planner: SitePlanner = placeholderPlanner,
  realTime: { schedule?: (delayMs: number, run: () => void) => void; elapsedMs?: () => number } = {},
) {
  const config = parseConfig(configInput);
  const clock = new VirtualClock(T0);
  const bus = new MemoryBus(clock);
  const logs: string[] = [];
  let tick = 0;
  const engine = createEngine({
    config,
    clock,
    bus,
    planner,
    log: (l) => logs.push(l),
    elapsedMs: realTime.elapsedMs ?? (() => tick++ * 0),
    schedule: realTime.schedule,
  });
  await engine.start();
  return {
    engine,
    bus,
    clock,
    logs,
    send(topic: InputTopic, message: unknown, key?: string | null) {
      const value = typeof message === 'string' ? message : JSON.stringify(message);
      const siteId =
        typeof message === 'object' && message !== null ? (message as { siteId?: string }).siteId : undefined;
      bus.produce(topic, key === undefined ? (siteId ?? null) : key, value);
    },
    deliver: () => bus.deliver(),
    setpoints: () => bus.outputs('setpoints').map((r) => JSON.parse(r.value) as SetpointMessage),
    deadLetters: () => bus.outputs('deadletter').map((r) => JSON.parse(r.value)),
    acks: () => bus.outputs('acks').map((r) => JSON.parse(r.value)),
    /** The most recent complete setpoint set of a site. */
    latestSet(siteId: string) {
      const all = bus
        .outputs('setpoints')
        .map((r) => JSON.parse(r.value) as SetpointMessage)
        .filter((m) => m.siteId === siteId);
      if (all.length === 0) return [];
      const lastSet = all[all.length - 1].setId;
      return all.filter((m) => m.setId === lastSet);
    },
  };
}
