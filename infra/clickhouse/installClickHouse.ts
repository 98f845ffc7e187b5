import { spawn, spawnSync } from 'node:child_process';
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

/** Asynchronous, so a Kafka broker starting in the same process is not frozen meanwhile. */
function aptGet(args: string[]): Promise<{ ok: boolean; output: string }> {
  return new Promise((resolve) => {
    // Lock timeout: another installer (e.g. the Kafka script's JDK) may hold dpkg's lock in parallel.
    const child = spawn('apt-get', ['-o', 'DPkg::Lock::Timeout=600', ...args], {
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const keep = (chunk: Buffer) => {
      output = (output + chunk.toString('utf8')).slice(-16_000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.once('error', (error) => resolve({ ok: false, output: `${output}${error.message}` }));
    child.once('close', (code) => resolve({ ok: code === 0, output }));
  });
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
    const install = ['install', '-y', '--no-install-recommends', 'clickhouse-server', 'clickhouse-client'];
    let result = await aptGet(install);
    if (!result.ok) {
      // A clean machine may have no package lists yet.
      await aptGet(['update']);
      result = await aptGet(install);
    }
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
