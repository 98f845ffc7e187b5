import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { Socket } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { EvflexError } from '../../src/core/evflexError';
import { aptInstall } from '../aptInstall';
import { freePort } from '../freePort';

const execFileAsync = promisify(execFile);

/** 3.9.x is the default broker line; 4.x is selectable (opts.version or EVFLEX_KAFKA_VERSION). */
export const DEFAULT_KAFKA_VERSION = '3.9.2';

const here = dirname(fileURLToPath(import.meta.url));
const projectRoot = resolve(here, '..', '..');
const pomPath = join(here, 'pom.xml');

export interface StartKafkaOptions {
  /** Apache Kafka version from Maven Central (default: EVFLEX_KAFKA_VERSION or 3.9.2). */
  version?: string;
  /** Broker listener port; a free one is picked when omitted. */
  port?: number;
  /** Controller listener port; a free one is picked when omitted. */
  controllerPort?: number;
  /** Log (data) dir; a fresh one under .cache/kafka/runs/ when omitted. Removed on stop unless keepData. */
  dataDir?: string;
  keepData?: boolean;
  /** JVM max heap in MiB (default 512). */
  heapMb?: number;
  /** How long to wait for the broker to answer (default 120 s, includes a first jar download). */
  startTimeoutMs?: number;
  /** Leave the broker running when this Node process exits (the CLI's `start`). */
  detached?: boolean;
  /** Install kcat with apt-get when it is missing (default true; failure only warns). */
  ensureKcat?: boolean;
  /** Extra server.properties lines, e.g. { 'num.partitions': '3' }. */
  extraProperties?: Record<string, string>;
  /**
   * Scheduling niceness of the broker's threads (default 0). Negative puts the broker ahead of
   * the other processes of a machine it shares with them, as if it had a host of its own (below
   * 0 needs root; without it the broker runs at 0 and `niceness` says so).
   */
  niceness?: number;
}

export interface KafkaServer {
  /** Bootstrap address, "127.0.0.1:<port>". */
  brokers: string;
  pid: number;
  version: string;
  dataDir: string;
  /** The broker's niceness as the kernel has it (null: unknown). */
  niceness: number | null;
  stop(): Promise<void>;
}

export function resolveKafkaVersion(version?: string): string {
  return version ?? process.env.EVFLEX_KAFKA_VERSION ?? DEFAULT_KAFKA_VERSION;
}

function isKafka3(version: string): boolean {
  return version.startsWith('3.');
}

/** Where the jars of one version live: `.cache/kafka/<version>/libs`, shared between runs. */
export function kafkaCacheDir(version: string): string {
  return join(process.env.EVFLEX_CACHE_DIR ?? join(projectRoot, '.cache'), 'kafka', version);
}

/** Fetches the broker's jars with mvn once per version; later calls reuse the cache. */
export async function ensureKafkaJars(version: string): Promise<string> {
  const versionDir = kafkaCacheDir(version);
  const libsDir = join(versionDir, 'libs');
  const marker = join(versionDir, '.complete');
  if (existsSync(marker) && existsSync(libsDir)) return libsDir;
  await mkdir(versionDir, { recursive: true });
  // Download into a private dir and rename, so concurrent starts never see half a classpath.
  const tmpDir = join(versionDir, `libs.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  const profile = isKafka3(version) ? 'reload4j' : 'log4j2';
  try {
    await execFileAsync(
      'mvn',
      [
        '-q',
        '-B',
        '-f',
        pomPath,
        `-Dkafka.version=${version}`,
        '-P',
        profile,
        'dependency:copy-dependencies',
        `-DoutputDirectory=${tmpDir}`,
      ],
      { maxBuffer: 64 * 1024 * 1024, timeout: 600_000 },
    );
  } catch (error) {
    await rm(tmpDir, { recursive: true, force: true });
    const out = error as { stdout?: string; stderr?: string };
    throw new EvflexError(
      'EVFLEX_BROKER_UNAVAILABLE',
      `mvn could not fetch org.apache.kafka:kafka_2.13:${version}: ${(out.stdout ?? '').slice(-2000)}${(out.stderr ?? '').slice(-2000)}`,
      { cause: error },
    );
  }
  if (existsSync(marker) && existsSync(libsDir)) {
    await rm(tmpDir, { recursive: true, force: true });
    return libsDir;
  }
  await rm(libsDir, { recursive: true, force: true });
  await rename(tmpDir, libsDir);
  await writeFile(marker, `${new Date().toISOString()}\n`);
  return libsDir;
}

/** Kafka cluster ids are 16 random bytes in URL-safe base64 without padding (22 chars). */
/**
 * A random 16-byte id in base64url, as Kafka's own Uuid.randomUuid() makes it. An id that
 * starts with "-" would be read by StorageTool as an option (1 run in 64), so, like Kafka,
 * draw again until it does not.
 */
function newClusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

function serverProperties(p: {
  port: number;
  controllerPort: number;
  logDir: string;
  extra: Record<string, string>;
}): string {
  const props: Record<string, string> = {
    'process.roles': 'broker,controller',
    'node.id': '1',
    'controller.quorum.voters': `1@127.0.0.1:${p.controllerPort}`,
    listeners: `PLAINTEXT://127.0.0.1:${p.port},CONTROLLER://127.0.0.1:${p.controllerPort}`,
    'advertised.listeners': `PLAINTEXT://127.0.0.1:${p.port}`,
    'controller.listener.names': 'CONTROLLER',
    'inter.broker.listener.name': 'PLAINTEXT',
    'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
    'log.dirs': p.logDir,
    // Tests create every topic explicitly, with the partition counts from config.
    'auto.create.topics.enable': 'false',
    'num.partitions': '1',
    'offsets.topic.replication.factor': '1',
    'offsets.topic.num.partitions': '8',
    'transaction.state.log.replication.factor': '1',
    'transaction.state.log.min.isr': '1',
    'share.coordinator.state.topic.replication.factor': '1',
    'share.coordinator.state.topic.min.isr': '1',
    'group.initial.rebalance.delay.ms': '0',
    'log.retention.hours': '24',
    'log.segment.bytes': String(64 * 1024 * 1024),
    ...p.extra,
  };
  return `${Object.entries(props)
    .map(([k, v]) => `${k}=${v}`)
    .join('\n')}\n`;
}

const LOG4J1 = `log4j.rootLogger=WARN, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.server.KafkaRaftServer=INFO
log4j.logger.kafka.server.BrokerServer=INFO
`;

/**
 * EVFLEX_KAFKA_REQUEST_LOG=file (3.x brokers): every request the broker completes, with where
 * its time went (queue, local, remote, response queue, send), written to that file. Heavy;
 * for finding out whether a slow round trip was the broker's.
 */
function requestLogLines(): string {
  const file = process.env.EVFLEX_KAFKA_REQUEST_LOG;
  if (!file) return '';
  return `log4j.logger.kafka.request.logger=DEBUG, requests
log4j.additivity.kafka.request.logger=false
log4j.appender.requests=org.apache.log4j.FileAppender
log4j.appender.requests.File=${file}
log4j.appender.requests.layout=org.apache.log4j.PatternLayout
log4j.appender.requests.layout.ConversionPattern=[%d{ISO8601}] %m%n
`;
}

const LOG4J2_PROPERTIES = `status = warn
appender.stdout.type = Console
appender.stdout.name = STDOUT
appender.stdout.layout.type = PatternLayout
appender.stdout.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.stdout.ref = STDOUT
logger.raft.name = kafka.server.KafkaRaftServer
logger.raft.level = INFO
`;

function jvmArgs(version: string, runDir: string, heapMb: number): string[] {
  const logging = isKafka3(version)
    ? [`-Dlog4j.configuration=file:${join(runDir, 'log4j.properties')}`]
    : [`-Dlog4j2.configurationFile=${join(runDir, 'log4j2.properties')}`];
  return [
    `-Xmx${heapMb}m`,
    `-Xms${Math.min(heapMb, 256)}m`,
    '-XX:+UseG1GC',
    '-XX:MaxGCPauseMillis=20',
    '-Djava.awt.headless=true',
    `-Dkafka.logs.dir=${join(runDir, 'logs')}`,
    ...logging,
    // EVFLEX_KAFKA_JVM_OPTS='-Xlog:gc:file=/tmp/gc.log:uptime': more JVM options (diagnostics).
    ...(process.env.EVFLEX_KAFKA_JVM_OPTS?.split(' ').filter(Boolean) ?? []),
  ];
}

/** A process's niceness from /proc/<pid>/stat (field 19); null when unreadable. */
function processNiceness(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const nice = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
    return Number.isFinite(nice) ? nice : null;
  } catch {
    return null;
  }
}

/** True when something accepts TCP connections on 127.0.0.1:port. */
function canConnect(port: number): Promise<boolean> {
  return new Promise((resolveConnect) => {
    const socket = new Socket();
    const done = (ok: boolean) => {
      socket.destroy();
      resolveConnect(ok);
    };
    socket.setTimeout(1000);
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
    socket.once('timeout', () => done(false));
    socket.connect(port, '127.0.0.1');
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until the broker answers a metadata request with itself as a live broker. */
async function waitUntilAnswering(
  brokers: string,
  child: ChildProcess,
  logFile: string,
  timeoutMs: number,
): Promise<void> {
  const { Kafka, logLevel } = await import('kafkajs');
  const deadline = Date.now() + timeoutMs;
  const port = Number(brokers.split(':')[1]);
  let lastError: unknown = null;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new EvflexError(
        'EVFLEX_BROKER_UNAVAILABLE',
        `Kafka exited with ${child.exitCode ?? child.signalCode} while starting; log tail:\n${tail(logFile)}`,
      );
    }
    if (await canConnect(port)) {
      const admin = new Kafka({
        clientId: 'evflex-kafka-probe',
        brokers: [brokers],
        logLevel: logLevel.NOTHING,
        retry: { retries: 0 },
        connectionTimeout: 2000,
        requestTimeout: 5000,
      }).admin();
      try {
        await admin.connect();
        const cluster = await admin.describeCluster();
        if (cluster.brokers.length > 0 && cluster.controller !== null && cluster.controller >= 0) return;
      } catch (error) {
        lastError = error;
      } finally {
        await admin.disconnect().catch(() => {});
      }
    }
    await sleep(250);
  }
  throw new EvflexError(
    'EVFLEX_BROKER_UNAVAILABLE',
    `Kafka did not answer on ${brokers} within ${timeoutMs} ms (${String(lastError)}); log tail:\n${tail(logFile)}`,
  );
}

function tail(file: string, chars = 4000): string {
  try {
    return readFileSync(file, 'utf8').slice(-chars);
  } catch {
    return '(no log)';
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Stops a broker by its own pid: SIGTERM (controlled shutdown), SIGKILL after the grace period. */
export async function stopKafkaPid(pid: number, graceMs = 20_000): Promise<void> {
  if (!isAlive(pid)) return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return;
    await sleep(100);
  }
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    return;
  }
  while (isAlive(pid)) await sleep(50);
}

/** Installs Debian's kcat when it is missing (tests use it as a client that is not ours). */
export async function ensureKcat(): Promise<boolean> {
  if (await hasCommand('kcat')) return true;
  const result = await aptInstall(['kcat']);
  if (!result.ok) {
    const why = result.output.trim().split('\n').slice(-3).join(' | ');
    process.stderr.write(`evflex: could not install kcat (${why})\n`);
    return false;
  }
  return hasCommand('kcat');
}

async function hasCommand(name: string): Promise<boolean> {
  try {
    await execFileAsync('sh', ['-c', `command -v ${name}`]);
    return true;
  } catch {
    return false;
  }
}

/**
 * Starts a single-node KRaft broker+controller on 127.0.0.1 with a fresh log dir: fetches
 * the jars (cached), formats storage, starts `kafka.Kafka`, and waits until it answers.
 */
export async function startKafka(opts: StartKafkaOptions = {}): Promise<KafkaServer> {
  const version = resolveKafkaVersion(opts.version);
  const kcat = opts.ensureKcat === false ? Promise.resolve(false) : ensureKcat();
  const libsDir = await ensureKafkaJars(version);
  const port = opts.port ?? (await freePort());
  let controllerPort = opts.controllerPort ?? (await freePort());
  while (controllerPort === port) controllerPort = await freePort();
  const runDir =
    opts.dataDir ??
    join(kafkaCacheDir(version), 'runs', `${Date.now()}-${process.pid}-${randomBytes(3).toString('hex')}`);
  const logDir = join(runDir, 'data');
  await rm(logDir, { recursive: true, force: true });
  await mkdir(join(runDir, 'logs'), { recursive: true });
  const propsFile = join(runDir, 'server.properties');
  await writeFile(
    propsFile,
    serverProperties({ port, controllerPort, logDir, extra: opts.extraProperties ?? {} }),
  );
  await writeFile(join(runDir, 'log4j.properties'), LOG4J1 + requestLogLines());
  await writeFile(join(runDir, 'log4j2.properties'), LOG4J2_PROPERTIES);

  const heapMb = opts.heapMb ?? 512;
  const classpath = `${libsDir}/*`;
  const jvm = jvmArgs(version, runDir, heapMb);
  try {
    await execFileAsync(
      'java',
      [...jvm, '-cp', classpath, 'kafka.tools.StorageTool', 'format', '-t', newClusterId(), '-c', propsFile],
      { timeout: 120_000, maxBuffer: 16 * 1024 * 1024 },
    );
  } catch (error) {
    const out = error as { stdout?: string; stderr?: string };
    throw new EvflexError(
      'EVFLEX_BROKER_UNAVAILABLE',
      `kafka StorageTool format failed: ${out.stdout ?? ''}${out.stderr ?? ''}`,
      { cause: error },
    );
  }

  const logFile = join(runDir, 'server.out');
  // The broker writes straight into its own log file, so it never depends on this process's pipes.
  const logFd = openSync(logFile, 'a');
  const java = [...jvm, '-cp', classpath, 'kafka.Kafka', propsFile];
  // `nice` execs java in its own process, so the pid stays the broker's and every JVM thread
  // inherits the niceness.
  const niceness = opts.niceness ?? 0;
  const child = spawn(
    niceness === 0 ? 'java' : 'nice',
    niceness === 0 ? java : ['-n', String(niceness), 'java', ...java],
    {
      cwd: runDir,
      stdio: ['ignore', logFd, logFd],
      detached: opts.detached ?? false,
    },
  );
  closeSync(logFd);
  const pid = child.pid;
  if (pid === undefined)
    throw new EvflexError('EVFLEX_BROKER_UNAVAILABLE', 'could not spawn java for kafka.Kafka');
  await writeFile(join(runDir, 'kafka.pid'), `${pid}\n`);

  // A broker started for a test run must not outlive it; a detached one (CLI) is stopped by pid file.
  const onExit = () => {
    if (isAlive(pid)) process.kill(pid, 'SIGKILL');
  };
  if (opts.detached) {
    child.unref();
  } else {
    process.once('exit', onExit);
  }

  const brokers = `127.0.0.1:${port}`;
  try {
    await waitUntilAnswering(brokers, child, logFile, opts.startTimeoutMs ?? 120_000);
  } catch (error) {
    await stopKafkaPid(pid, 5_000);
    throw error;
  }
  await kcat;

  let stopped = false;
  return {
    brokers,
    pid,
    version,
    dataDir: runDir,
    niceness: processNiceness(pid),
    async stop() {
      if (stopped) return;
      stopped = true;
      process.removeListener('exit', onExit);
      await stopKafkaPid(pid);
      if (!opts.keepData && opts.dataDir === undefined) await rm(runDir, { recursive: true, force: true });
    },
  };
}
