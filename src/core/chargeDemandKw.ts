import type { EvseRuntime } from '../../models/stateSnapshot';

/**
 * What an EV could usefully draw now under the safe policy: its max power until its energy
 * target is met, else 0 (topping up to energyMaxKwh is left to the optimizer, which prices it).
 */
export function chargeDemandKw(evse: EvseRuntime, nowMs: number): number {
  const session = evse.session;
  if (!session || evse.status === 'faulted' || evse.status === 'unavailable') return 0;
  if (nowMs >= session.departureMs) return 0;
  if (session.energyTargetKwh <= 1e-6) return 0;
  return session.maxChargeKw;
}
