import { createHash } from 'node:crypto';
import { BlockList, isIPv4, isIPv6 } from 'node:net';

/**
 * Who the storefront refuses to sell to, as data: an operator's (or the abuse detector's)
 * decision, with who made it, when, why, and until when. Orders, quotes and unpaid creates
 * are checked against these before any payment challenge is issued or anything is stored.
 *
 *  - `ssh_key`: the SHA256 fingerprint of the agent's public key, as OpenSSH prints it
 *    (`ssh-keygen -lf key.pub`: `SHA256:` + unpadded base64 of the key blob's SHA-256).
 *  - `client_range`: a CIDR range of client addresses, the address being the one the front
 *    door's WAF counts (CloudFront's viewer address; lambdas/http/api-handler.ts).
 *  - `payer`: a payment method's stable payer identity. None of the methods this storefront
 *    accepts shows one before it charges (a Stripe Shared Payment Token is single-use and names
 *    no customer; the test method has none), so payer blocks are recorded and listed but match
 *    nothing yet (docs/abuse.md).
 */
export const BLOCK_KINDS = ['ssh_key', 'client_range', 'payer'] as const;
export type BlockKind = (typeof BLOCK_KINDS)[number];

export interface BlockRecord {
  kind: BlockKind;
  /** The fingerprint, the normalised CIDR range, or the payer identity. */
  value: string;
  reason: string;
  /** Who decided: an operator's name, or `guardduty` for automatic blocks. */
  blocked_by: string;
  blocked_at: string;
  /** ISO 8601; absent: until removed. An expired block is ignored. */
  expires_at?: string;
}

/** What is known of a buyer before any payment: the key they want on the machine, their address. */
export interface BuyerSubject {
  sshKeyFingerprint: string;
  clientAddress?: string;
}

/** `SHA256:…` of an OpenSSH public key line (`<type> <base64> [comment]`), as ssh-keygen -l prints it. */
export function sshKeyFingerprint(keyLine: string): string {
  const blob = keyLine.trim().split(/ +/)[1] ?? '';
  const digest = createHash('sha256').update(Buffer.from(blob, 'base64')).digest('base64');
  return `SHA256:${digest.replace(/=+$/, '')}`;
}

const FINGERPRINT = /^SHA256:[A-Za-z0-9+/]{43}$/;

/** An IPv4-mapped IPv6 address (`::ffff:192.0.2.1`, as Node reports IPv4 on a dual stack) as IPv4. */
export function normaliseAddress(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return mapped?.[1] ?? address.toLowerCase();
}

/** `a.b.c.d/n` or `x:y::/n` (a bare address is its /32 or /128), or why it is not a range. */
export function parseCidr(
  input: string,
):
  | { ok: true; address: string; prefix: number; family: 'ipv4' | 'ipv6'; cidr: string }
  | { ok: false; reason: string } {
  const [rawAddress = '', rawPrefix, ...rest] = input.trim().split('/');
  const address = normaliseAddress(rawAddress);
  const family = isIPv4(address) ? 'ipv4' : isIPv6(address) ? 'ipv6' : undefined;
  if (!family || rest.length)
    return { ok: false, reason: `${input} is not an IP address or CIDR range` };
  const max = family === 'ipv4' ? 32 : 128;
  const prefix = rawPrefix === undefined ? max : Number(rawPrefix);
  if (!/^\d{1,3}$/.test(rawPrefix ?? String(max)) || prefix > max)
    return { ok: false, reason: `${input}: the prefix length must be 0 to ${max}` };
  return { ok: true, address, prefix, family, cidr: `${address}/${prefix}` };
}

/**
 * The widest range one block may name: an IPv4 /8 (16.7 million addresses, a regional
 * registry's allocation) and an IPv6 /32 (a provider's allocation). Wider, a typo such as
 * `0.0.0.0/1` would refuse half the internet, EC2's own addresses with it.
 */
export const WIDEST_BLOCKED_PREFIX = { ipv4: 8, ipv6: 32 } as const;

/** The value a block of this kind is stored under, or why the input cannot be one. */
export function blockValue(
  kind: BlockKind,
  input: string,
): { ok: true; value: string } | { ok: false; reason: string } {
  if (kind === 'ssh_key') {
    const value = input.trim();
    if (FINGERPRINT.test(value)) return { ok: true, value };
    // A whole public key line is accepted too, and turned into its fingerprint.
    if (/^[a-z0-9@.-]+ [A-Za-z0-9+/]+={0,2}( |$)/.test(value))
      return { ok: true, value: sshKeyFingerprint(value) };
    return {
      ok: false,
      reason:
        'an SSH key block takes a SHA256:… fingerprint (ssh-keygen -lf key.pub) or a public key line',
    };
  }
  if (kind === 'client_range') {
    const range = parseCidr(input);
    if (!range.ok) return range;
    const widest = WIDEST_BLOCKED_PREFIX[range.family];
    if (range.prefix < widest)
      return {
        ok: false,
        reason: `${input} is wider than a /${widest}: a block that wide would refuse whole networks (and the machines' own ready calls through the front door); block narrower ranges`,
      };
    return { ok: true, value: range.cidr };
  }
  const value = input.trim();
  return value && value.length <= 256
    ? { ok: true, value }
    : { ok: false, reason: 'a payer identity must be 1 to 256 characters' };
}

export const isInForce = (block: BlockRecord, now: Date): boolean =>
  block.expires_at === undefined || Date.parse(block.expires_at) > now.getTime();

function rangeCovers(cidr: string, address: string): boolean {
  const range = parseCidr(cidr);
  const client = parseCidr(address);
  if (!range.ok || !client.ok || range.family !== client.family) return false;
  const list = new BlockList();
  list.addSubnet(range.address, range.prefix, range.family);
  return list.check(client.address, client.family);
}

/** The first block in force that covers this buyer, if any. */
export function blockFor(
  blocks: readonly BlockRecord[],
  subject: BuyerSubject,
  now: Date,
): BlockRecord | undefined {
  return blocks.find(
    (block) =>
      isInForce(block, now) &&
      ((block.kind === 'ssh_key' && block.value === subject.sshKeyFingerprint) ||
        (block.kind === 'client_range' &&
          subject.clientAddress !== undefined &&
          rangeCovers(block.value, subject.clientAddress))),
  );
}

const SUBJECT_NOUN: Record<BlockKind, string> = {
  ssh_key: 'this SSH key',
  client_range: 'orders from this client address',
  payer: 'this payer',
};

/** The refusal an agent reads: what is refused, the operator's reason, and the policy's URL. */
export function blockedMessage(block: BlockRecord, policyUrl: string): string {
  const until = block.expires_at ? ` until ${block.expires_at}` : '';
  return `this storefront refuses ${SUBJECT_NOUN[block.kind]}${until}: ${block.reason}; nothing was charged. Acceptable-use policy: ${policyUrl}`;
}
