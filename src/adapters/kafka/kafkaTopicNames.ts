import { INPUT_TOPICS, type InputTopic, isInputTopic, type TopicName } from '../../../models/topics';

/** Maps logical topic names (models/topics.ts) to physical ones, `${prefix}${logical}`, and back. */
export interface KafkaTopicNames {
  physical(logical: TopicName): string;
  /** The logical input topic of a physical name, or null for a topic that is not an input. */
  inputOf(physical: string): InputTopic | null;
  inputs: string[];
}

export function kafkaTopicNames(prefix: string): KafkaTopicNames {
  const toLogical = new Map<string, InputTopic>(INPUT_TOPICS.map((t) => [`${prefix}${t}`, t]));
  return {
    physical: (logical) => `${prefix}${logical}`,
    inputOf: (physical) => {
      const logical = toLogical.get(physical);
      if (logical) return logical;
      const stripped = physical.startsWith(prefix) ? physical.slice(prefix.length) : physical;
      return isInputTopic(stripped) ? stripped : null;
    },
    inputs: INPUT_TOPICS.map((t) => `${prefix}${t}`),
  };
}
