import { Ajv, type ValidateFunction } from 'ajv';
import { z } from 'zod';
import { type InputTopic, topicSchemas } from '../../models/topics';

/**
 * A compiled fast path in front of the zod schemas, for the high-volume input topics.
 *
 * zod stays the one source and the judge: the fast check is compiled (ajv) from the JSON
 * Schema zod itself emits, made stricter so that passing it implies zod would accept the value
 * and return it unchanged — every object closed (an unknown key, which zod would strip, fails
 * here), every field with a default required (a missing one, which zod would fill, fails here).
 * Anything that fails the fast check goes through zod as before, which gives the verdict and
 * the error message. Only topics whose schemas carry no refinements are listed: their JSON
 * Schema says everything zod checks. `test/core/fastSchemaCheck.test.ts` checks the
 * implication on random near-valid messages.
 *
 * Why: zod validation was about half of the engine thread's time per record (4 µs of ~15 on
 * this machine); the compiled check is ~0.5 µs and allocates nothing.
 */
export const FAST_CHECKED_TOPICS = ['fleet.state', 'fleet.meter', 'grid.frequency'] as const;

type JsonSchema = { [key: string]: unknown };

/** Closes every object and turns every default into a requirement, in place. */
function strictFastSchema(node: unknown): void {
  if (Array.isArray(node)) {
    for (const item of node) strictFastSchema(item);
    return;
  }
  if (node === null || typeof node !== 'object') return;
  const schema = node as JsonSchema;
  const properties = schema.properties as Record<string, JsonSchema> | undefined;
  if (properties) {
    const required = new Set((schema.required as string[] | undefined) ?? []);
    for (const [key, property] of Object.entries(properties)) {
      if ('default' in property) {
        delete property.default;
        required.add(key);
      }
    }
    schema.required = [...required];
    if (schema.additionalProperties === undefined) schema.additionalProperties = false;
  }
  for (const [key, value] of Object.entries(schema)) if (key !== 'required') strictFastSchema(value);
}

export type FastCheck = (topic: InputTopic, json: unknown) => boolean;

let compiled: FastCheck | null = null;

/** Compiled once per process (a few tens of milliseconds), on first use. */
export function fastSchemaCheck(): FastCheck {
  compiled ??= compileFastSchemaCheck();
  return compiled;
}

export function compileFastSchemaCheck(): FastCheck {
  // unicode: false — string lengths as JS counts them (UTF-16 units, ≥ code points), so a
  // maxLength here is at least as strict as zod's; it also skips ajv's code-point count (~0.2 µs
  // of ~0.9 per fleet-state record). No schema of a fast-checked topic has a minLength above 1.
  // (ajv marks the option deprecated and says so on every compile; that one line is dropped.)
  const ajv = new Ajv({
    strict: false,
    allErrors: false,
    useDefaults: false,
    unicode: false,
    logger: {
      log: console.log,
      warn: (...args: unknown[]) => {
        if (!String(args[0]).startsWith('DEPRECATED: option unicode')) console.warn(...args);
      },
      error: console.error,
    },
  });
  const checks = new Map<InputTopic, ValidateFunction>();
  for (const topic of FAST_CHECKED_TOPICS) {
    const schema = z.toJSONSchema(topicSchemas[topic], {
      io: 'input',
      unrepresentable: 'any',
      target: 'draft-7',
    }) as JsonSchema;
    delete schema.$schema;
    strictFastSchema(schema);
    checks.set(topic, ajv.compile(schema));
  }
  return (topic, json) => checks.get(topic)?.(json) === true;
}
