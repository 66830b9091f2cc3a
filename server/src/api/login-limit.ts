import type { Context, Next } from 'koa';
import { HttpError, tooManyRequests } from '../errors.js';
import type { Logger } from '../log.js';
import { clientAddress } from '../http/client-address.js';

export interface LoginLimitOptions {
  /** Failed logins allowed per address within `windowMs`; the next attempt gets 429. */
  maxFailures?: number;
  windowMs?: number;
  /** Addresses tracked at once; the least recently failing ones are forgotten first. */
  maxAddresses?: number;
  /** Trust X-Forwarded-For / X-Real-IP (server.proxy). */
  proxy: boolean;
  logger: Logger;
  now?: () => number;
}

interface Entry {
  /** Times of the failures still inside the window, oldest first. */
  failures: number[];
}

/**
 * Slows down password guessing: too many failed logins (401) from one client address
 * within a window answer 429 with `Retry-After` until the oldest failure leaves the window.
 * Successful logins neither count nor clear earlier failures, so interleaving a valid
 * account does not reset the budget.
 */
export class LoginLimiter {
  private readonly entries = new Map<string, Entry>();
  private readonly maxFailures: number;
  private readonly windowMs: number;
  private readonly maxAddresses: number;
  private readonly now: () => number;

  constructor(private readonly opts: LoginLimitOptions) {
    this.maxFailures = opts.maxFailures ?? 10;
    this.windowMs = opts.windowMs ?? 60_000;
    this.maxAddresses = opts.maxAddresses ?? 10_000;
    this.now = opts.now ?? Date.now;
  }

  /** Seconds until `address` may try again, or 0 if it may now. */
  retryAfter(address: string): number {
    const entry = this.entries.get(address);
    if (!entry) return 0;
    this.prune(address, entry);
    if (entry.failures.length < this.maxFailures) return 0;
    return Math.max(1, Math.ceil((entry.failures[0]! + this.windowMs - this.now()) / 1000));
  }

  recordFailure(address: string): void {
    const entry = this.entries.get(address) ?? { failures: [] };
    this.prune(address, entry);
    entry.failures.push(this.now());
    if (entry.failures.length > this.maxFailures) entry.failures.shift();
    // Re-inserting keeps the Map in order of last failure, so eviction drops the stalest.
    this.entries.delete(address);
    this.entries.set(address, entry);
    while (this.entries.size > this.maxAddresses) {
      this.entries.delete(this.entries.keys().next().value!);
    }
  }

  /** Number of addresses currently tracked. */
  get size(): number {
    return this.entries.size;
  }

  private prune(address: string, entry: Entry): void {
    const cutoff = this.now() - this.windowMs;
    while (entry.failures.length > 0 && entry.failures[0]! <= cutoff) entry.failures.shift();
    if (entry.failures.length === 0) this.entries.delete(address);
  }

  /** Koa middleware for the login route: refuses limited addresses, counts 401 answers. */
  middleware() {
    return async (ctx: Context, next: Next): Promise<void> => {
      const address = clientAddress(ctx, this.opts.proxy);
      const wait = this.retryAfter(address);
      if (wait > 0) {
        this.opts.logger.warn({ address, retry_after: wait }, 'login refused: too many failed attempts');
        throw Object.assign(tooManyRequests('too many failed login attempts'), { headers: { 'Retry-After': String(wait) } });
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
    };
  }
}
