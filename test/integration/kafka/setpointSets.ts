import type { SetpointMessage } from '../../../models/setpoint';
import type { ReceivedRecord } from './kafkaTestKit';

/** Setpoint messages grouped into the complete sets a CSMS would apply (setSize reached). */
export function completeSetpointSets(records: ReceivedRecord[]): Map<string, SetpointMessage[]> {
  const sets = new Map<string, SetpointMessage[]>();
  for (const r of records) {
    const m = JSON.parse(r.value) as SetpointMessage;
    const list = sets.get(m.setId) ?? [];
    list.push(m);
    sets.set(m.setId, list);
  }
  for (const [id, list] of sets) if (list.length < (list[0]?.setSize ?? 0)) sets.delete(id);
  return sets;
}

export function setpointsOf(records: ReceivedRecord[]): SetpointMessage[] {
  return records.map((r) => JSON.parse(r.value) as SetpointMessage);
}
