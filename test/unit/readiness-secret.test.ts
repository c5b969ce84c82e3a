import {
  hashReadinessSecret,
  issueReadinessSecret,
  looksLikeReadinessSecret,
  readinessSecretMatches,
} from '../../lambdas/core/readiness-secret.js';

describe('the readiness secret', () => {
  it('has 256 random bits, a recognisable prefix, and is stored only as its hash', () => {
    const { secret, hash } = issueReadinessSecret();
    expect(looksLikeReadinessSecret(secret)).toBe(true);
    expect(Buffer.from(secret.slice('mr_ready_'.length), 'base64url')).toHaveLength(32);
    expect(hash).toBe(hashReadinessSecret(secret));
    expect(hash).not.toContain(secret.slice('mr_ready_'.length));
    expect(issueReadinessSecret().secret).not.toBe(secret);
  });

  it('matches only its own hash, and nothing when none is stored', () => {
    const mine = issueReadinessSecret();
    const other = issueReadinessSecret();
    expect(readinessSecretMatches(mine.secret, mine.hash)).toBe(true);
    expect(readinessSecretMatches(other.secret, mine.hash)).toBe(false);
    expect(readinessSecretMatches(mine.secret, undefined)).toBe(false);
    expect(readinessSecretMatches(mine.secret, 'not-a-hash')).toBe(false);
    expect(readinessSecretMatches(mine.hash, mine.hash)).toBe(false);
  });

  it('is told apart from the capability tokens by its form', () => {
    expect(looksLikeReadinessSecret(`mt_read_${'a'.repeat(43)}`)).toBe(false);
    expect(looksLikeReadinessSecret(`mr_ready_${'a'.repeat(42)}`)).toBe(false);
  });
});
