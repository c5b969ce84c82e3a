import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Capability tokens. Each is an HMAC of (machine, capability, nonce) under a server key:
 * 256 bits an outsider cannot guess, and re-derivable by the server, so a retried paid
 * order hands back the same working tokens although only their SHA-256 hashes are stored.
 */
export const CAPABILITIES = ['read', 'extend', 'terminate'] as const;
export type Capability = (typeof CAPABILITIES)[number];

const PREFIX: Record<Capability, string> = {
  read: 'mt_read_',
  extend: 'mt_extend_',
  terminate: 'mt_term_',
};

export interface TokenRecord {
  token_nonce: string;
  token_hashes: Record<Capability, string>;
}

export type ManagementTokens = {
  read_token: string;
  extend_token: string;
  terminate_token: string;
};

const hashToken = (token: string) => createHash('sha256').update(token).digest('hex');

function deriveToken(
  key: Buffer,
  machineId: string,
  nonce: string,
  capability: Capability,
): string {
  const mac = createHmac('sha256', key).update(`${machineId}\n${capability}\n${nonce}`).digest();
  return `${PREFIX[capability]}${mac.toString('base64url')}`;
}

export function issueTokens(key: Buffer, machineId: string): TokenRecord {
  const nonce = randomBytes(16).toString('hex');
  const token_hashes = Object.fromEntries(
    CAPABILITIES.map((capability) => [
      capability,
      hashToken(deriveToken(key, machineId, nonce, capability)),
    ]),
  ) as Record<Capability, string>;
  return { token_nonce: nonce, token_hashes };
}

/** Re-derives the raw tokens; returns undefined if the key no longer matches the stored hashes. */
export function revealTokens(
  key: Buffer,
  machineId: string,
  record: TokenRecord,
): ManagementTokens | undefined {
  const read = deriveToken(key, machineId, record.token_nonce, 'read');
  const extend = deriveToken(key, machineId, record.token_nonce, 'extend');
  const terminate = deriveToken(key, machineId, record.token_nonce, 'terminate');
  const intact =
    hashToken(read) === record.token_hashes.read &&
    hashToken(extend) === record.token_hashes.extend &&
    hashToken(terminate) === record.token_hashes.terminate;
  return intact
    ? { read_token: read, extend_token: extend, terminate_token: terminate }
    : undefined;
}

/** A hash that no token produces, so a lookup miss costs the same comparison as a hit. */
const UNMATCHABLE_HASH = '0'.repeat(64);

/**
 * True only if `presented` is this machine's token for `capability`. Compared in constant
 * time on the hashes; a missing machine is checked against a dummy hash.
 */
export function tokenAuthorises(
  presented: string,
  capability: Capability,
  record: TokenRecord | undefined,
): boolean {
  const expected = Buffer.from(record?.token_hashes[capability] ?? UNMATCHABLE_HASH, 'hex');
  const actual = Buffer.from(hashToken(presented), 'hex');
  const hashesMatch = timingSafeEqual(expected, actual);
  return hashesMatch && record !== undefined && presented.startsWith(PREFIX[capability]);
}

export const looksLikeCapabilityToken = (value: string) =>
  /^mt_(read|extend|term)_[A-Za-z0-9_-]{43}$/.test(value);
