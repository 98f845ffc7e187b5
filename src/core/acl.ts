import type { AclEntry } from '../config/configSchema';

export type AclVerdict = 'allowed' | 'unknown-site' | 'unauthorized';

/**
 * Who may send what for which site. A site no entry covers is unknown; a site that is
 * covered but not for this source and topic is unauthorized. "*" matches anything.
 */
export function checkAcl(
  acl: readonly AclEntry[],
  siteId: string,
  topic: string,
  source: string,
): AclVerdict {
  let siteCovered = false;
  for (const entry of acl) {
    if (entry.siteId !== '*' && entry.siteId !== siteId) continue;
    siteCovered = true;
    if (entry.topic !== '*' && entry.topic !== topic) continue;
    if (entry.sources.includes('*') || entry.sources.includes(source)) return 'allowed';
  }
  return siteCovered ? 'unauthorized' : 'unknown-site';
}
