import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../freePort';
import { renderClickHouseConfig, renderClickHouseUsers } from './clickhouseConfig';
import { ensureClickHouseInstalled } from './installClickHouse';

export interface StartClickHouseOptions {
  /** Data dir to use (created if missing). Default: a fresh temp dir, removed by `stop()`. */
  dataDir?: string;
  /** Keep `dataDir` after `stop()`. Default: true when `dataDir` is given, false for a temp dir. */
  keepData?: boolean;
  /** Fixed HTTP port (e.g. to restart a server on the same url). Default: a free port. */
  httpPort?: number;
  /** Fixed native-protocol port. Default: a free port. */
  tcpPort?: number;
  /** Let the server outlive this process (the CLI's `start`). */
  detached?: boolean;
  startTimeoutMs?: number;
  /**
   * Run the server under `nice` (e.g. 10) so that on a shared box it yields the CPU to the
   * process being measured; `nice` execs the server, so the pid is still the server's.
   */
  niceness?: number;
  log?: (line: string) => void;
}

export interface ClickHouseServer {
  url: string;
  pid: number;
  dataDir: string;
  /**
   * Stops the server by its pid. A throwaway data dir gets SIGKILL at once (18.16 spends ~8 s
   * in a graceful shutdown and the files are deleted anyway); a kept one gets SIGTERM first.
   * `kill: true` forces SIGKILL, e.g. to test a crash.
   */
  stop(opts?: { kill?: boolean }): Promise<void>;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** True when `GET /ping` answers `Ok.`. */
export async function pingClickHouse(url: string, timeoutMs = 1_000): Promise<boolean> {
  try {
    const response = await fetch(new URL('/ping', url), { signal: AbortSignal.timeout(timeoutMs) });
    return response.ok && (await response.text()).startsWith('Ok');
  } catch {
    return false;
  }
}

function tail(path: string, chars = 3_000): string {
  try {
    return readFileSync(path, 'utf8').slice(-chars);
  } catch {
    return '';
  }
}

/**
 * Stops a server by its own pid: SIGTERM, wait for a clean shutdown, SIGKILL if it hangs.
 * Never by name, so a system or colleague's server is never touched.
 */
export async function stopClickHouseByPid(pid: number, timeoutMs = 30_000): Promise<void> {
  if (!isAlive(pid)) return;
  process.kill(pid, timeoutMs > 0 ? 'SIGTERM' : 'SIGKILL');
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return;
    await sleep(50);
  }
  if (isAlive(pid)) process.kill(pid, 'SIGKILL');
  while (isAlive(pid)) await sleep(50);
}

function waitForExit(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

async function startOnce(
  binary: string,
  dataDir: string,
  httpPort: number,
  tcpPort: number,
  opts: StartClickHouseOptions,
): Promise<{ child: ChildProcess; url: string } | { portTaken: true }> {
  for (const sub of ['data', 'tmp', 'user_files', 'format_schemas', 'logs']) {
    mkdirSync(join(dataDir, sub), { recursive: true });
  }
  const configFile = join(dataDir, 'config.xml');
  writeFileSync(configFile, renderClickHouseConfig({ dataDir, httpPort, tcpPort }));
  writeFileSync(join(dataDir, 'users.xml'), renderClickHouseUsers());
  const stdoutPath = join(dataDir, 'logs', 'stdout.log');
  const stderrPath = join(dataDir, 'logs', 'stderr.log');
  const out = openSync(stdoutPath, 'a');
  const err = openSync(stderrPath, 'a');
  const serverArgs = [`--config-file=${configFile}`];
  const [command, args] =
    opts.niceness !== undefined
      ? ['nice', ['-n', String(opts.niceness), binary, ...serverArgs]]
      : [binary, serverArgs];
  const child = spawn(command, args, {
    cwd: dataDir,
    detached: opts.detached ?? false,
    stdio: ['ignore', out, err],
  });
  closeSync(out);
  closeSync(err);
  if (opts.detached) child.unref();
  const url = `http://127.0.0.1:${httpPort}`;
  const deadline = Date.now() + (opts.startTimeoutMs ?? 60_000);
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });
  while (Date.now() < deadline) {
    if (exited) {
      const errLog = `${tail(stderrPath)}\n${tail(join(dataDir, 'logs', 'clickhouse-server.err.log'))}`;
      if (/address already in use/i.test(errLog)) return { portTaken: true };
      throw new Error(`clickhouse-server exited during startup (data dir ${dataDir}):\n${errLog}`);
    }
    if (await pingClickHouse(url)) return { child, url };
    await sleep(100);
  }
  if (child.pid) await stopClickHouseByPid(child.pid);
  throw new Error(`clickhouse-server did not answer /ping within the timeout (data dir ${dataDir})`);
}

/**
 * A server we started for a test run must not outlive us, even when we are killed (a CI
 * timeout, Ctrl-C on vitest) and never get to call `stop()`. A tiny shell loop watches our pid
 * and, once it is gone, kills the server by its pid and removes a throwaway data dir.
 */
function startWatchdog(serverPid: number, dataDir: string, keepData: boolean): ChildProcess {
  const script =
    'while kill -0 "$0" 2>/dev/null; do sleep 1; done; kill -9 "$1" 2>/dev/null; ' +
    'if [ "$3" = 0 ]; then sleep 1; rm -rf "$2"; fi';
  const watchdog = spawn(
    'sh',
    ['-c', script, String(process.pid), String(serverPid), dataDir, keepData ? '1' : '0'],
    {
      stdio: 'ignore',
      detached: true,
    },
  );
  watchdog.unref();
  return watchdog;
}

/**
 * Starts Debian's `clickhouse-server` (installing it if missing) with a config and data dir
 * owned by the project, on 127.0.0.1 and free ports, and resolves once `/ping` answers.
 */
export async function startClickHouse(opts: StartClickHouseOptions = {}): Promise<ClickHouseServer> {
  const log = opts.log ?? (() => {});
  const binary = await ensureClickHouseInstalled(log);
  const ownsTempDir = opts.dataDir === undefined;
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'evflex-clickhouse-'));
  const keepData = opts.keepData ?? !ownsTempDir;
  // Free ports can be taken between picking and binding; retry with new ones.
  for (let attempt = 0; attempt < 5; attempt += 1) {
    const httpPort = opts.httpPort ?? (await freePort());
    const tcpPort = opts.tcpPort ?? (await freePort());
    const started = await startOnce(binary, dataDir, httpPort, tcpPort, opts);
    if ('portTaken' in started) {
      if (opts.httpPort !== undefined && opts.tcpPort !== undefined) break;
      continue;
    }
    const { child, url } = started;
    const pid = child.pid!;
    if (opts.niceness !== undefined && opts.detached) {
      // A detached server leads its own session, hence its own autogroup where the kernel has
      // them: nice only ranks threads inside a group, so the group's weight is lowered too.
      try {
        writeFileSync(`/proc/${pid}/autogroup`, String(opts.niceness));
      } catch {}
    }
    log(`clickhouse-server pid ${pid} on ${url}, data dir ${dataDir}`);
    const watchdog = opts.detached ? null : startWatchdog(pid, dataDir, keepData);
    let stopping: Promise<void> | undefined;
    const stop = (stopOpts?: { kill?: boolean }) => {
      stopping ??= (async () => {
        if (watchdog?.pid && isAlive(watchdog.pid)) process.kill(watchdog.pid, 'SIGKILL');
        const exited = waitForExit(child);
        await stopClickHouseByPid(pid, stopOpts?.kill || !keepData ? 0 : 30_000);
        if (!opts.detached) await exited;
        if (!keepData) rmSync(dataDir, { recursive: true, force: true });
      })();
      return stopping;
    };
    return { url, pid, dataDir, stop };
  }
  throw new Error('clickhouse-server could not bind a free port on 127.0.0.1');
}
