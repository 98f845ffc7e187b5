import { evseKey } from './evseKey';
import { holdSeries, type TimedValue } from './holdSeries';

export interface SessionRecord {
  siteId: string;
  sessionId: string;
  evseId: string;
  arrivalMs: number;
  departureMs: number;
  /** Energy the EV asked for when first seen (ISO 15118-20 target, kWh). */
  requestedKwh: number;
  /** The session was last reported at this time (it may leave before `departureMs`). */
  lastSeenMs: number;
}

export interface SessionEnergy extends SessionRecord {
  /** Window the energy was integrated over. */
  fromMs: number;
  toMs: number;
  deliveredKwh: number;
  /** delivered / requested (1 when nothing was requested). */
  fulfilment: number;
  shortfallKwh: number;
}

const MS_PER_HOUR = 3_600_000;

/**
 * Energy delivered per session: the EVSE's measured power integrated from arrival to
 * departure, cut short where the next session on the same EVSE begins, so an EV that leaves
 * early does not inherit its successor's energy.
 */
export function evaluateSessionEnergy(
  sessions: readonly SessionRecord[],
  evsePower: ReadonlyMap<string, readonly TimedValue[]>,
  opts: { stepMs: number; maxHoldMs: number; rangeFromMs: number; rangeToMs: number },
): SessionEnergy[] {
  const byEvse = new Map<string, SessionRecord[]>();
  for (const s of sessions) {
    const key = evseKey(s.siteId, s.evseId);
    const list = byEvse.get(key) ?? [];
    list.push(s);
    byEvse.set(key, list);
  }
  const out: SessionEnergy[] = [];
  for (const [key, list] of byEvse) {
    list.sort((a, b) => a.arrivalMs - b.arrivalMs);
    const samples = evsePower.get(key) ?? [];
    list.forEach((s, i) => {
      const next = list[i + 1];
      const fromMs = Math.max(s.arrivalMs, opts.rangeFromMs);
      const endMs = Math.min(s.departureMs, next ? next.arrivalMs : Number.POSITIVE_INFINITY, opts.rangeToMs);
      // Align to the bucket grid the power was aggregated on.
      const gridFromMs = Math.floor(fromMs / opts.stepMs) * opts.stepMs;
      const series = holdSeries(
        samples,
        gridFromMs,
        Math.max(gridFromMs, endMs),
        opts.stepMs,
        opts.maxHoldMs,
      );
      let deliveredKwh = 0;
      // Net energy: V2G discharge during the session counts against what the EV received.
      for (const kw of series) if (Number.isFinite(kw)) deliveredKwh += (kw * opts.stepMs) / MS_PER_HOUR;
      out.push({
        ...s,
        fromMs,
        toMs: endMs,
        deliveredKwh,
        fulfilment: s.requestedKwh > 0 ? deliveredKwh / s.requestedKwh : 1,
        shortfallKwh: Math.max(0, s.requestedKwh - deliveredKwh),
      });
    });
  }
  return out.sort((a, b) => a.siteId.localeCompare(b.siteId) || a.arrivalMs - b.arrivalMs);
}
