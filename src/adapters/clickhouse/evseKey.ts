/** Key of per-meter maps: EVSE ids are only unique within a site. */
export function evseKey(siteId: string, evseId: string): string {
  return `${siteId}\u0000${evseId}`;
}
