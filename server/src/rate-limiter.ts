/** Token bucket: `rate` events per second with a burst of `rate`; a hard per-client limit. */
export class RateLimiter {
  private tokens: number;
  private last = Date.now();

  constructor(private readonly rate: number) {
    this.tokens = rate;
  }

  take(): boolean {
    const now = Date.now();
    this.tokens = Math.min(this.rate, this.tokens + ((now - this.last) / 1000) * this.rate);
    this.last = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

/**
 * Rate-limits logging of repeated events (drops, rejections) to one line per burst: a burst
 * starts with the first event after `quietMs` without one and lasts as long as they keep
 * coming, so a client flooding for an hour costs one line.
 */
export class BurstLog {
  private last = -Infinity;
  private inBurst = 0;

  constructor(private readonly quietMs = 1000) {}

  /**
   * Counts one event; when it starts a new burst, returns how many events the previous
   * burst had (0 for the first), else null: only then is it worth a line.
   */
  hit(now = performance.now()): number | null {
    const starts = now - this.last > this.quietMs;
    this.last = now;
    if (!starts) {
      this.inBurst++;
      return null;
    }
    const previous = this.inBurst;
    this.inBurst = 1;
    return previous;
  }
}
