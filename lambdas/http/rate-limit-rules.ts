/**
 * Per-client request budgets, one definition for the two places that enforce them: the
 * AWS WAF web ACL on the front door (lib/waf.ts) and the local front door
 * (lambdas/local/rate-limiter.ts). A client is one source IP address, as WAF's `IP`
 * aggregation counts it; headers such as X-Forwarded-For do not change who a client is.
 */
export interface RateLimits {
  /** Paid and state-changing requests (POST, DELETE, …) per client per window. */
  writesPerMinute: number;
  /** GET and HEAD requests per client per window. */
  readsPerMinute: number;
}

export type Budget = 'reads' | 'writes';

/**
 * WAF counts "the requests for the [evaluation window] immediately preceding the current
 * time"; valid windows are 60, 120, 300 and 600 seconds, and "the lowest limit setting
 * allowed is 10" (AWS WAF developer guide, rate-based rule high-level settings).
 */
export const RATE_WINDOW_SECONDS = 60;
export const MIN_RATE_LIMIT = 10;

/** Methods that only read; every other method spends the write budget. */
export const READ_METHODS = ['GET', 'HEAD'] as const;

export function budgetOf(method: string): Budget {
  return (READ_METHODS as readonly string[]).includes(method.toUpperCase()) ? 'reads' : 'writes';
}

export function limitOf(limits: RateLimits, budget: Budget): number {
  return budget === 'reads' ? limits.readsPerMinute : limits.writesPerMinute;
}

/**
 * The 429 a throttled client gets. WAF custom responses are static, so Retry-After is the
 * whole window: by then every counted request has left it.
 */
export function throttledResponse(limits: RateLimits, budget: Budget) {
  const noun = budget === 'reads' ? 'reads (GET, HEAD)' : 'writes (POST, DELETE)';
  return {
    statusCode: 429,
    headers: {
      'content-type': 'application/json',
      'retry-after': String(RATE_WINDOW_SECONDS),
      'cache-control': 'no-store',
    },
    body: JSON.stringify({
      error: `too many requests from this client: at most ${limitOf(limits, budget)} ${noun} per ${RATE_WINDOW_SECONDS} seconds; retry after ${RATE_WINDOW_SECONDS} seconds`,
    }),
  };
}
