import type { ClientEvent, ClientEvents, ServerEvent, ServerEvents } from './protocol.js';

type PayloadArgs<E extends ClientEvent> = ClientEvents[E] extends undefined ? [] : [ClientEvents[E]];

export type SocketState = 'connecting' | 'open' | 'reconnecting' | 'closed';

const RECONNECT_MIN_MS = 500;
const RECONNECT_MAX_MS = 8000;

/** `system/disconnect` of a server that is shutting down (it may come back with our session). */
export const SERVER_SHUTDOWN = 'server shutdown';

/** Whether a `system/disconnect` ends this connection for good; a shutdown does not. */
export function isFinalDisconnect(message: string): boolean {
  return message !== SERVER_SHUTDOWN;
}

/** Exponential backoff: 0.5 s, 1 s, 2 s, … capped at 8 s. */
export function reconnectDelay(attempt: number): number {
  return Math.min(RECONNECT_MAX_MS, RECONNECT_MIN_MS * 2 ** attempt);
}
const DEFAULT_HEARTBEAT_S = 10;
/**
 * The server sends `system/heartbeat` every 10 s (contract §5.1). A socket silent for this
 * long is dead even if the browser has not noticed (a dropped network sends no FIN).
 */
const SILENCE_LIMIT_MS = 25_000;

/**
 * The `{event, payload}` WebSocket with the client heartbeat. Unexpected drops reconnect
 * with backoff (the server keeps the session for a few seconds and accepts a replacement
 * socket); a `system/disconnect` from the server is final.
 */
export class Socket {
  private ws: WebSocket | undefined;
  private readonly handlers = new Map<string, Array<(payload: unknown) => void>>();
  private heartbeatTimer: number | undefined;
  private heartbeatSeconds = DEFAULT_HEARTBEAT_S;
  private reconnectTimer: number | undefined;
  private lastHeard = 0;
  private attempts = 0;
  private active = false;

  constructor(
    private readonly url: () => string,
    private readonly onState: (state: SocketState) => void,
    /** When the next reconnect attempt is due (epoch ms), or null when none is waiting. */
    private readonly onRetry: (at: number | null) => void = () => undefined,
  ) {}

  /** Handlers of one event run in the order they were added. */
  on<E extends ServerEvent>(event: E, handler: (payload: ServerEvents[E]) => void): void {
    const list = this.handlers.get(event) ?? [];
    list.push(handler as (payload: unknown) => void);
    this.handlers.set(event, list);
  }

  connect(): void {
    this.active = true;
    this.open();
  }

  /** Skips the rest of the backoff wait (the user asked, or the browser is back online). */
  retryNow(): void {
    if (!this.active || this.reconnectTimer === undefined) return;
    window.clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    this.onRetry(null);
    this.open();
  }

  close(): void {
    this.active = false;
    window.clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    this.onRetry(null);
    this.stopHeartbeat();
    const ws = this.ws;
    this.ws = undefined;
    ws?.close(1000);
    this.onState('closed');
  }

  send<E extends ClientEvent>(event: E, ...payload: PayloadArgs<E>): boolean {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(payload.length ? { event, payload: payload[0] } : { event }));
    return true;
  }

  setHeartbeatInterval(seconds: number | undefined): void {
    if (!seconds || seconds <= 0) return;
    this.heartbeatSeconds = seconds;
    if (this.heartbeatTimer !== undefined) this.startHeartbeat();
  }

  private open(): void {
    this.onState(this.attempts === 0 ? 'connecting' : 'reconnecting');
    const ws = new WebSocket(this.url());
    this.ws = ws;
    ws.onopen = () => {
      this.attempts = 0;
      this.lastHeard = Date.now();
      this.startHeartbeat();
      this.onState('open');
    };
    ws.onmessage = (ev) => {
      this.lastHeard = Date.now();
      this.dispatch(ws, ev.data);
    };
    ws.onclose = () => this.lost(ws);
  }

  /** The connection ended without a `system/disconnect`: try again unless we were closed. */
  private lost(ws: WebSocket): void {
    if (this.ws !== ws) return;
    this.ws = undefined;
    ws.onclose = null;
    ws.onmessage = null;
    this.stopHeartbeat();
    if (this.active) this.scheduleReconnect();
    else this.onState('closed');
  }

  private dispatch(ws: WebSocket, data: unknown): void {
    if (typeof data !== 'string') return;
    let msg: { event?: unknown; payload?: unknown };
    try {
      msg = JSON.parse(data) as typeof msg;
    } catch {
      return;
    }
    if (typeof msg.event !== 'string') return;
    if (msg.event === 'system/disconnect') {
      const message = (msg.payload as { message?: unknown } | null)?.message;
      if (!isFinalDisconnect(typeof message === 'string' ? message : '')) {
        // The server is going away but the session may outlive it: come back when it does.
        ws.close(1000);
        this.lost(ws);
        return;
      }
      // The server closes right after; make sure that close is not treated as a drop.
      this.active = false;
      if (this.ws === ws) this.ws = undefined;
      this.stopHeartbeat();
      ws.close(1000);
      this.onState('closed');
    }
    for (const handler of this.handlers.get(msg.event) ?? []) {
      // A payload one handler chokes on must not keep the others (e.g. signaling) from it.
      try {
        handler(msg.payload ?? null);
      } catch (err) {
        console.warn(`handling ${msg.event} failed`, err);
      }
    }
  }

  private scheduleReconnect(): void {
    const delay = reconnectDelay(this.attempts);
    this.attempts++;
    this.onState('reconnecting');
    this.onRetry(Date.now() + delay);
    this.reconnectTimer = window.setTimeout(() => {
      this.reconnectTimer = undefined;
      this.onRetry(null);
      if (this.active) this.open();
    }, delay);
  }

  private startHeartbeat(): void {
    this.stopHeartbeat();
    this.heartbeatTimer = window.setInterval(() => {
      const ws = this.ws;
      if (ws && Date.now() - this.lastHeard > SILENCE_LIMIT_MS) {
        ws.close();
        this.lost(ws);
        return;
      }
      this.send('client/heartbeat');
    }, Math.min(this.heartbeatSeconds * 1000, SILENCE_LIMIT_MS / 2));
  }

  private stopHeartbeat(): void {
    window.clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = undefined;
  }
}
