import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { schemaFileName, topicJsonSchemas } from '../../models/jsonSchemas';
import { type TopicName, topicSchemas } from '../../models/topics';

describe('generated JSON Schemas', () => {
  it('are committed and up to date for every topic (run `npm run schemas` when this fails)', () => {
    const generated = topicJsonSchemas();
    expect(Object.keys(generated).sort()).toEqual(Object.keys(topicSchemas).sort());
    for (const [topic, schema] of Object.entries(generated)) {
      const file = join(__dirname, '../../models/schemas', schemaFileName(topic as TopicName));
      const committed = JSON.parse(readFileSync(file, 'utf8'));
      expect(committed, `${file} is stale`).toEqual(schema);
    }
  });
});
