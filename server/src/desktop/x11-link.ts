import { EventEmitter } from 'node:events';
import type { Logger } from '../log.js';
import { X11Client } from './x11-client.js';

export type LinkState = 'connecting' | 'connected' | 'reconnecting' | 'closed';

export interface X11LinkEvents {
  /** A (new) connection is up; the previous one, if any, is gone. */
  connected: [X11Client];
  disconnected: [];
}

export interface X11LinkOptions {
  display: string;
  logger: Logger;
  /** First retry delay after the connection is lost; doubles up to `maxRetryMs`. */
  retryMs?: number;
  maxRetryMs?: number;
}

/**
 * Keeps one X connection alive across X server restarts: a restarted server (or an external
 * one that went away and came back) gets reconnected, and users of the connection re-arm
 * themselves on `connected`.
 */
export class X11Link extends EventEmitter<X11LinkEvents> {
  private _client: X11Client | null = null;
  private _state: LinkState = 'connecting';
  private retryTimer: NodeJS.Timeout | null = null;
  private retryDelay: number;
  private attempt: Promise<void> | null = null;
  private closing: Promise<void> | null = null;

  constructor(private readonly opts: X11LinkOptions) {
    super();
    this.retryDelay = opts.retryMs ?? 200;
  }

  get client(): X11Client | null {
    return this._client;
  }

  get state(): LinkState {
    return this._state;
  }

  /** First connection: rejects when the display cannot be reached. */
  async open(): Promise<void> {
    const client = await X11Client.connect(this.opts.display, { logger: this.opts.logger });
    this.adopt(client);
  }

  /** Retries at once instead of waiting for the backoff (e.g. the X server was just restarted). */
  reconnectNow(): void {
    if (this._state !== 'reconnecting') return;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    void this.tryConnect();
  }

  close(): Promise<void> {
    if (this.closing) return this.closing;
    this._state = 'closed';
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    const client = this._client;
    this._client = null;
    this.closing = (async () => {
      await this.attempt;
      await client?.close();
    })();
    return this.closing;
  }

  private adopt(client: X11Client): void {
    if (this._state === 'closed') {
      void client.close();
      return;
    }
    this._client = client;
    this._state = 'connected';
    this.retryDelay = this.opts.retryMs ?? 200;
    client.once('close', () => this.lost(client));
    this.emit('connected', client);
  }

  private lost(client: X11Client): void {
    if (this._client !== client || this._state === 'closed') return;
    this._client = null;
    this._state = 'reconnecting';
    this.opts.logger.warn({ display: this.opts.display }, 'X connection lost; reconnecting');
    this.emit('disconnected');
    this.scheduleRetry();
  }

  private scheduleRetry(): void {
    if (this._state !== 'reconnecting' || this.retryTimer) return;
    const delay = this.retryDelay;
    this.retryDelay = Math.min(delay * 2, this.opts.maxRetryMs ?? 2000);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      void this.tryConnect();
    }, delay);
  }

  private tryConnect(): Promise<void> {
    if (this.attempt) return this.attempt;
    this.attempt = (async () => {
      try {
        const client = await X11Client.connect(this.opts.display, { logger: this.opts.logger, timeoutMs: 2000 });
        this.adopt(client);
      } catch (err) {
        this.opts.logger.debug({ err, display: this.opts.display }, 'X reconnect failed');
        this.scheduleRetry();
      } finally {
        this.attempt = null;
      }
    })();
    return this.attempt;
  }
}
