import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import cliProgress from 'cli-progress';
import { renderDemoReport } from '../../report/demoReport';
import { summaryTable } from '../../report/summaryTable';
import { runDemo } from './runDemo';

export interface DemoCommandOptions {
  seed: number;
  evses: number;
  hours: number;
  solver: string;
  out: string;
  json?: boolean;
}

/** `evflex demo`: run the simulated day, print the summary, write report.json and report.html. */
export async function demoCommand(opts: DemoCommandOptions): Promise<number> {
  if (opts.solver !== 'fast' && opts.solver !== 'placeholder') {
    console.error(`unknown solver ${opts.solver}; use fast or placeholder`);
    return 2;
  }
  const bar = opts.json
    ? null
    : new cliProgress.SingleBar(
        { format: 'simulating day |{bar}| {percentage}% | {duration_formatted}', stream: process.stderr },
        cliProgress.Presets.shades_classic,
      );
  bar?.start(100, 0);
  const started = performance.now();
  const result = await runDemo({
    seed: opts.seed,
    evseCount: opts.evses,
    durationHours: opts.hours,
    solver: opts.solver,
    onProgress: (done) => bar?.update(Math.round(done * 100)),
  });
  bar?.stop();
  const wallS = (performance.now() - started) / 1000;
  const outDir = resolve(opts.out);
  mkdirSync(outDir, { recursive: true });
  const jsonPath = join(outDir, 'report.json');
  writeFileSync(
    jsonPath,
    `${JSON.stringify({ ...result.report, engine: result.summary, acks: result.acks })}\n`,
  );
  const htmlPath = join(outDir, 'report.html');
  writeFileSync(htmlPath, renderDemoReport(result.report));
  if (opts.json) {
    console.log(
      JSON.stringify({
        ...result.summary,
        wallSeconds: Number(wallS.toFixed(2)),
        reportJson: jsonPath,
        reportHtml: htmlPath,
      }),
    );
  } else {
    console.log(summaryTable(result.report));
    console.log(`\nsimulated ${opts.hours} h in ${wallS.toFixed(1)} s`);
    console.log(`report: ${jsonPath}`);
    console.log(`report: ${htmlPath}`);
  }
  return result.summary.limitViolations === 0 && result.summary.setpointSetViolations === 0 ? 0 : 1;
}
