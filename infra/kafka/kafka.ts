/**
 * A broker for people: `npx tsx infra/kafka/kafka.ts start [--version 4.1.1] [--port 9092]`
 * prints the bootstrap address and leaves the broker running; `... stop` stops it by the
 * pid recorded in `.cache/kafka/current.json`; `... status` tells whether it is up.
 */
import { rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { serverCli } from '../serverCli';
import { kafkaCacheDir, resolveKafkaVersion, startKafka, stopKafkaPid } from './kafkaServer';

interface CurrentBroker {
  brokers: string;
  pid: number;
  version: string;
  dataDir: string;
}

const currentFile = join(dirname(kafkaCacheDir('x')), 'current.json');

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

serverCli<CurrentBroker>(process.argv.slice(2), {
  currentFile,
  usage: 'usage: kafka.ts start [--version X.Y.Z] [--port N] | stop | status\n',
  async start({ current, option, save }) {
    if (current && alive(current.pid)) {
      process.stdout.write(
        `already running: ${current.brokers} (pid ${current.pid}, Kafka ${current.version})\n`,
      );
      return 0;
    }
    const port = option('--port');
    const server = await startKafka({
      version: resolveKafkaVersion(option('--version')),
      port: port ? Number(port) : undefined,
      detached: true,
      keepData: true,
    });
    await save({
      brokers: server.brokers,
      pid: server.pid,
      version: server.version,
      dataDir: server.dataDir,
    });
    process.stdout.write(`${server.brokers}\n`);
    process.stderr.write(
      `Kafka ${server.version} on ${server.brokers} (pid ${server.pid}, data ${server.dataDir})\n`,
    );
    return 0;
  },
  async stop({ current, forget }) {
    if (!current) {
      process.stderr.write('no broker recorded\n');
      return 0;
    }
    await stopKafkaPid(current.pid);
    await rm(current.dataDir, { recursive: true, force: true });
    await forget();
    process.stderr.write(`stopped pid ${current.pid}\n`);
    return 0;
  },
  async status({ current }) {
    if (current && alive(current.pid)) {
      process.stdout.write(`${current.brokers}\n`);
      return 0;
    }
    process.stderr.write('not running\n');
    return 1;
  },
}).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
