import type { PowerVariationMessage } from '../../models/powerVariation';
import type { SetpointMessage } from '../../models/setpoint';
import type { SiteTopology } from '../../models/topology';

/**
 * Independent check (no engine code): for one setpoint set, sum the EVSE limits and
 * discharge limits up the tree and compare with every node's static limit lowered by
 * each DSO variation overlapping the validity window. Returns human-readable violations.
 */
export function setpointViolations(
  topology: SiteTopology,
  set: SetpointMessage[],
  variations: Pick<
    PowerVariationMessage,
    'nodeId' | 'importLimitKw' | 'exportLimitKw' | 'startMs' | 'endMs' | 'mode' | 'guaranteedMinKwPerDevice'
  >[] = [],
): string[] {
  const parentOf = new Map(topology.nodes.map((n) => [n.nodeId, n.parentId]));
  const importSum = new Map<string, number>();
  const exportSum = new Map<string, number>();
  const fallbackSum = new Map<string, number>();
  const evsesBelow = new Map<string, number>();
  for (const n of topology.nodes) {
    if (n.kind !== 'evse') continue;
    for (let id: string | null = n.nodeId; id !== null; id = parentOf.get(id) ?? null)
      evsesBelow.set(id, (evsesBelow.get(id) ?? 0) + 1);
  }
  let fromMs = Number.POSITIVE_INFINITY;
  let toMs = 0;
  for (const message of set) {
    for (const sp of message.evses) {
      fromMs = Math.min(fromMs, sp.validFromMs);
      toMs = Math.max(toMs, sp.validToMs);
      for (let id: string | null = sp.evseId; id !== null; id = parentOf.get(id) ?? null) {
        importSum.set(id, (importSum.get(id) ?? 0) + sp.limitKw);
        exportSum.set(id, (exportSum.get(id) ?? 0) + sp.dischargeLimitKw);
        fallbackSum.set(id, (fallbackSum.get(id) ?? 0) + sp.fallbackLimitKw);
      }
    }
  }
  const problems: string[] = [];
  for (const node of topology.nodes) {
    let importLimit = node.importLimitKw;
    let exportLimit = node.exportLimitKw;
    let lastingImport = node.importLimitKw;
    for (const v of variations) {
      if (v.nodeId !== node.nodeId) continue;
      const floor = (v.guaranteedMinKwPerDevice ?? 0) * (evsesBelow.get(node.nodeId) ?? 0);
      if (v.importLimitKw !== undefined) {
        const requested = v.mode === 'delta' ? node.importLimitKw + v.importLimitKw : v.importLimitKw;
        const limit = Math.min(node.importLimitKw, Math.max(requested, floor, 0));
        if (v.startMs < toMs && v.endMs > fromMs) importLimit = Math.min(importLimit, limit);
        if (v.endMs > fromMs) lastingImport = Math.min(lastingImport, limit);
      }
      if (v.exportLimitKw !== undefined && v.startMs < toMs && v.endMs > fromMs) {
        const requested = v.mode === 'delta' ? node.exportLimitKw + v.exportLimitKw : v.exportLimitKw;
        exportLimit = Math.min(exportLimit, Math.max(0, requested));
      }
    }
    const tol = 1e-6;
    const imp = importSum.get(node.nodeId) ?? 0;
    const exp = exportSum.get(node.nodeId) ?? 0;
    const fb = fallbackSum.get(node.nodeId) ?? 0;
    if (imp > importLimit + tol) problems.push(`${node.nodeId}: import ${imp} kW > ${importLimit} kW`);
    if (exp > exportLimit + tol) problems.push(`${node.nodeId}: export ${exp} kW > ${exportLimit} kW`);
    if (fb > lastingImport + tol) problems.push(`${node.nodeId}: fallback ${fb} kW > ${lastingImport} kW`);
  }
  return problems;
}
