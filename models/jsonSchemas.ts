import { z } from 'zod';
import { type TopicName, topicSchemas } from './topics';

/** JSON Schema (draft 2020-12) of every topic's payload, generated from the zod source. */
export function topicJsonSchemas(): Record<TopicName, unknown> {
  const out = {} as Record<TopicName, unknown>;
  for (const [topic, schema] of Object.entries(topicSchemas) as [TopicName, z.ZodType][]) {
    out[topic] = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' });
  }
  return out;
}

export function schemaFileName(topic: TopicName): string {
  return `${topic}.schema.json`;
}
