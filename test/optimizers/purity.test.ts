import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

// Optimizers are pure and synchronous: they may import models and each other, plus the solver packages; never
// src/, Node I/O, clocks or logs.
describe('optimizers/ dependency rules', () => {
  const dir = join(import.meta.dirname, '../../optimizers');
  const files = readdirSync(dir).filter((f) => f.endsWith('.ts'));
  it.each(files)('%s imports only models, optimizers and solver packages', (file) => {
    const text = readFileSync(join(dir, file), 'utf8');
    const imports = [...text.matchAll(/from '([^']+)'/g)].map((m) => m[1]);
    for (const spec of imports) expect(spec).toMatch(/^(\.\/|\.\.\/models\/|glpk\.js\/node$)/);
    expect(text).not.toMatch(/Date\.now|performance\.now|new Date\(\)|console\.|process\./);
  });
});
