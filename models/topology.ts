import { z } from 'zod';

/**
 * Site topology as a flat tree: site → zones → stations → EVSEs. Every node has
 * static import and export limits in kW (export = power fed back to the grid,
 * a non-negative magnitude). Time-varying limits come from DSO power variations.
 */
export const nodeKindSchema = z.enum(['site', 'zone', 'station', 'evse']);
export type NodeKind = z.infer<typeof nodeKindSchema>;

export const topologyNodeSchema = z.object({
  nodeId: z.string().min(1),
  kind: nodeKindSchema,
  parentId: z.string().min(1).nullable(),
  importLimitKw: z.number().nonnegative(),
  exportLimitKw: z.number().nonnegative(),
  /** EVSEs only: whether the EVSE hardware can discharge (ISO 15118-20 BPT). */
  v2gCapable: z.boolean().optional(),
});
export type TopologyNode = z.infer<typeof topologyNodeSchema>;

export const siteTopologySchema = z.object({
  siteId: z.string().min(1),
  nodes: z.array(topologyNodeSchema).min(1),
});
export type SiteTopology = z.infer<typeof siteTopologySchema>;

/** Structural checks a schema cannot express: one site root, parents exist, EVSEs under stations. */
export function topologyProblems(topology: SiteTopology): string[] {
  const problems: string[] = [];
  const byId = new Map<string, TopologyNode>();
  for (const node of topology.nodes) {
    if (byId.has(node.nodeId)) problems.push(`duplicate node ${node.nodeId}`);
    byId.set(node.nodeId, node);
  }
  const roots = topology.nodes.filter((n) => n.parentId === null);
  if (roots.length !== 1 || roots[0].kind !== 'site')
    problems.push('exactly one root of kind site is required');
  for (const node of topology.nodes) {
    if (node.parentId === null) continue;
    const parent = byId.get(node.parentId);
    if (!parent) problems.push(`node ${node.nodeId} has unknown parent ${node.parentId}`);
    else if (node.kind === 'evse' && parent.kind !== 'station')
      problems.push(`evse ${node.nodeId} must hang under a station`);
    else if (parent.kind === 'evse') problems.push(`evse ${parent.nodeId} cannot have children`);
  }
  return problems;
}
