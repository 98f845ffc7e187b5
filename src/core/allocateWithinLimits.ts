import type { TopologyIndex } from './topologyIndex';

/**
 * Gives every EVSE at most its demand (kW, ≥ 0) so that no node's sum exceeds its limit,
 * sharing scarce capacity by water-filling: at each node, children get equal shares,
 * and a child that needs less frees capacity for its siblings. Used as the safe
 * placeholder policy (demand = what each EV could draw) and as the last safety clamp
 * on any planner output (demand = planned kW). Never exceeds a limit, by construction.
 */
export function allocateWithinLimits(
  index: TopologyIndex,
  limitKw: Float64Array,
  demandKw: Float64Array,
  out: Float64Array = new Float64Array(index.evseIds.length),
): Float64Array {
  const n = index.parent.length;
  const { parent, evseNodes } = index;
  // Bottom-up: the most each subtree can use = min(own limit, sum of children's usable).
  const usable = new Float64Array(n);
  for (let e = 0; e < evseNodes.length; e++) usable[evseNodes[e]] = Math.max(0, demandKw[e]);
  const childSum = new Float64Array(n);
  for (let i = n - 1; i >= 0; i--) {
    if (index.isEvseNode[i] === 0) usable[i] = childSum[i];
    usable[i] = Math.min(usable[i], Math.max(0, limitKw[i]));
    if (parent[i] >= 0) childSum[parent[i]] += usable[i];
  }
  // Top-down: each node splits what it was granted among its children by water-filling.
  const granted = new Float64Array(n);
  granted[0] = usable[0];
  const childrenOf = childrenLists(index);
  for (let i = 0; i < n; i++) {
    const kids = childrenOf[i];
    if (kids.length === 0) continue;
    waterFill(kids, usable, granted[i], granted);
  }
  for (let e = 0; e < evseNodes.length; e++) out[e] = granted[evseNodes[e]];
  return out;
}

const childrenCache = new WeakMap<TopologyIndex, number[][]>();

function childrenLists(index: TopologyIndex): number[][] {
  let lists = childrenCache.get(index);
  if (!lists) {
    lists = Array.from({ length: index.parent.length }, () => [] as number[]);
    for (let i = 1; i < index.parent.length; i++) lists[index.parent[i]].push(i);
    childrenCache.set(index, lists);
  }
  return lists;
}

/** Equal shares capped by each child's usable amount; leftovers go to the still-hungry. */
function waterFill(kids: number[], capKw: Float64Array, totalKw: number, out: Float64Array): void {
  const sorted = [...kids].sort((a, b) => capKw[a] - capKw[b]);
  let remaining = Math.max(0, totalKw);
  for (let k = 0; k < sorted.length; k++) {
    const share = remaining / (sorted.length - k);
    const give = Math.min(capKw[sorted[k]], share);
    out[sorted[k]] = give;
    remaining -= give;
  }
}
