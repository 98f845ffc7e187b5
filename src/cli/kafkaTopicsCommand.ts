import { createKafkaTopics } from '../adapters/kafka/createKafkaTopics';
import { type KafkaCliOptions, kafkaConfigFromOptions } from './kafkaConfigFromOptions';

/** `evflex topics create --kafka <brokers>`: creates every topic; prints what was created. */
export async function kafkaTopicsCommand(opts: KafkaCliOptions): Promise<number> {
  const config = kafkaConfigFromOptions(opts);
  const result = await createKafkaTopics(config);
  for (const topic of result.created)
    console.log(`created ${topic} (${config.kafka?.partitions} partitions)`);
  for (const topic of result.existing) console.log(`exists  ${topic}`);
  return 0;
}
