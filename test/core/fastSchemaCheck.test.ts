import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type InputTopic, topicSchemas } from '../../models/topics';
import { compileFastSchemaCheck, FAST_CHECKED_TOPICS } from '../../src/core/fastSchemaCheck';
import { anEv, anEvArrival, aSite, aTopologyMessage, header, T0 } from '../support/builders';

const fastCheck = compileFastSchemaCheck();

/** Complete, valid messages of every fast-checked topic (every defaulted field present). */
const samples: { topic: InputTopic; message: unknown }[] = [
  {
    topic: 'fleet.state',
    message: anEvArrival('site-f', 'z1-s1-e1', anEv({ v2gAllowed: true, maxDischargeKw: 7 }), T0),
  },
  { topic: 'fleet.state', message: anEvArrival('site-f', 'z1-s1-e2', null, T0) },
  {
    topic: 'fleet.state',
    message: aTopologyMessage(
      aSite({ siteId: 'site-f', zones: [{ limitKw: 40, stations: 2, v2g: true }] }),
      T0,
    ),
  },
  {
    topic: 'fleet.meter',
    message: {
      ...header('site-f', T0),
      kind: 'meterValues',
      sitePowerKw: 12.5,
      evses: [{ evseId: 'z1-s1-e1', powerKw: 7.2, energyKwh: 3 }],
    },
  },
  {
    topic: 'grid.frequency',
    message: {
      ...header('site-f', T0, 'meter-1'),
      kind: 'frequency',
      meterId: 'm-1',
      hz: 49.97,
      accuracyMilliHz: 1,
    },
  },
];

/** Every path to a value inside a JSON tree. */
function pathsOf(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  if (value === null || typeof value !== 'object') return [prefix];
  const keys = Array.isArray(value) ? value.map((_, i) => i) : Object.keys(value);
  return [
    prefix,
    ...keys.flatMap((k) => pathsOf((value as Record<string | number, unknown>)[k], [...prefix, k])),
  ];
}

type Mutation = { path: number; op: 'delete' | 'set' | 'addKey'; value: unknown; key: string };

function mutate(message: unknown, m: Mutation): unknown {
  const copy = structuredClone(message);
  const paths = pathsOf(copy).filter((p) => p.length > 0);
  const path = paths[m.path % paths.length] as (string | number)[];
  let parent = copy as Record<string | number, unknown>;
  for (const k of path.slice(0, -1)) parent = parent[k] as Record<string | number, unknown>;
  const last = path[path.length - 1] as string | number;
  if (m.op === 'delete') {
    if (Array.isArray(parent)) parent.splice(last as number, 1);
    else delete parent[last];
  } else if (m.op === 'set') parent[last] = m.value;
  else if (parent[last] !== null && typeof parent[last] === 'object' && !Array.isArray(parent[last]))
    (parent[last] as Record<string, unknown>)[m.key] = m.value;
  else (parent as Record<string, unknown>)[m.key] = m.value;
  return copy;
}

const oddValues = fc.oneof(
  fc.jsonValue(),
  fc.constantFrom(
    '',
    '⚡'.repeat(150),
    'x'.repeat(201),
    -1,
    0,
    1.5,
    2 ** 53,
    -0.0001,
    101,
    44.9,
    65.1,
    null,
    true,
  ),
);

describe('the compiled fast schema check (in front of zod)', () => {
  it('passes complete valid messages, so the fast path is really taken', () => {
    for (const { topic, message } of samples) expect(fastCheck(topic, message)).toBe(true);
  });

  it('implies zod accepts the value and returns it unchanged, for any mutation of a valid message', () => {
    let fastAccepted = 0;
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: samples.length - 1 }),
        fc.array(
          fc.record({
            path: fc.nat(),
            op: fc.constantFrom('delete' as const, 'set' as const, 'addKey' as const),
            value: oddValues,
            key: fc.constantFrom('extra', 'kind', 'minChargeKw', '__proto__x'),
          }),
          { minLength: 1, maxLength: 3 },
        ),
        (sample, mutations) => {
          const { topic } = samples[sample]!;
          let message = samples[sample]!.message;
          for (const m of mutations) message = mutate(message, m);
          if (!fastCheck(topic, message)) return;
          fastAccepted++;
          const zod = topicSchemas[topic].safeParse(message);
          expect(zod.success).toBe(true);
          expect(zod.data).toStrictEqual(message);
        },
      ),
      { numRuns: 3_000, seed: 7 },
    );
    // Some mutations keep the message valid (a number within range, an optional key removed).
    expect(fastAccepted).toBeGreaterThan(50);
  });

  it('implies it for every single edit of every field to an edge value (exhaustive)', () => {
    const edges: unknown[] = [
      '',
      '⚡'.repeat(150),
      '😀'.repeat(150),
      'x'.repeat(201),
      -1,
      0,
      1.5,
      2 ** 53,
      101,
      44.9,
      65.1,
      null,
      true,
      {},
      [],
    ];
    let checked = 0;
    for (const { topic, message } of samples) {
      const paths = pathsOf(message).filter((p) => p.length > 0);
      for (let path = 0; path < paths.length; path++) {
        const edits: Mutation[] = [
          { path, op: 'delete', value: null, key: '' },
          ...edges.map((value) => ({ path, op: 'set' as const, value, key: '' })),
        ];
        for (const edit of edits) {
          const edited = mutate(message, edit);
          if (!fastCheck(topic, edited)) continue;
          checked++;
          const zod = topicSchemas[topic].safeParse(edited);
          expect(zod.success, `${topic} ${paths[path]?.join('.')} = ${JSON.stringify(edit.value)}`).toBe(
            true,
          );
          expect(zod.data).toStrictEqual(edited);
        }
      }
    }
    expect(checked).toBeGreaterThan(100);
  });

  it('leaves to zod what zod would change: a missing default, an unknown key', () => {
    const arrival = anEvArrival('site-f', 'z1-s1-e1', anEv(), T0);
    const { minChargeKw: _dropped, ...session } = arrival.session!;
    const withoutDefault = { ...arrival, session };
    const withUnknownKey = { ...arrival, note: 'from a newer CSMS' };
    for (const message of [withoutDefault, withUnknownKey]) {
      expect(fastCheck('fleet.state', message)).toBe(false);
      expect(topicSchemas['fleet.state'].safeParse(message).success).toBe(true);
    }
  });

  it('only covers topics without refinements zod checks outside JSON Schema', () => {
    expect([...FAST_CHECKED_TOPICS]).not.toContain('dso.power-variation');
    expect(fastCheck('dso.power-variation', { anything: true })).toBe(false);
  });
});
