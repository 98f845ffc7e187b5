import type { SiteTopology } from '../../models/topology';

/**
 * Array form of a site tree for the hot path: nodes in parent-before-child order, so a
 * forward loop visits ancestors first and a backward loop aggregates children first.
 */
export interface TopologyIndex {
  siteId: string;
  nodeIds: string[];
  nodeIndexById: Map<string, number>;
  /** Parent index per node, -1 for the site root (index 0). */
  parent: Int32Array;
  staticImportKw: Float64Array;
  staticExportKw: Float64Array;
  /** Node indices of the EVSEs, in topology order. */
  evseNodes: Int32Array;
  evseIds: string[];
  evseIndexById: Map<string, number>;
  stationIdOfEvse: string[];
  v2gCapable: Uint8Array;
  /** 1 where the node is an EVSE. */
  isEvseNode: Uint8Array;
  /** Number of EVSEs below each node (for §14a guaranteed minimums). */
  evseCountBelow: Int32Array;
  stationIds: string[];
}

export function buildTopologyIndex(topology: SiteTopology): TopologyIndex {
  const children = new Map<string | null, string[]>();
  const byId = new Map(topology.nodes.map((n) => [n.nodeId, n]));
  for (const node of topology.nodes) {
    const list = children.get(node.parentId) ?? [];
    list.push(node.nodeId);
    children.set(node.parentId, list);
  }
  const order: string[] = [];
  const queue = [...(children.get(null) ?? [])];
  while (queue.length > 0) {
    const id = queue.shift()!;
    order.push(id);
    queue.push(...(children.get(id) ?? []));
  }
  const n = order.length;
  const nodeIndexById = new Map(order.map((id, i) => [id, i]));
  const parent = new Int32Array(n);
  const staticImportKw = new Float64Array(n);
  const staticExportKw = new Float64Array(n);
  const evseNodeList: number[] = [];
  const evseIds: string[] = [];
  const stationIdOfEvse: string[] = [];
  const v2g: number[] = [];
  const stationIds: string[] = [];
  for (let i = 0; i < n; i++) {
    const node = byId.get(order[i])!;
    parent[i] = node.parentId === null ? -1 : nodeIndexById.get(node.parentId)!;
    staticImportKw[i] = node.importLimitKw;
    staticExportKw[i] = node.exportLimitKw;
    if (node.kind === 'station') stationIds.push(node.nodeId);
    if (node.kind === 'evse') {
      evseNodeList.push(i);
      evseIds.push(node.nodeId);
      stationIdOfEvse.push(node.parentId!);
      v2g.push(node.v2gCapable ? 1 : 0);
    }
  }
  const isEvseNode = new Uint8Array(n);
  for (const e of evseNodeList) isEvseNode[e] = 1;
  const evseCountBelow = new Int32Array(n);
  for (const e of evseNodeList) {
    for (let a = e; a >= 0; a = parent[a]) evseCountBelow[a]++;
  }
  return {
    siteId: topology.siteId,
    nodeIds: order,
    nodeIndexById,
    parent,
    staticImportKw,
    staticExportKw,
    evseNodes: Int32Array.from(evseNodeList),
    evseIds,
    evseIndexById: new Map(evseIds.map((id, i) => [id, i])),
    stationIdOfEvse,
    v2gCapable: Uint8Array.from(v2g),
    isEvseNode,
    evseCountBelow,
    stationIds,
  };
}
