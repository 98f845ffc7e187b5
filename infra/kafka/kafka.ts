/**
 * A broker for people: `npx tsx infra/kafka/kafka.ts start [--version 4.1.1] [--port 9092]`
 * prints the bootstrap address and leaves the broker running; `... stop` stops it by the
 * pid recorded in `.cache/kafka/current.json`; `... status` tells whether it is up.
 */
import { existsSync, readFileSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { kafkaCacheDir, resolveKafkaVersion, startKafka, stopKafkaPid } from './kafkaServer';

interface CurrentBroker {
  brokers: string;
  pid: number;
  version: string;
  dataDir: string;
}

const currentFile = join(dirname(kafkaCacheDir('x')), 'current.json');

function readCurrent(): CurrentBroker | null {
  if (!existsSync(currentFile)) return null;
  return JSON.parse(readFileSync(currentFile, 'utf8')) as CurrentBroker;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function option(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...args] = argv;
  const current = readCurrent();
  switch (command) {
    case 'start': {
      if (current && alive(current.pid)) {
        process.stdout.write(
          `already running: ${current.brokers} (pid ${current.pid}, Kafka ${current.version})\n`,
        );
        return 0;
      }
      const port = option(args, '--port');
      const server = await startKafka({
        version: resolveKafkaVersion(option(args, '--version')),
        port: port ? Number(port) : undefined,
        detached: true,
        keepData: true,
      });
      const record: CurrentBroker = {
        brokers: server.brokers,
        pid: server.pid,
        version: server.version,
        dataDir: server.dataDir,
      };
      await writeFile(currentFile, `${JSON.stringify(record, null, 2)}\n`);
      process.stdout.write(`${server.brokers}\n`);
      process.stderr.write(
        `Kafka ${server.version} on ${server.brokers} (pid ${server.pid}, data ${server.dataDir})\n`,
      );
      return 0;
    }
    case 'stop': {
      if (!current) {
        process.stderr.write('no broker recorded\n');
        return 0;
      }
      await stopKafkaPid(current.pid);
      await rm(current.dataDir, { recursive: true, force: true });
      await rm(currentFile, { force: true });
      process.stderr.write(`stopped pid ${current.pid}\n`);
      return 0;
    }
    case 'status': {
      if (current && alive(current.pid)) {
        process.stdout.write(`${current.brokers}\n`);
        return 0;
      }
      process.stderr.write('not running\n');
      return 1;
    }
    default:
      process.stderr.write('usage: kafka.ts start [--version X.Y.Z] [--port N] | stop | status\n');
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
