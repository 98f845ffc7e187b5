/**
 * Why a site is decided again, by class. The engine decides at once what something urgent waits
 * for and defers the rest (service mode); a limit change alone is answered by clamping the last
 * plan (comply first), and the optimised plan follows as deferred work.
 */

/**
 * Triggers nothing urgent waits for: the last setpoints stay safe meanwhile (limits only ever
 * tighten through topology, DSO and RM messages, which are decided at once).
 */
export const DEFERRABLE_TRIGGERS: ReadonlySet<string> = new Set([
  'newSite',
  'arrival',
  'departure',
  'evUpdate',
  'prices',
  'timer',
  'restore',
  'replan',
]);

/** Of those, the fleet events that `planner.coalesceMs` gathers into one plan. */
export const COALESCED_TRIGGERS: ReadonlySet<string> = new Set([
  'arrival',
  'departure',
  'evUpdate',
  'prices',
]);

/** Triggers the last plan, clamped, answers safely on its own: the limits changed, nothing else. */
export const LIMIT_TRIGGERS: ReadonlySet<string> = new Set(['dsoVariation', 'demandResponse']);

/**
 * Comply first: the urgent news is limits only (at least one limit change; anything else pending
 * can wait for the optimised plan that follows the clamp).
 */
export function limitNewsOnly(triggers: ReadonlySet<string>): boolean {
  let limit = false;
  for (const t of triggers) {
    if (LIMIT_TRIGGERS.has(t)) limit = true;
    else if (!DEFERRABLE_TRIGGERS.has(t)) return false;
  }
  return limit;
}
