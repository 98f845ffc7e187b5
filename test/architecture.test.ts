import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * Dependencies point one way: models ← optimizers ← src/core (with src/config) ←
 * src/adapters, src/simulator, src/report ← src/cli. Checked on every import in the tree.
 */
const root = resolve(__dirname, '..');
const layers: [string, number][] = [
  ['models/', 0],
  ['optimizers/', 1],
  ['src/config/', 2],
  ['src/core/', 2],
  ['src/adapters/', 3],
  ['src/simulator/', 3],
  ['src/report/', 3],
  ['src/cli/', 4],
];
const forbiddenPackages: Record<number, RegExp> = {
  0: /^(kafkajs|@clickhouse|rxjs|glpk\.js|highs|node:)/,
  1: /^(kafkajs|@clickhouse|rxjs|node:)/,
  2: /^(kafkajs|@clickhouse|node:fs|node:child_process|node:net)/,
};

function layerOf(path: string): number | undefined {
  return layers.find(([prefix]) => path.startsWith(prefix))?.[1];
}

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) out.push(...sourceFiles(full));
    else if (name.endsWith('.ts')) out.push(full);
  }
  return out;
}

describe('architecture', () => {
  it('has no import pointing against the layer order, and no I/O package below adapters', () => {
    const problems: string[] = [];
    for (const dir of ['models', 'optimizers', 'src']) {
      for (const file of sourceFiles(join(root, dir))) {
        const from = relative(root, file);
        const fromLayer = layerOf(from);
        if (fromLayer === undefined) continue;
        const text = readFileSync(file, 'utf8');
        for (const match of text.matchAll(/(?:import|export)[^'"]*?from\s+['"]([^'"]+)['"]/g)) {
          const spec = match[1];
          if (spec.startsWith('.')) {
            const target = relative(root, resolve(join(file, '..'), spec));
            const toLayer = layerOf(target);
            if (toLayer !== undefined && toLayer > fromLayer) problems.push(`${from} imports ${target}`);
            if (target.startsWith('infra/') || target.startsWith('test/'))
              problems.push(`${from} imports ${target}`);
          } else if (
            forbiddenPackages[fromLayer]?.test(spec) &&
            !(fromLayer === 2 && from.startsWith('src/config/'))
          ) {
            problems.push(`${from} imports package ${spec}`);
          }
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it('keeps the optimizers pure: no clocks, no randomness, no console', () => {
    const problems: string[] = [];
    for (const file of sourceFiles(join(root, 'optimizers'))) {
      const text = readFileSync(file, 'utf8');
      if (/Date\.now\(|performance\.now\(|Math\.random\(|console\./.test(text))
        problems.push(relative(root, file));
    }
    expect(problems).toEqual([]);
  });
});
