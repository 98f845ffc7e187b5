import { AssignerProtocol, type Cluster, type Logger } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { coPartitionedAssigner } from '../../../src/adapters/kafka/coPartitionedAssigner';

const aCluster = (partitionsByTopic: Record<string, number>) =>
  ({
    findTopicPartitionMetadata: (topic: string) =>
      Array.from({ length: partitionsByTopic[topic] ?? 0 }, (_, partitionId) => ({ partitionId })),
  }) as unknown as Cluster;

const members = (...ids: string[]) => ids.map((memberId) => ({ memberId, memberMetadata: Buffer.alloc(0) }));

async function plan(partitionsByTopic: Record<string, number>, memberIds: string[]) {
  const assigner = coPartitionedAssigner({
    cluster: aCluster(partitionsByTopic),
    groupId: 'g',
    logger: {} as Logger,
  });
  const result = await assigner.assign({
    members: members(...memberIds),
    topics: Object.keys(partitionsByTopic),
  });
  return new Map(
    result.map((r) => [r.memberId, AssignerProtocol.MemberAssignment.decode(r.memberAssignment)?.assignment]),
  );
}

describe('coPartitionedAssigner', () => {
  it('gives each member the same partition numbers on every input topic', async () => {
    const byMember = await plan({ 'fleet.state': 6, 'dso.power-variation': 6, 'grid.frequency': 6 }, [
      'b',
      'a',
    ]);
    expect(byMember.get('a')).toEqual({
      'fleet.state': [0, 2, 4],
      'dso.power-variation': [0, 2, 4],
      'grid.frequency': [0, 2, 4],
    });
    expect(byMember.get('b')).toEqual({
      'fleet.state': [1, 3, 5],
      'dso.power-variation': [1, 3, 5],
      'grid.frequency': [1, 3, 5],
    });
  });

  it('covers every partition exactly once, also with more members than partitions', async () => {
    const byMember = await plan({ 'fleet.state': 2, 'rm.signals': 2 }, ['m1', 'm2', 'm3']);
    const owners = new Map<string, string[]>();
    for (const [member, assignment] of byMember) {
      for (const [topic, partitions] of Object.entries(assignment ?? {})) {
        for (const p of partitions)
          owners.set(`${topic}/${p}`, [...(owners.get(`${topic}/${p}`) ?? []), member]);
      }
    }
    expect([...owners.keys()].sort()).toEqual([
      'fleet.state/0',
      'fleet.state/1',
      'rm.signals/0',
      'rm.signals/1',
    ]);
    for (const list of owners.values()) expect(list).toHaveLength(1);
    expect(byMember.get('m3')).toEqual({});
  });
});
