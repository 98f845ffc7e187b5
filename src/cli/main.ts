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

program
  .command('config')
  .description('print the JSON Schema of the config (every option, with its default)')
  .action(() => {
    console.log(
      JSON.stringify(z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' }), null, 2),
    );
  });

await program.parseAsync(process.argv);
