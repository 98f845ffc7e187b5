/**
 * A ClickHouse server for people: `npx tsx infra/clickhouse/clickhouse.ts start [--port 8123]
 * [--nice 10] [--fresh]` prints the url and leaves the server running on 127.0.0.1 with its data in
 * `.cache/clickhouse/data` (kept across restarts; `--fresh` wipes it); `... stop` stops it by
 * the pid recorded in `.cache/clickhouse/current.json`; `... status` tells whether it is up.
 */
import { readFileSync, rmSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serverCli } from '../serverCli';
import { pingClickHouse, startClickHouse, stopClickHouseByPid } from './clickhouseServer';

interface CurrentServer {
  url: string;
  pid: number;
  dataDir: string;
}

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const cacheDir = join(repoRoot, '.cache', 'clickhouse');
const currentFile = join(cacheDir, 'current.json');
const dataDir = join(cacheDir, 'data');

/** Alive and still our server: a recycled pid must never be signalled. */
function isOurServer(server: CurrentServer): boolean {
  try {
    const cmdline = readFileSync(`/proc/${server.pid}/cmdline`, 'utf8');
    return cmdline.includes(join(server.dataDir, 'config.xml'));
  } catch {
    return false;
  }
}

process.exitCode = await serverCli<CurrentServer>(process.argv.slice(2), {
  currentFile,
  usage:
    'usage: npx tsx infra/clickhouse/clickhouse.ts start [--port N] [--nice N] [--fresh] | stop | status\n',
  async start({ current, args, option, save }) {
    if (current && isOurServer(current)) {
      process.stdout.write(`already running: ${current.url} (pid ${current.pid})\n`);
      return 0;
    }
    if (args.includes('--fresh')) rmSync(dataDir, { recursive: true, force: true });
    await mkdir(dataDir, { recursive: true });
    const port = option('--port');
    const nice = option('--nice');
    const server = await startClickHouse({
      niceness: nice ? Number(nice) : undefined,
      dataDir,
      keepData: true,
      detached: true,
      httpPort: port ? Number(port) : undefined,
      log: (line) => process.stderr.write(`${line}\n`),
    });
    await save({ url: server.url, pid: server.pid, dataDir });
    process.stdout.write(`${server.url}\n`);
    process.stderr.write(
      `clickhouse-server pid ${server.pid}, data in ${dataDir}; stop with: npx tsx infra/clickhouse/clickhouse.ts stop\n`,
    );
    return 0;
  },
  async stop({ current, forget }) {
    if (!current || !isOurServer(current)) {
      process.stdout.write('not running\n');
      await forget();
      return 0;
    }
    await stopClickHouseByPid(current.pid);
    await forget();
    process.stdout.write(`stopped pid ${current.pid}\n`);
    return 0;
  },
  async status({ current }) {
    if (current && isOurServer(current) && (await pingClickHouse(current.url))) {
      process.stdout.write(`running: ${current.url} (pid ${current.pid})\n`);
      return 0;
    }
    process.stdout.write('not running\n');
    return 1;
  },
});
