import { readFileSync } from 'node:fs';
import { EvflexError } from '../core/evflexError';
import { configSchema, type EvflexConfig, type EvflexConfigInput } from './configSchema';

/** Validates a config object once; every default comes from configSchema. */
export function parseConfig(input: EvflexConfigInput | Record<string, unknown> = {}): EvflexConfig {
  const result = configSchema.safeParse(input);
  if (!result.success) {
    const detail = result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new EvflexError('EVFLEX_CONFIG_INVALID', detail);
  }
  return result.data;
}

export function loadConfigFile(path: string): EvflexConfig {
  return parseConfig(JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>);
}
