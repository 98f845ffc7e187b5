import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

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

function aptGet(args: string[]): { ok: boolean; output: string } {
  // Lock timeout: another installer (e.g. the Kafka script's JDK) may hold dpkg's lock in parallel.
  const result = spawnSync('apt-get', ['-o', 'DPkg::Lock::Timeout=600', ...args], {
    encoding: 'utf8',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 64 * 1024 * 1024,
  });
  return { ok: result.status === 0, output: `${result.stdout ?? ''}${result.stderr ?? ''}` };
}

/**
 * Installs Debian's `clickhouse-server` and `clickhouse-client` when missing and returns the
 * server binary. Synchronous on purpose: it runs once, before anything else can use the server.
 * The package's own service is never started by us; we only use its binary.
 */
export function ensureClickHouseInstalled(log: (line: string) => void = () => {}): string {
  const existing = findClickHouseServerBinary();
  if (existing) return existing;
  log('clickhouse-server not found; installing it with apt-get (Debian package)');
  const install = ['install', '-y', '--no-install-recommends', 'clickhouse-server', 'clickhouse-client'];
  let result = aptGet(install);
  if (!result.ok) {
    // A clean machine may have no package lists yet.
    aptGet(['update']);
    result = aptGet(install);
  }
  const installed = findClickHouseServerBinary();
  if (!result.ok || !installed) {
    throw new Error(`could not install clickhouse-server with apt-get:\n${result.output.slice(-4000)}`);
  }
  return installed;
}
