import { type ChildProcess, spawn } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitFor } from './kafkaTestKit';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..', '..', '..');

export interface EngineProcess {
  pid: number;
  log(): string;
  /** Resolves once the instance has been assigned partitions and restored their sites. */
  assigned(timeoutMs?: number): Promise<void>;
  kill(signal: NodeJS.Signals): void;
  exited(): Promise<number | null>;
}

/** Starts `engineProcess.ts` as a child process (killed with SIGKILL if the test process exits). */
export function startEngineProcess(brokers: string, configPath: string): EngineProcess {
  const child: ChildProcess = spawn(
    process.execPath,
    ['--import', 'tsx', join(here, 'engineProcess.ts'), brokers, configPath],
    {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  child.stdout?.on('data', (d: Buffer) => {
    output += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    output += d.toString();
  });
  const exit = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const cleanup = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  process.once('exit', cleanup);
  exit.then(() => process.off('exit', cleanup));
  return {
    pid: child.pid as number,
    log: () => output,
    assigned: (timeoutMs = 90_000) =>
      waitFor(
        () => {
          if (child.exitCode !== null)
            throw new Error(`engine exited ${child.exitCode}:\n${output.slice(-3000)}`);
          return output.includes('evflex: assigned partitions');
        },
        timeoutMs,
        'engine assignment',
      ),
    kill: (signal) => {
      child.kill(signal);
    },
    exited: () => exit,
  };
}
