import type { Availability, CapacityCheck, Clock } from './ports.js';
import type { Product } from './products.js';

/** How long an availability answer is reused, locally and on AWS. */
export const CAPACITY_CACHE_MS = 60_000;

/**
 * Remembers each answer for a short while, so a burst of quotes costs one round of EC2
 * calls per product and lease length, and a capacity change shows within `ttlMs`.
 */
export function cachedCapacityCheck(
  inner: CapacityCheck,
  options: { ttlMs: number; clock: Clock },
): CapacityCheck {
  const answers = new Map<string, { at: number; answer: Promise<Availability> }>();
  return {
    check(product: Product, leaseMinutes: number) {
      const key = `${product.id}/${product.instance.instanceType}/${leaseMinutes}`;
      const now = options.clock.now().getTime();
      const cached = answers.get(key);
      if (cached && now - cached.at < options.ttlMs) return cached.answer;
      const answer = inner.check(product, leaseMinutes);
      answers.set(key, { at: now, answer });
      // A failed check is not remembered: the next request asks again.
      answer.catch(() => answers.delete(key));
      return answer;
    },
  };
}

/** For runtimes given no way to check (every product counts as available, nothing verified). */
export const uncheckedCapacity: CapacityCheck = {
  check: async () => ({ available: true, checked: [] }),
};
