/**
 * The token bucket AWS documents for its API throttling: a bucket holds at most `capacity`
 * tokens, refills `refillPerSecond` tokens a second (on the given clock, so a fast local clock
 * refills as fast as it runs), and each request takes a token or is refused. A refused request
 * takes nothing: the bucket only refills, so a client that retries with backoff gets through.
 */
export class TokenBucket {
  private tokens: number;
  private refilledAt: number;

  constructor(
    readonly capacity: number,
    readonly refillPerSecond: number,
    private readonly nowMs: () => number,
  ) {
    if (!(capacity >= 0) || !(refillPerSecond >= 0)) {
      throw new Error(
        `a token bucket needs capacity >= 0 and refill >= 0 (got ${capacity}, ${refillPerSecond})`,
      );
    }
    this.tokens = capacity;
    this.refilledAt = nowMs();
  }

  /** Takes `count` tokens if the bucket holds them; false (and nothing taken) otherwise. */
  tryTake(count = 1): boolean {
    this.refill();
    if (this.tokens < count) return false;
    this.tokens -= count;
    return true;
  }

  /** Tokens in the bucket now (fractions accumulate between whole tokens). */
  available(): number {
    this.refill();
    return this.tokens;
  }

  private refill() {
    const now = this.nowMs();
    const elapsedSeconds = Math.max(0, now - this.refilledAt) / 1000;
    this.tokens = Math.min(this.capacity, this.tokens + elapsedSeconds * this.refillPerSecond);
    this.refilledAt = now;
  }
}
