import { AssignerProtocol, type PartitionAssigner } from 'kafkajs';

/**
 * Gives partition number p of every subscribed topic to the same member, so all inputs of a
 * site (fleet state, DSO, RM, frequency, meter) land on one instance: the single writer for
 * that site. kafkajs's round-robin assigner spreads topic-partitions independently and would
 * split a site's inputs across instances. Members are sorted by id so every leader computes
 * the same plan; partition numbers are dealt out round-robin.
 */
export const coPartitionedAssigner: PartitionAssigner = ({ cluster }) => ({
  name: 'EvflexCoPartitioned',
  version: 1,
  async assign({ members, topics }) {
    const memberIds = members.map((m) => m.memberId).sort();
    const partitionCountByTopic = new Map<string, number>();
    let maxPartitions = 0;
    for (const topic of topics) {
      const count = cluster.findTopicPartitionMetadata(topic).length;
      partitionCountByTopic.set(topic, count);
      maxPartitions = Math.max(maxPartitions, count);
    }
    const plan = new Map<string, Record<string, number[]>>(memberIds.map((id) => [id, {}]));
    for (let partition = 0; partition < maxPartitions; partition++) {
      const memberId = memberIds[partition % memberIds.length] as string;
      const assignment = plan.get(memberId) as Record<string, number[]>;
      for (const topic of topics) {
        if (partition >= (partitionCountByTopic.get(topic) ?? 0)) continue;
        assignment[topic] ??= [];
        assignment[topic].push(partition);
      }
    }
    return memberIds.map((memberId) => ({
      memberId,
      memberAssignment: AssignerProtocol.MemberAssignment.encode({
        version: 1,
        assignment: plan.get(memberId) ?? {},
        userData: Buffer.alloc(0),
      }),
    }));
  },
  protocol({ topics }) {
    return {
      name: 'EvflexCoPartitioned',
      metadata: AssignerProtocol.MemberMetadata.encode({ version: 1, topics, userData: Buffer.alloc(0) }),
    };
  },
});
