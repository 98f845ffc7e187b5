import { Command, InvalidArgumentError } from 'commander';
import { z } from 'zod';
import { configSchema } from '../config/configSchema';
import { demoCommand } from './demo/demoCommand';

/** The evflex command line. Each sub-command lives in its own file; this one only parses. */
const program = new Command()
  .name('evflex')
  .description('Streaming engine for grid flexibility and V2G aggregation (IEC 63110-1 energy domain)');

const integer = (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n)) throw new InvalidArgumentError('not an integer');
  return n;
};

program
  .command('demo')
  .description('simulate a 24 h day at one site on the embedded in-memory bus and write a report')
  .option('--seed <n>', 'simulator seed', integer, 1)
  .option('--evses <n>', 'EVSEs at the site (≥ 50 for the standard demo)', integer, 60)
  .option('--hours <n>', 'simulated hours', integer, 24)
  .option('--solver <name>', 'fast | placeholder', 'fast')
  .option('--out <dir>', 'where report.json and report.html go', 'reports')
  .option('--json', 'print the summary as one JSON object on stdout (no progress bar)')
  .action(async (opts) => {
    process.exitCode = await demoCommand(opts);
  });

const kafkaOptions = (command: Command) =>
  command
    .requiredOption('--kafka <brokers>', 'bootstrap brokers, comma-separated, e.g. 127.0.0.1:9092')
    .option('--config <file>', 'JSON config file (validated; flags override it)')
    .option('--topics-prefix <prefix>', 'prefix of every topic name')
    .option('--group-id <id>', 'consumer group of the engine instances')
    .option('--instance-id <id>', 'this instance, as it appears in outputs')
    .option('--partitions <n>', 'partitions of created topics', integer);

kafkaOptions(program.command('run'))
  .description('run the engine as a long-lived consumer-group member (graceful stop on SIGTERM)')
  .option('--no-create-topics', 'do not create missing topics first')
  .action(async (opts) => {
    const { kafkaRunCommand } = await import('./kafkaRunCommand');
    process.exitCode = await kafkaRunCommand(opts);
  });

kafkaOptions(program.command('simulate'))
  .description("publish the simulator's fleet, DSO, RM and frequency messages to the broker")
  .option('--seed <n>', 'simulator seed', integer, 1)
  .option('--sites <n>', 'simulated sites', integer, 1)
  .option('--evses <n>', 'EVSEs per site', integer, 60)
  .option('--hours <n>', 'simulated hours', integer, 24)
  .option('--speed <x>', 'simulated seconds per wall second', Number, 1)
  .option('--bad', 'mix in one of each kind of bad input per site')
  .action(async (opts) => {
    const { kafkaSimulateCommand } = await import('./kafkaSimulateCommand');
    process.exitCode = await kafkaSimulateCommand(opts);
  });

const topics = program.command('topics').description('manage the Kafka topics');
kafkaOptions(topics.command('create'))
  .description('create every input and output topic (state.snapshots compacted)')
  .action(async (opts) => {
    const { kafkaTopicsCommand } = await import('./kafkaTopicsCommand');
    process.exitCode = await kafkaTopicsCommand(opts);
  });

program
  .command('report')
  .description('write an HTML proof-of-delivery report from the ClickHouse telemetry')
  .requiredOption('--clickhouse <url>', 'ClickHouse HTTP URL, e.g. http://127.0.0.1:8123')
  .requiredOption('--from <time>', 'start, ISO 8601 (UTC) or epoch ms')
  .requiredOption('--to <time>', 'end, ISO 8601 (UTC) or epoch ms')
  .option('--out <path>', 'an .html file or a directory', 'reports')
  .option('--database <name>', 'ClickHouse database', 'evflex')
  .option('--config <file>', 'engine config: its frequency settings define the required response')
  .action(async (opts) => {
    const { loadConfigFile } = await import('../config/loadConfig');
    const config = opts.config ? loadConfigFile(opts.config) : null;
    // Adapters load only for the commands that use them; the demo never loads kafkajs.
    const { parseReportTimeMs, runReportCommand } = await import('./reportCommand');
    await runReportCommand({
      clickhouseUrl: opts.clickhouse,
      fromMs: parseReportTimeMs(opts.from),
      toMs: parseReportTimeMs(opts.to),
      out: opts.out,
      database: opts.database,
      ...(config ? { frequency: config.frequency } : {}),
    });
  });

program
  .command('config')
  .description('print the JSON Schema of the config (every option, with its default)')
  .action(() => {
    console.log(
      JSON.stringify(z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' }), null, 2),
    );
  });

await program.parseAsync(process.argv);
