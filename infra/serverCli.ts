import { existsSync, readFileSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';

/** What a command of `serverCli` gets: the record of the server last started and the command's arguments. */
export interface ServerCliContext<Current> {
  /** The record of the server last started (null: none), alive or not. */
  current: Current | null;
  /** The arguments after the command. */
  args: string[];
  /** The value after `name` (e.g. `--port`) in the arguments. */
  option(name: string): string | undefined;
  /** Records a server just started (for the later `stop` and `status`). */
  save(record: Current): Promise<void>;
  /** Drops the record. */
  forget(): Promise<void>;
}

export interface ServerCliCommands<Current> {
  /** Where the record of the running server is kept (JSON). */
  currentFile: string;
  /** Printed to stderr for an unknown command. */
  usage: string;
  start(context: ServerCliContext<Current>): Promise<number>;
  stop(context: ServerCliContext<Current>): Promise<number>;
  status(context: ServerCliContext<Current>): Promise<number>;
}

/**
 * A `start | stop | status` CLI for a local server (infra/kafka/kafka.ts, infra/clickhouse/clickhouse.ts): the server
 * outlives the CLI, so its record in `currentFile` is what the later commands find it by. Returns the exit code (2 for
 * an unknown command).
 */
export async function serverCli<Current>(
  argv: string[],
  commands: ServerCliCommands<Current>,
): Promise<number> {
  const [command, ...args] = argv;
  const { currentFile } = commands;
  const context: ServerCliContext<Current> = {
    current: existsSync(currentFile) ? (JSON.parse(readFileSync(currentFile, 'utf8')) as Current) : null,
    args,
    option: (name) => {
      const i = args.indexOf(name);
      return i >= 0 ? args[i + 1] : undefined;
    },
    save: (record) => writeFile(currentFile, `${JSON.stringify(record, null, 2)}\n`),
    forget: () => rm(currentFile, { force: true }),
  };
  switch (command) {
    case 'start':
      return commands.start(context);
    case 'stop':
      return commands.stop(context);
    case 'status':
      return commands.status(context);
    default:
      process.stderr.write(commands.usage);
      return 2;
  }
}
