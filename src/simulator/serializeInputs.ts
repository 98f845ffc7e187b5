import type { ErrorCode } from '../../models/errorCode';
import type { InputTopic } from '../../models/topics';
import type { BadInput } from './badInputs';
import type { SimulatedInput } from './simulateDay';

/** A record ready for a bus: the value is the JSON text. Bad ones say which code they must get. */
export interface RawSimulatedInput {
  atMs: number;
  topic: InputTopic;
  key: string | null;
  value: string;
  expectedCode?: ErrorCode;
}

/**
 * Serialises the simulated messages and merges bad inputs in by time. On equal times good
 * inputs go first, so a duplicate always follows its original.
 */
export function serializeInputs(
  inputs: readonly SimulatedInput[],
  bad: readonly BadInput[] = [],
): RawSimulatedInput[] {
  const out: RawSimulatedInput[] = new Array(inputs.length + bad.length);
  const sortedBad = [...bad].sort((a, b) => a.atMs - b.atMs);
  let i = 0;
  let j = 0;
  let k = 0;
  while (i < inputs.length || j < sortedBad.length) {
    if (j >= sortedBad.length || (i < inputs.length && inputs[i].atMs <= sortedBad[j].atMs)) {
      const input = inputs[i++];
      out[k++] = {
        atMs: input.atMs,
        topic: input.topic,
        key: input.key,
        value: JSON.stringify(input.message),
      };
    } else {
      const b = sortedBad[j++];
      out[k++] = { atMs: b.atMs, topic: b.topic, key: b.key, value: b.value, expectedCode: b.expectedCode };
    }
  }
  return out;
}
