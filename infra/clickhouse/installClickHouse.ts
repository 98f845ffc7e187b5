import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { aptInstall } from '../aptInstall';

const SERVER_BINARIES = [
  '/usr/sbin/clickhouse-server',
  '/usr/bin/clickhouse-server',
  '/usr/local/bin/clickhouse-server',
];

/** Path of an installed `clickhouse-server`, or null. */
export function findClickHouseServerBinary(): string | null {
  const fromEnv = process.env.EVFLEX_CLICKHOUSE_SERVER_BIN;
  if (fromEnv && existsSync(fromEnv)) return fromEnv;
  for (const candidate of SERVER_BINARIES) if (existsSync(candidate)) return candidate;
  const which = spawnSync('sh', ['-c', 'command -v clickhouse-server'], { encoding: 'utf8' });
  const found = which.stdout.trim();
  return which.status === 0 && found ? found : null;
}

let installing: Promise<string> | null = null;

/**
 * Installs Debian's `clickhouse-server` and `clickhouse-client` when missing and resolves to
 * the server binary; concurrent callers share one install. The package's own service is never
 * started by us; we only use its binary.
 */
export function ensureClickHouseInstalled(log: (line: string) => void = () => {}): Promise<string> {
  const existing = findClickHouseServerBinary();
  if (existing) return Promise.resolve(existing);
  installing ??= (async () => {
    log('clickhouse-server not found; installing it with apt-get (Debian package)');
    const result = await aptInstall(['clickhouse-server', 'clickhouse-client']);
    const installed = findClickHouseServerBinary();
    if (!result.ok || !installed) {
      throw new Error(`could not install clickhouse-server with apt-get:\n${result.output.slice(-4000)}`);
    }
    return installed;
  })().finally(() => {
    installing = null;
  });
  return installing;
}
