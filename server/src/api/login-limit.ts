import type { Context, Next } from 'koa';
import { HttpError, tooManyRequests } from '../errors.js';
import type { Logger } from '../log.js';
import { clientAddress } from '../request/client-address.js';

export interface LoginLimitOptions {
  /** Failed logins allowed per address within `windowMs`; the next attempt gets 429. */
  maxFailures?: number;
  /**
   * Successful logins allowed per address within `windowMs`: each one creates a session that
   * every client is told about, so a valid password must not mint them without end.
   */
  maxSuccesses?: number;
  windowMs?: number;
  /** Addresses tracked at once per budget; the least recently counted ones are forgotten first. */
  maxAddresses?: number;
  /** Trust X-Forwarded-For / X-Real-IP (server.proxy). */
  proxy: boolean;
  logger: Logger;
  now?: () => number;
}

interface Entry {
  /** Times still inside the window, oldest first. */
  times: number[];
  /** The current refusal was logged: a flood costs one log line, not one per request. */
  refusalLogged: boolean;
}

/** Event times per address in a sliding window, capped at `max` per address and `maxAddresses` overall. */
class SlidingBudget {
  /** Kept in order of last event, so eviction drops the stalest address. */
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly max: number,
    private readonly windowMs: number,
    private readonly maxAddresses: number,
    private readonly now: () => number,
  ) {}

  /** Seconds until `address` has budget again, or 0 if it has now. */
  retryAfter(address: string): number {
    const entry = this.live(address);
    if (entry.times.length < this.max) return 0;
    return Math.max(1, Math.ceil((entry.times[0]! + this.windowMs - this.now()) / 1000));
  }

  /** True once per run of refusals of `address`: the caller logs only then. */
  firstRefusal(address: string): boolean {
    const entry = this.entries.get(address);
    if (!entry || entry.refusalLogged) return false;
    entry.refusalLogged = true;
    return true;
  }

  record(address: string): void {
    const entry = this.live(address);
    entry.times.push(this.now());
    if (entry.times.length > this.max) entry.times.shift();
    entry.refusalLogged = false;
    this.entries.delete(address);
    this.entries.set(address, entry);
    while (this.entries.size > this.maxAddresses) {
      this.entries.delete(this.entries.keys().next().value!);
    }
  }

  get size(): number {
    return this.entries.size;
  }

  private live(address: string): Entry {
    const entry = this.entries.get(address) ?? { times: [], refusalLogged: false };
    const cutoff = this.now() - this.windowMs;
    while (entry.times.length > 0 && entry.times[0]! <= cutoff) entry.times.shift();
    if (entry.times.length < this.max) entry.refusalLogged = false;
    if (entry.times.length === 0) this.entries.delete(address);
    return entry;
  }
}

/**
 * Per client address, two budgets over one sliding window: failed logins (401) slow down
 * password guessing, successful ones bound how many sessions one address can create. An
 * exhausted budget answers 429 with `Retry-After` until its oldest entry leaves the window.
 * Neither outcome clears the other's count, so interleaving a valid account does not reset
 * the guessing budget.
 */
export class LoginLimiter {
  private readonly failures: SlidingBudget;
  private readonly successes: SlidingBudget;

  constructor(private readonly opts: LoginLimitOptions) {
    const windowMs = opts.windowMs ?? 60_000;
    const maxAddresses = opts.maxAddresses ?? 10_000;
    const now = opts.now ?? Date.now;
    this.failures = new SlidingBudget(opts.maxFailures ?? 10, windowMs, maxAddresses, now);
    this.successes = new SlidingBudget(opts.maxSuccesses ?? 30, windowMs, maxAddresses, now);
  }

  /** Seconds until `address` may try again after failed logins, or 0 if it may now. */
  retryAfter(address: string): number {
    return this.failures.retryAfter(address);
  }

  /** Seconds until `address` may log in again after successful logins, or 0 if it may now. */
  retryAfterSuccesses(address: string): number {
    return this.successes.retryAfter(address);
  }

  recordFailure(address: string): void {
    this.failures.record(address);
  }

  recordSuccess(address: string): void {
    this.successes.record(address);
  }

  /** Entries tracked, one per address and budget. */
  get size(): number {
    return this.failures.size + this.successes.size;
  }

  /** Koa middleware for the login route: refuses limited addresses, counts 401 and 200 answers. */
  middleware() {
    return async (ctx: Context, next: Next): Promise<void> => {
      const address = clientAddress(ctx, this.opts.proxy);
      const failed = this.failures.retryAfter(address);
      if (failed > 0) {
        if (this.failures.firstRefusal(address)) {
          this.opts.logger.warn({ address, retry_after: failed }, 'logins refused: too many failed attempts');
        }
        throw limited('too many failed login attempts', failed);
      }
      const succeeded = this.successes.retryAfter(address);
      if (succeeded > 0) {
        if (this.successes.firstRefusal(address)) {
          this.opts.logger.warn({ address, retry_after: succeeded }, 'logins refused: too many logins');
        }
        throw limited('too many logins', succeeded);
      }
      try {
        await next();
      } catch (err) {
        if (err instanceof HttpError && err.status === 401) {
          this.recordFailure(address);
          this.opts.logger.info({ address }, 'failed login');
        }
        throw err;
      }
      if (ctx.status === 200) this.recordSuccess(address);
    };
  }
}

function limited(message: string, retryAfter: number): HttpError {
  return Object.assign(tooManyRequests(message), { headers: { 'Retry-After': String(retryAfter) } });
}
