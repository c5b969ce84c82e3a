import { type BlockRecord, isInForce, parseCidr } from './blocks.js';

/**
 * Client-range blocks copied into the front door's WAF, so that a blocked range is refused at
 * the edge (every request, not only orders). WAF keeps IPv4 and IPv6 ranges in separate IP
 * sets (each set has one `IPAddressVersion`, IPV4 or IPV6: CloudFormation's
 * AWS::WAFv2::IPSet), and "An IP set can hold up to 10,000 IP
 * addresses or IP address ranges to check"; "AWS WAF supports all IPv4 and IPv6 CIDR ranges
 * except for /0" (AWS WAF developer guide, "IP set match rule statement").
 */
export const IP_FAMILIES = ['ipv4', 'ipv6'] as const;
export type IpFamily = (typeof IP_FAMILIES)[number];
export const WAF_IP_SET_CAPACITY = 10_000;

/** The front door's IP sets: each replaced whole by the ranges it must hold. */
export interface ClientRangeFirewall {
  /** Makes the family's set hold exactly these ranges; `unchanged` when it already did. */
  replace(family: IpFamily, ranges: readonly string[]): Promise<'updated' | 'unchanged'>;
}

export interface FirewallRanges {
  ipv4: string[];
  ipv6: string[];
  /** Blocks in force the WAF cannot hold (the API still refuses their orders). */
  left_out: { value: string; why: string }[];
}

function ipv4Network(address: string, prefix: number): string {
  const value = address.split('.').reduce((sum, octet) => sum * 256 + Number(octet), 0);
  const size = 2 ** (32 - prefix);
  const network = Math.floor(value / size) * size;
  return [24, 16, 8, 0].map((shift) => Math.floor(network / 2 ** shift) % 256).join('.');
}

/** The eight 16-bit groups of an IPv6 address (with `::` and a dotted IPv4 tail expanded). */
function ipv6Groups(address: string): number[] | undefined {
  let text = address;
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail, ...more] = text.split('::');
  if (more.length) return undefined;
  const part = (side: string) => (side ? side.split(':').map((group) => parseInt(group, 16)) : []);
  const left = part(head);
  const right = part(tail ?? '');
  const missing = 8 - left.length - right.length;
  if (tail === undefined ? missing !== 0 : missing < 1) return undefined;
  return [...left, ...Array(tail === undefined ? 0 : missing).fill(0), ...right];
}

function ipv6Network(address: string, prefix: number): string | undefined {
  const groups = ipv6Groups(address);
  if (!groups) return undefined;
  const masked = groups.map((group, index) => {
    const bits = Math.min(16, Math.max(0, prefix - index * 16));
    return bits === 0 ? 0 : group & (0xffff << (16 - bits)) & 0xffff;
  });
  return masked.map((group) => group.toString(16)).join(':');
}

/**
 * The range in the one spelling the IP sets hold: the network address (host bits cleared, so
 * `198.51.100.7/24` is `198.51.100.0/24`) and its prefix; IPv6 as eight lowercase groups.
 */
export function firewallCidr(
  value: string,
): { ok: true; family: IpFamily; cidr: string } | { ok: false; why: string } {
  const range = parseCidr(value);
  if (!range.ok) return { ok: false, why: range.reason };
  if (range.prefix === 0) return { ok: false, why: 'AWS WAF takes no /0 range' };
  const network =
    range.family === 'ipv4'
      ? ipv4Network(range.address, range.prefix)
      : ipv6Network(range.address, range.prefix);
  if (!network) return { ok: false, why: `${value} is not an address WAF can hold` };
  return { ok: true, family: range.family, cidr: `${network}/${range.prefix}` };
}

/**
 * The ranges each IP set must hold now: the client-range blocks in force (an expired one leaves
 * at once, whatever the table's TTL has not deleted yet), without duplicates. Past a set's
 * capacity the most recent blocks are kept and the rest reported as left out.
 */
export function firewallRangesOf(blocks: readonly BlockRecord[], now: Date): FirewallRanges {
  const ranges: FirewallRanges = { ipv4: [], ipv6: [], left_out: [] };
  const newestFirst = blocks
    .filter((block) => block.kind === 'client_range' && isInForce(block, now))
    .sort((a, b) => b.blocked_at.localeCompare(a.blocked_at));
  const seen = new Set<string>();
  for (const block of newestFirst) {
    const range = firewallCidr(block.value);
    if (!range.ok) {
      ranges.left_out.push({ value: block.value, why: range.why });
      continue;
    }
    if (seen.has(range.cidr)) continue;
    seen.add(range.cidr);
    if (ranges[range.family].length >= WAF_IP_SET_CAPACITY) {
      ranges.left_out.push({
        value: block.value,
        why: `the ${range.family} IP set is full (${WAF_IP_SET_CAPACITY} ranges)`,
      });
      continue;
    }
    ranges[range.family].push(range.cidr);
  }
  for (const family of IP_FAMILIES) ranges[family].sort();
  return ranges;
}

/** Whether two lists hold the same ranges, in any order and spelling (WAF may echo its own). */
export function sameRanges(a: readonly string[], b: readonly string[]): boolean {
  const canonical = (list: readonly string[]) =>
    [
      ...new Set(
        list.map((value) => {
          const range = firewallCidr(value);
          return range.ok ? range.cidr : value;
        }),
      ),
    ].sort();
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
}

/** The front door's answer to a blocked range (WAF's custom response body), as the API words it. */
export const frontDoorRefusal = (policyUrl: string): string =>
  JSON.stringify({
    error: `this storefront refuses new orders from your address range under its acceptable-use policy; this request was refused and nothing was charged for it. Acceptable-use policy: ${policyUrl}`,
  });
