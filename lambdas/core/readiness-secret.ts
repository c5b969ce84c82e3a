import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * The one-time secret a machine proves its readiness with. The launch step draws it (256
 * bits), puts it into the instance's user data and stores only its SHA-256 hash on the
 * machine's item; the machine's boot script presents it once to POST
 * /api/machines/{machine_id}/ready. It unlocks nothing else, and nothing once the lease is
 * no longer provisioning.
 */
const PREFIX = 'mr_ready_';

export interface IssuedReadinessSecret {
  secret: string;
  hash: string;
}

export const hashReadinessSecret = (secret: string) =>
  createHash('sha256').update(secret).digest('hex');

export function issueReadinessSecret(): IssuedReadinessSecret {
  const secret = `${PREFIX}${randomBytes(32).toString('base64url')}`;
  return { secret, hash: hashReadinessSecret(secret) };
}

export const looksLikeReadinessSecret = (value: string) =>
  /^mr_ready_[A-Za-z0-9_-]{43}$/.test(value);

/** A hash no secret produces, so a machine without one costs the same comparison. */
const UNMATCHABLE_HASH = '0'.repeat(64);

/** True only if `presented` is the secret whose hash is stored; compared in constant time. */
export function readinessSecretMatches(presented: string, storedHash: string | undefined): boolean {
  const expected = Buffer.from(
    storedHash && /^[a-f0-9]{64}$/.test(storedHash) ? storedHash : UNMATCHABLE_HASH,
    'hex',
  );
  const actual = Buffer.from(hashReadinessSecret(presented), 'hex');
  return timingSafeEqual(expected, actual) && storedHash !== undefined;
}
