import type { EvseStateMessage } from '../../../models/fleetState';
import { SCHEMA_VERSION } from '../../../models/messageHeader';
import type { Session } from '../../../models/session';
import type { EvseSetpoint, SetpointMessage } from '../../../models/setpoint';

/** Charger + battery efficiency, the same the planner assumes (optimizers/buildPlanningProblem defaults). */
const CHARGE_EFFICIENCY = 0.95;
const DISCHARGE_EFFICIENCY = 0.95;

interface ConnectedEv {
  evseId: string;
  stationId: string;
  session: Session;
  /** Energy into the battery since arrival. */
  storedKwh: number;
  requestedKwh: number;
}

export interface EvSample {
  sessionId: string;
  socPct: number;
}

/**
 * The demo's physical fleet: EVs that follow the setpoints they were last given, fall back
 * to the station's fallback limit when a setpoint expires, stop at a full battery, and
 * report their progress like a CSMS would (ISO 15118-20 remaining energy requests).
 */
export class EvPlant {
  private readonly evs = new Map<string, ConnectedEv>();
  private readonly setpoints = new Map<string, EvseSetpoint>();
  readonly powerKwByEvse = new Map<string, number>();
  private reportCounter = 0;
  deliveredKwh = 0;
  dischargedKwh = 0;
  requestedKwh = 0;
  sessionsSeen = 0;
  expiredSetpointMinutes = 0;
  readonly finished: { sessionId: string; requestedKwh: number; deliveredKwh: number }[] = [];

  constructor(private readonly source: string) {}

  /** Watches the fleet messages the CSMS sends, to know who is plugged in. */
  observeFleetMessage(message: EvseStateMessage): void {
    const previous = this.evs.get(message.evseId);
    if (previous && previous.session.sessionId !== message.session?.sessionId) {
      this.finished.push({
        sessionId: previous.session.sessionId,
        requestedKwh: previous.requestedKwh,
        deliveredKwh: previous.storedKwh,
      });
      this.evs.delete(message.evseId);
      this.powerKwByEvse.set(message.evseId, 0);
    }
    if (message.session && !previous) {
      this.sessionsSeen++;
      this.requestedKwh += message.session.energyTargetKwh;
      this.evs.set(message.evseId, {
        evseId: message.evseId,
        stationId: message.stationId,
        session: { ...message.session },
        storedKwh: 0,
        requestedKwh: message.session.energyTargetKwh,
      });
    }
  }

  applySetpoints(message: SetpointMessage): void {
    for (const sp of message.evses) this.setpoints.set(sp.evseId, sp);
  }

  /** Advances the fleet by `durationMs` at the power each EV draws now; returns site kW. */
  step(nowMs: number, durationMs: number): number {
    const hours = durationMs / 3_600_000;
    let siteKw = 0;
    for (const ev of this.evs.values()) {
      const sp = this.setpoints.get(ev.evseId);
      const valid = sp !== undefined && sp.validFromMs <= nowMs && nowMs < sp.validToMs;
      if (!valid) this.expiredSetpointMinutes += durationMs / 60_000;
      let kw = valid ? sp.setpointKw : Math.min(sp?.fallbackLimitKw ?? 0, ev.session.maxChargeKw);
      const s = ev.session;
      const socKwh = (s.socPct / 100) * s.batteryCapacityKwh;
      const roomKwh = s.batteryCapacityKwh - socKwh;
      const stillWantedKwh = Math.max(0, s.energyMaxKwh);
      if (kw > 0)
        kw = Math.min(kw, s.maxChargeKw, Math.min(roomKwh, stillWantedKwh) / (hours * CHARGE_EFFICIENCY));
      if (kw < 0) {
        const reserveKwh = (s.minSocReservePct / 100) * s.batteryCapacityKwh;
        const availableKwh = Math.max(0, socKwh - reserveKwh);
        kw = -Math.min(-kw, s.maxDischargeKw, (availableKwh * DISCHARGE_EFFICIENCY) / hours);
      }
      const storedKwh = kw >= 0 ? kw * hours * CHARGE_EFFICIENCY : (kw * hours) / DISCHARGE_EFFICIENCY;
      ev.storedKwh += storedKwh;
      s.socPct = Math.min(100, Math.max(0, ((socKwh + storedKwh) / s.batteryCapacityKwh) * 100));
      s.energyTargetKwh = Math.max(0, s.energyTargetKwh - storedKwh);
      s.energyMinKwh = Math.max(0, s.energyMinKwh - storedKwh);
      s.energyMaxKwh = Math.max(0, s.energyMaxKwh - storedKwh);
      // Net energy into the batteries: V2G discharge counts against delivery.
      this.deliveredKwh += storedKwh;
      if (kw < 0) this.dischargedKwh += -kw * hours;
      this.powerKwByEvse.set(ev.evseId, kw);
      siteKw += kw;
    }
    return siteKw;
  }

  /** What the CSMS tells the engine about each connected EV (periodic ISO 15118-20 updates). */
  progressReports(siteId: string, nowMs: number): EvseStateMessage[] {
    return [...this.evs.values()].map((ev) => ({
      messageId: `plant-${siteId}-${++this.reportCounter}`,
      source: this.source,
      siteId,
      tsMs: nowMs,
      schemaVersion: SCHEMA_VERSION,
      kind: 'evseState',
      stationId: ev.stationId,
      evseId: ev.evseId,
      status: 'occupied',
      session: { ...ev.session },
    }));
  }

  socSamples(): EvSample[] {
    return [...this.evs.values()].map((ev) => ({
      sessionId: ev.session.sessionId,
      socPct: ev.session.socPct,
    }));
  }

  /** Sessions still plugged in at the end of the run count as finished there. */
  finishAll(): void {
    for (const ev of this.evs.values()) {
      this.finished.push({
        sessionId: ev.session.sessionId,
        requestedKwh: ev.requestedKwh,
        deliveredKwh: ev.storedKwh,
      });
    }
    this.evs.clear();
  }
}
