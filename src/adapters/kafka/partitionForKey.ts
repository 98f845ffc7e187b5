import { Partitioners, type PartitionMetadata } from 'kafkajs';

const partitioner = Partitioners.DefaultPartitioner();
const metadataByCount = new Map<number, PartitionMetadata[]>();

/**
 * The partition a keyed record lands in with the Java client's default partitioner (murmur2),
 * which kafkajs uses too. Input topics and `state.snapshots` have the same partition count, so a
 * site's snapshot sits in the same partition number as its inputs. Other clients must produce
 * with the same partitioner (kcat: `-X partitioner=murmur2_random`).
 */
export function partitionForKey(key: string, partitionCount: number): number {
  let partitionMetadata = metadataByCount.get(partitionCount);
  if (!partitionMetadata) {
    partitionMetadata = Array.from({ length: partitionCount }, (_, partitionId) => ({
      partitionErrorCode: 0,
      partitionId,
      leader: 0,
      replicas: [0],
      isr: [0],
    }));
    metadataByCount.set(partitionCount, partitionMetadata);
  }
  return partitioner({ topic: '', partitionMetadata, message: { key, value: null } });
}
