import { variedLimitKw } from '../../models/powerVariation';
import type { SiteState } from '../../models/stateSnapshot';
import type { TopologyIndex } from './topologyIndex';

export interface NodeLimits {
  importKw: Float64Array;
  exportKw: Float64Array;
}

/**
 * The tightest import/export limit of every node over [fromMs, toMs): static limits,
 * lowered by every DSO power variation and demand-response cap that overlaps the window.
 * A setpoint valid over the whole window therefore obeys a limit that starts inside it.
 * A DSO's guaranteed minimum per device (§14a EnWG) keeps a floor, never above the static limit.
 */
export function effectiveNodeLimits(
  state: SiteState,
  index: TopologyIndex,
  fromMs: number,
  toMs: number,
  out: NodeLimits = {
    importKw: new Float64Array(index.parent.length),
    exportKw: new Float64Array(index.parent.length),
  },
): NodeLimits {
  out.importKw.set(index.staticImportKw);
  out.exportKw.set(index.staticExportKw);
  for (const v of state.variations) {
    if (v.endMs <= fromMs || v.startMs >= toMs) continue;
    const node = index.nodeIndexById.get(v.nodeId);
    if (node === undefined) continue;
    const devices = index.evseCountBelow[node];
    const importKw = variedLimitKw(v, 'import', index.staticImportKw[node], devices);
    const exportKw = variedLimitKw(v, 'export', index.staticExportKw[node], devices);
    if (importKw !== undefined) out.importKw[node] = Math.min(out.importKw[node], importKw);
    if (exportKw !== undefined) out.exportKw[node] = Math.min(out.exportKw[node], exportKw);
  }
  for (const dr of state.demandResponses) {
    if (dr.endMs <= fromMs || dr.startMs >= toMs) continue;
    const node = index.nodeIndexById.get(dr.nodeId);
    if (node !== undefined) out.importKw[node] = Math.min(out.importKw[node], dr.capKw);
  }
  return out;
}
