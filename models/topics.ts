import type { z } from 'zod';
import { ackMessageSchema } from './ack';
import { deadLetterMessageSchema } from './deadLetter';
import { fleetStateMessageSchema } from './fleetState';
import { flexEnvelopeMessageSchema } from './flexEnvelope';
import { frequencyMessageSchema } from './frequency';
import { meterValuesMessageSchema } from './meterValues';
import { powerVariationMessageSchema } from './powerVariation';
import { rmSignalMessageSchema } from './rmSignal';
import { setpointMessageSchema } from './setpoint';
import { stateSnapshotMessageSchema } from './stateSnapshot';

/** Logical topic names (DESIGN §4); the physical name is `${prefix}${name}`. */
export const INPUT_TOPICS = [
  'fleet.state',
  'fleet.meter',
  'grid.frequency',
  'dso.power-variation',
  'rm.signals',
] as const;
export const OUTPUT_TOPICS = [
  'setpoints',
  'acks',
  'flex.envelopes',
  'state.snapshots',
  'deadletter',
] as const;
export type InputTopic = (typeof INPUT_TOPICS)[number];
export type OutputTopic = (typeof OUTPUT_TOPICS)[number];
export type TopicName = InputTopic | OutputTopic;

export const topicSchemas = {
  'fleet.state': fleetStateMessageSchema,
  'fleet.meter': meterValuesMessageSchema,
  'grid.frequency': frequencyMessageSchema,
  'dso.power-variation': powerVariationMessageSchema,
  'rm.signals': rmSignalMessageSchema,
  setpoints: setpointMessageSchema,
  acks: ackMessageSchema,
  'flex.envelopes': flexEnvelopeMessageSchema,
  'state.snapshots': stateSnapshotMessageSchema,
  deadletter: deadLetterMessageSchema,
} satisfies Record<TopicName, z.ZodType>;

export type InputMessage<T extends InputTopic = InputTopic> = z.infer<(typeof topicSchemas)[T]>;

export function isInputTopic(name: string): name is InputTopic {
  return (INPUT_TOPICS as readonly string[]).includes(name);
}
