import {
  type Budget,
  budgetOf,
  limitOf,
  RATE_WINDOW_SECONDS,
  type RateLimits,
  throttledResponse,
} from '../http/rate-limit-rules.js';

export type RateDecision =
  | { allowed: true }
  | { allowed: false; response: ReturnType<typeof throttledResponse> };

export interface RateLimiter {
  /** Counts the request against its client's budget and says whether it may pass. */
  admit(clientAddress: string, method: string): RateDecision;
}

/**
 * The local model of the front door's WAF rate-based rules: per client address and budget,
 * requests are counted in one-second buckets over the trailing window, and a request over
 * the limit gets the same 429 WAF answers. Like WAF, every request is counted, refused or not,
 * so a client that keeps hammering stays refused until it slows down.
 */
export function rateLimiter(limits: RateLimits, now: () => number = () => Date.now()): RateLimiter {
  const counts = new Map<string, Map<number, number>>();
  return {
    admit(clientAddress, method) {
      const budget: Budget = budgetOf(method);
      const key = `${budget} ${normaliseAddress(clientAddress)}`;
      const second = Math.floor(now() / 1000);
      const buckets = counts.get(key) ?? new Map<number, number>();
      counts.set(key, buckets);
      let recent = 0;
      for (const [bucket, count] of buckets) {
        if (bucket <= second - RATE_WINDOW_SECONDS) buckets.delete(bucket);
        else recent += count;
      }
      buckets.set(second, (buckets.get(second) ?? 0) + 1);
      return recent < limitOf(limits, budget)
        ? { allowed: true }
        : { allowed: false, response: throttledResponse(limits, budget) };
    },
  };
}

/** An IPv4 client seen on a dual-stack socket is the same client. */
function normaliseAddress(address: string): string {
  return address.startsWith('::ffff:') ? address.slice('::ffff:'.length) : address;
}
