import type { SiteState } from '../../models/stateSnapshot';
import type { TopologyIndex } from './topologyIndex';

/**
 * Spreads a site-level power change over the EVs, on top of the planned kW per EVSE:
 * a reduction first lowers charging EVs in proportion to their power, then discharges
 * V2G EVs; an increase raises charging in proportion to each EV's remaining headroom.
 * Returns the new per-EVSE kW (the caller clamps it into the node limits).
 */
export function applyFrequencyResponse(
  index: TopologyIndex,
  state: SiteState,
  plannedKw: Float64Array,
  responseKw: number,
): Float64Array {
  const out = Float64Array.from(plannedKw);
  if (responseKw === 0) return out;
  const n = out.length;
  if (responseKw < 0) {
    let needKw = -responseKw;
    let chargingKw = 0;
    for (let e = 0; e < n; e++) if (out[e] > 0) chargingKw += out[e];
    const cut = Math.min(needKw, chargingKw);
    if (chargingKw > 0) for (let e = 0; e < n; e++) if (out[e] > 0) out[e] -= (cut * out[e]) / chargingKw;
    needKw -= cut;
    if (needKw <= 1e-9) return out;
    let dischargeRoomKw = 0;
    const room = new Float64Array(n);
    for (let e = 0; e < n; e++) {
      const s = state.evses[e].session;
      if (!s?.v2gAllowed || index.v2gCapable[e] !== 1) continue;
      room[e] = Math.max(0, s.maxDischargeKw + Math.min(0, out[e]));
      dischargeRoomKw += room[e];
    }
    const extra = Math.min(needKw, dischargeRoomKw);
    if (dischargeRoomKw > 0) for (let e = 0; e < n; e++) out[e] -= (extra * room[e]) / dischargeRoomKw;
    return out;
  }
  let headroomKw = 0;
  const room = new Float64Array(n);
  for (let e = 0; e < n; e++) {
    const s = state.evses[e].session;
    if (!s || s.energyMaxKwh <= 1e-6) continue;
    room[e] = Math.max(0, s.maxChargeKw - out[e]);
    headroomKw += room[e];
  }
  const add = Math.min(responseKw, headroomKw);
  if (headroomKw > 0) for (let e = 0; e < n; e++) out[e] += (add * room[e]) / headroomKw;
  return out;
}
