import type { EvseRuntime } from '../../models/stateSnapshot';

/** What an EV could usefully draw now: its max power while energy is still wanted, else 0. */
export function chargeDemandKw(evse: EvseRuntime, nowMs: number): number {
  const session = evse.session;
  if (!session || evse.status === 'faulted' || evse.status === 'unavailable') return 0;
  if (nowMs >= session.departureMs) return 0;
  if (session.energyMaxKwh <= 1e-9 && session.energyTargetKwh <= 1e-9) return 0;
  return session.maxChargeKw;
}
