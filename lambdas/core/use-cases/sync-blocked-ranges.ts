import {
  type ClientRangeFirewall,
  firewallRangesOf,
  IP_FAMILIES,
  type IpFamily,
} from '../client-range-firewall.js';
import type { BlockStore, Clock, Logger } from '../ports.js';

export interface BlockedRangesReport {
  ipv4: number;
  ipv6: number;
  /** The IP sets that had to change. */
  updated: IpFamily[];
  left_out: { value: string; why: string }[];
}

/**
 * Makes the front door's IP sets hold exactly the client ranges blocked now: a new block is
 * added, an unblocked or expired one removed. Run after each block or unblock (the operator
 * command) and on a schedule (expiry needs no person), so the two never stay apart for long.
 * Each set is replaced whole, so running it again, or twice at once, converges.
 */
export async function syncBlockedRanges(deps: {
  blocks: Pick<BlockStore, 'list'>;
  firewall: ClientRangeFirewall;
  clock: Clock;
  log: Logger;
}): Promise<BlockedRangesReport> {
  const ranges = firewallRangesOf(await deps.blocks.list(), deps.clock.now());
  const updated: IpFamily[] = [];
  for (const family of IP_FAMILIES) {
    if ((await deps.firewall.replace(family, ranges[family])) === 'updated') updated.push(family);
  }
  const report = {
    ipv4: ranges.ipv4.length,
    ipv6: ranges.ipv6.length,
    updated,
    left_out: ranges.left_out,
  };
  if (ranges.left_out.length) deps.log.error('blocked_ranges.left_out', { ...report });
  else if (updated.length) deps.log.info('blocked_ranges.synced', { ...report });
  return report;
}
