import type { Session } from '../../models/session';
import type { Rng } from './rng';
import type { SimulatedEvse } from './simulatedTopology';

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;
/** Shortest stay we simulate; also the latest an EV may arrive before the end of the run. */
const MIN_DWELL_MS = 2 * HOUR_MS;
/** A bay is free for a while after an EV leaves before the next one plugs in. */
const TURNAROUND_MS = 10 * MINUTE_MS;

export interface SimulatedSession {
  evseId: string;
  stationId: string;
  session: Session;
}

/** A way of using the site: when cars come, how long they stay, how likely it is per bay and day. */
interface VisitPattern {
  name: 'overnight' | 'commuter' | 'midday' | 'evening';
  probability: number;
  arrivalHour: (rng: Rng) => number;
  dwellHours: (rng: Rng) => number;
}

const PATTERNS: VisitPattern[] = [
  // Fleet or resident cars still plugged in from the previous evening.
  {
    name: 'overnight',
    probability: 0.12,
    arrivalHour: () => 0,
    dwellHours: (r) => clamp(r.normal(7, 0.75), 2, 9),
  },
  // Workplace commuters: the morning peak.
  {
    name: 'commuter',
    probability: 0.88,
    arrivalHour: (r) => clamp(r.normal(8, 0.85), 5.5, 11),
    dwellHours: (r) => clamp(r.normal(8.5, 1.2), 2, 10),
  },
  {
    name: 'midday',
    probability: 0.35,
    arrivalHour: (r) => clamp(r.normal(12.5, 1.5), 10, 15.5),
    dwellHours: (r) => clamp(r.normal(3, 1), 2, 5),
  },
  // Residents coming home: the evening peak.
  {
    name: 'evening',
    probability: 0.7,
    arrivalHour: (r) => clamp(r.normal(18, 0.9), 15.5, 21.5),
    dwellHours: (r) => clamp(r.normal(6, 2), 2, 10),
  },
];

const BATTERY_KWH: readonly (readonly [number, number])[] = [
  [40, 0.12],
  [50, 0.14],
  [58, 0.16],
  [64, 0.14],
  [77, 0.2],
  [82, 0.12],
  [100, 0.12],
];
/** On-board AC charger ratings: single-phase 7.4 kW, three-phase 11 or 22 kW. */
const ONBOARD_AC_KW: readonly (readonly [number, number])[] = [
  [7.4, 0.2],
  [11, 0.6],
  [22, 0.2],
];

/**
 * Sessions per EVSE for every day touched by [startMs, endMs): candidate visits from the
 * patterns above, kept when they do not overlap the previous one. Departures are capped at
 * `endMs` so every session of the run also ends in it, which keeps "requested vs delivered"
 * meaningful for the demo.
 */
export function simulateSessions(
  rng: Rng,
  evses: readonly SimulatedEvse[],
  opts: { siteId: string; startMs: number; endMs: number },
): SimulatedSession[] {
  const { startMs, endMs } = opts;
  const out: SimulatedSession[] = [];
  let sequence = 0;
  for (const evse of evses) {
    const visits: { arrivalMs: number; departureMs: number }[] = [];
    for (let dayMs = Math.floor(startMs / DAY_MS) * DAY_MS; dayMs < endMs; dayMs += DAY_MS) {
      for (const pattern of PATTERNS) {
        // Draw every value even when unused so one pattern's choice does not shift the others.
        const present = rng.chance(pattern.probability);
        const arrivalHour = pattern.arrivalHour(rng);
        const dwellHours = pattern.dwellHours(rng);
        if (!present) continue;
        // An overnight car is only "already there" at the very start of the run.
        const arrivalMs =
          pattern.name === 'overnight'
            ? dayMs <= startMs
              ? startMs
              : Number.NaN
            : toSecond(dayMs + arrivalHour * HOUR_MS);
        if (!(arrivalMs >= startMs && arrivalMs <= endMs - MIN_DWELL_MS)) continue;
        const departureBaseMs = pattern.name === 'overnight' ? dayMs : arrivalMs;
        const departureMs = Math.min(endMs, toSecond(departureBaseMs + dwellHours * HOUR_MS));
        if (departureMs - arrivalMs < MIN_DWELL_MS) continue;
        visits.push({ arrivalMs, departureMs });
      }
    }
    visits.sort((a, b) => a.arrivalMs - b.arrivalMs);
    let freeFromMs = Number.NEGATIVE_INFINITY;
    for (const visit of visits) {
      if (visit.arrivalMs < freeFromMs) continue;
      freeFromMs = visit.departureMs + TURNAROUND_MS;
      sequence++;
      out.push({
        evseId: evse.evseId,
        stationId: evse.stationId,
        session: simulateEv(rng, evse, visit, `${opts.siteId}-S${String(sequence).padStart(4, '0')}`),
      });
    }
  }
  return out;
}

function simulateEv(
  rng: Rng,
  evse: SimulatedEvse,
  visit: { arrivalMs: number; departureMs: number },
  sessionId: string,
): Session {
  const batteryCapacityKwh = rng.weighted(BATTERY_KWH);
  const onboardAcKw = rng.weighted(ONBOARD_AC_KW);
  const dcMaxKw = rng.pick([50, 75, 100, 150]);
  const maxChargeKw =
    evse.kind === 'dc50' ? Math.min(evse.ratedKw, dcMaxKw) : Math.min(evse.ratedKw, onboardAcKw);
  // IEC 61851 minimum of 6 A: 4.2 kW on three phases, 1.4 kW on one; DC has no floor.
  const minChargeKw = evse.kind === 'dc50' ? 0 : onboardAcKw < 11 ? 1.4 : 4.2;
  const socPct = round(clamp(rng.normal(42, 18), 5, 90), 1);
  const desiredKwh = clamp(rng.normal(22, 9), 5, 40);
  const dwellHours = (visit.departureMs - visit.arrivalMs) / HOUR_MS;
  const roomKwh = (batteryCapacityKwh * (100 - socPct)) / 100;
  // What the car can physically take in this stay; the target leaves some slack for sharing.
  // Rounded down to 10 Wh so rounding never asks for more than the battery can take.
  const energyMaxKwh = floor2(Math.min(roomKwh, dwellHours * maxChargeKw));
  const energyTargetKwh = floor2(Math.min(desiredKwh, roomKwh, 0.85 * dwellHours * maxChargeKw));
  const energyMinKwh = floor2(
    Math.min(energyTargetKwh, Math.max(0, (batteryCapacityKwh * (30 - socPct)) / 100)),
  );

  const evCanDischarge = evse.v2gCapable && rng.chance(0.75);
  const contractAllowsV2g = rng.chance(0.85);
  const evDischargeKw = evse.kind === 'dc50' ? rng.pick([25, 40, 50]) : 11;
  const minSocReservePct = rng.pick([20, 25, 30, 40]);
  const dynamic = rng.chance(0.1);
  return {
    sessionId,
    arrivalMs: visit.arrivalMs,
    departureMs: visit.departureMs,
    energyTargetKwh,
    energyMinKwh,
    energyMaxKwh: Math.max(energyMaxKwh, energyTargetKwh),
    socPct,
    batteryCapacityKwh,
    maxChargeKw,
    minChargeKw: Math.min(minChargeKw, maxChargeKw),
    maxDischargeKw: evCanDischarge ? Math.min(evse.maxDischargeKw, evDischargeKw) : 0,
    v2gAllowed: evCanDischarge && contractAllowsV2g,
    minSocReservePct: evCanDischarge ? minSocReservePct : 20,
    controlMode: dynamic ? 'dynamic' : 'scheduled',
  };
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}

function round(value: number, decimals: number): number {
  const f = 10 ** decimals;
  return Math.round(value * f) / f;
}

function floor2(value: number): number {
  return Math.floor(value * 100 + 1e-9) / 100;
}

function toSecond(ms: number): number {
  return Math.round(ms / 1000) * 1000;
}
