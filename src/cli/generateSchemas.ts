import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { schemaFileName, topicJsonSchemas } from '../../models/jsonSchemas';
import type { TopicName } from '../../models/topics';

// `npm run schemas` regenerates models/schemas/*.schema.json; a test fails when they are stale.
const dir = join(dirname(fileURLToPath(import.meta.url)), '../../models/schemas');
mkdirSync(dir, { recursive: true });
for (const [topic, schema] of Object.entries(topicJsonSchemas())) {
  writeFileSync(join(dir, schemaFileName(topic as TopicName)), `${JSON.stringify(schema, null, 2)}\n`);
}
console.log(`wrote ${dir}`);
