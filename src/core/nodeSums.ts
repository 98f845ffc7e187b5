import type { TopologyIndex } from './topologyIndex';

/** Sum of per-EVSE values at every node of the tree (children-first accumulation). */
export function nodeSums(
  index: TopologyIndex,
  evseValues: ArrayLike<number>,
  out?: Float64Array,
): Float64Array {
  const sums = out ?? new Float64Array(index.parent.length);
  sums.fill(0);
  for (let e = 0; e < index.evseNodes.length; e++) sums[index.evseNodes[e]] = evseValues[e];
  for (let i = index.parent.length - 1; i > 0; i--) sums[index.parent[i]] += sums[i];
  return sums;
}
