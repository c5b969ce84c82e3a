import type { PresentedCredential } from './ports.js';

/**
 * Whether a credential answers a challenge that has expired by the storefront's own clock.
 * Expiry is the storefront's rule: a payment method's SDK checks it against the machine's
 * clock (and not at all where a method leaves it out), which is not the clock that issued the
 * challenge when the storefront runs on an accelerated or kept clock.
 */
export function answersExpiredChallenge(presented: PresentedCredential, now: Date): boolean {
  if (presented.kind !== 'credential' || presented.expires === undefined) return false;
  const expires = Date.parse(presented.expires);
  return Number.isNaN(expires) || expires <= now.getTime();
}

export const expiredChallengeReason = (expires: string | undefined) =>
  `the challenge this credential answers expired${expires ? ` at ${expires}` : ''}; pay one of the fresh challenges`;
