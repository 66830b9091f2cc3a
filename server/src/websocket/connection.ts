import type { WebSocket, RawData } from 'ws';
import type { Logger } from '../log.js';
import type { SessionSocket } from '../sessions/types.js';
import { logBurst } from '../log-burst.js';
import { RateLimiter, type BurstLog } from '../rate-limiter.js';
import { EventRefused, PayloadError } from './payload.js';

export interface ConnectionOptions {
  logger: Logger;
  /** Accepted events per second, averaged over a one-second burst allowance. */
  rateLimit: number;
  heartbeatMs: number;
  /** Lines about dropped events: one per burst, shared by the session's sockets. */
  burst: BurstLog;
  /** Called for each well-formed event; throwing PayloadError or EventRefused drops it with a log line. */
  dispatch(event: string, payload: unknown): void | Promise<void>;
  /** Called once when the socket is gone; `clean` = closed with 1000/1001. */
  onClose(clean: boolean): void;
  /** Told how each well-formed event ended: `handled`, or dropped because the handler refused it. */
  onEvent?(event: string, handled: boolean): void;
  /** Told about each message dropped before it had an event name (metrics). */
  onDropped?(reason: 'rate_limited' | 'binary' | 'malformed'): void;
}

const CLEAN_CLOSE_CODES = new Set([1000, 1001]);
/** A client this far behind in reading is dropped rather than buffered for without bound. */
const MAX_BUFFERED_BYTES = 8 << 20;
/** Event names are client text: only this much of one goes into a log line. */
const MAX_LOGGED_EVENT = 64;

/**
 * One authenticated WebSocket: the JSON envelope, server heartbeat, a hard event-rate
 * limit and error containment. Nothing a client sends can throw out of here.
 */
export class Connection implements SessionSocket {
  private readonly limiter: RateLimiter;
  private readonly heartbeat: NodeJS.Timeout;
  private closed = false;
  private finished = false;
  /** Resolves once the underlying socket has closed. */
  readonly gone: Promise<void>;

  constructor(
    private readonly ws: WebSocket,
    private readonly opts: ConnectionOptions,
  ) {
    this.limiter = new RateLimiter(opts.rateLimit);
    this.gone = new Promise((resolve) => ws.once('close', () => resolve()));
    ws.on('message', (data, isBinary) => this.onMessage(data, isBinary));
    ws.on('close', (code) => this.finish(CLEAN_CLOSE_CODES.has(code)));
    ws.on('error', (err) => {
      // Invalid frames end here; a client can send them on every reconnect.
      this.throttled('warn', { err: err.message }, 'websocket error');
      this.finish(false);
    });
    this.heartbeat = setInterval(() => this.beat(), opts.heartbeatMs);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  send(event: string, payload?: unknown): void {
    if (this.closed || this.ws.readyState !== this.ws.OPEN) return;
    if (this.ws.bufferedAmount > MAX_BUFFERED_BYTES) {
      this.opts.logger.warn({ buffered: this.ws.bufferedAmount }, 'client is not reading; dropping the connection');
      this.ws.terminate();
      return;
    }
    const message = payload === undefined ? { event } : { event, payload };
    this.ws.send(JSON.stringify(message));
  }

  disconnect(message: string): void {
    this.send('system/disconnect', { message });
    this.opts.logger.info({ reason: message }, 'disconnecting websocket');
    this.closed = true;
    clearInterval(this.heartbeat);
    this.ws.close(1000, message.slice(0, 120));
  }

  /** Contract §5.1: the heartbeat event, then a ping frame; a failed write ends the socket. */
  private beat(): void {
    if (this.closed || this.ws.readyState !== this.ws.OPEN) return;
    const failed = (err?: Error) => {
      if (!err || this.closed) return;
      this.opts.logger.warn({ err: err.message }, 'heartbeat failed');
      this.ws.terminate();
    };
    this.ws.send(JSON.stringify({ event: 'system/heartbeat' }), failed);
    this.ws.ping(undefined, undefined, failed);
  }

  /** Every line a client can cause at will goes through here, so a flood cannot flood the log too. */
  private throttled(level: 'debug' | 'warn' | 'error', fields: Record<string, unknown>, message: string): void {
    logBurst(this.opts.burst, this.opts.logger, level, fields, message);
  }

  private onMessage(data: RawData, isBinary: boolean): void {
    if (this.closed) return;
    if (!this.limiter.take()) {
      this.throttled('warn', {}, 'event rate limit exceeded; dropping events');
      this.opts.onDropped?.('rate_limited');
      return;
    }
    if (isBinary) {
      this.throttled('warn', {}, 'binary websocket message dropped');
      this.opts.onDropped?.('binary');
      return;
    }
    let event: string;
    let payload: unknown;
    try {
      const msg: unknown = JSON.parse(data.toString());
      if (typeof msg !== 'object' || msg === null || typeof (msg as { event?: unknown }).event !== 'string') {
        throw new PayloadError('envelope must be an object with a string event');
      }
      event = (msg as { event: string }).event;
      payload = (msg as { payload?: unknown }).payload;
    } catch (err) {
      this.throttled('warn', { err: (err as Error).message }, 'malformed websocket message dropped');
      this.opts.onDropped?.('malformed');
      return;
    }
    const drop = (err: unknown) => {
      this.opts.onEvent?.(event, false);
      const logged = event.slice(0, MAX_LOGGED_EVENT);
      if (err instanceof PayloadError) this.throttled('warn', { event: logged, err: err.message }, 'invalid event payload dropped');
      else if (err instanceof EventRefused) this.throttled(err.level, { event: logged, reason: err.message }, 'event refused');
      else this.throttled('error', { event: logged, err }, 'event handler failed');
    };
    try {
      const result = this.opts.dispatch(event, payload);
      if (result instanceof Promise) result.then(() => this.opts.onEvent?.(event, true), drop);
      else this.opts.onEvent?.(event, true);
    } catch (err) {
      drop(err);
    }
  }

  private finish(clean: boolean): void {
    clearInterval(this.heartbeat);
    const wasClosed = this.closed;
    this.closed = true;
    if (this.finished) return;
    this.finished = true;
    this.opts.onClose(clean || wasClosed);
  }

  /** Forcefully closes (server shutdown); idempotent. */
  close(): void {
    clearInterval(this.heartbeat);
    this.closed = true;
    this.ws.terminate();
  }
}
