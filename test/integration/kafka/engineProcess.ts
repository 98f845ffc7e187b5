/**
 * An engine as its own OS process, for fault tests: `node --import tsx engineProcess.ts
 * <brokers> <config.json>`. Same code path as `evflex run --kafka`.
 */
import { kafkaRunCommand } from '../../../src/cli/kafkaRunCommand';

const [brokers, configPath] = process.argv.slice(2);
if (!brokers || !configPath) throw new Error('usage: engineProcess.ts <brokers> <config.json>');
process.exitCode = await kafkaRunCommand({
  kafka: brokers,
  config: configPath,
  sessionTimeoutMs: 6_000,
  checkpointIntervalMs: 1_000,
});
