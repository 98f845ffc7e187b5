import { spawn } from 'node:child_process';

/** The end of what apt-get printed, and whether it succeeded. */
export interface AptResult {
  ok: boolean;
  output: string;
}

/** Asynchronous, so a broker starting in the same process is not frozen meanwhile. */
function aptGet(args: string[]): Promise<AptResult> {
  return new Promise((resolve) => {
    // Lock timeout: another process (unattended upgrades, a second test run) may hold dpkg's lock.
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

/** apt-get runs of this process, one after another (see aptInstall). */
let queue: Promise<unknown> = Promise.resolve();

/**
 * Installs Debian packages with apt-get, one install at a time in this process. The test
 * suite's global setup installs ClickHouse and kcat side by side on a new machine: run at once,
 * one `apt-get update` held the package lists' lock while the other failed on it (dpkg's lock
 * timeout does not cover the lists). A clean machine may have no package lists yet, so a failed
 * install is retried once after an update.
 */
export function aptInstall(packages: readonly string[]): Promise<AptResult> {
  const run = queue.then(async () => {
    const install = ['install', '-y', '-q', '--no-install-recommends', ...packages];
    const first = await aptGet(install);
    if (first.ok) return first;
    await aptGet(['update', '-q']);
    return aptGet(install);
  });
  queue = run.catch(() => {});
  return run;
}
