import type { ClientEvent, ClientEvents, ServerEvent, ServerEvents } from './protocol.js';

type PayloadArgs<E extends ClientEvent> = ClientEvents[E] extends undefined ? [] : [ClientEvents[E]];

export type SocketState = 'connecting' | 'open' | 'reconnecting' | 'closed';

const RECONNECT_MIN_MS = 500;
const RECONNECT_MAX_MS = 8000;
const DEFAULT_HEARTBEAT_S = 10;

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
  private attempts = 0;
  private active = false;

  constructor(
    private readonly url: () => string,
    private readonly onState: (state: SocketState) => void,
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

  close(): void {
    this.active = false;
    window.clearTimeout(this.reconnectTimer);
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
      this.startHeartbeat();
      this.onState('open');
    };
    ws.onmessage = (ev) => this.dispatch(ws, ev.data);
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.ws = undefined;
      this.stopHeartbeat();
      if (this.active) this.scheduleReconnect();
      else this.onState('closed');
    };
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
    const delay = Math.min(RECONNECT_MAX_MS, RECONNECT_MIN_MS * 2 ** this.attempts);
    this.attempts++;
    this.onState('reconnecting');
    this.reconnectTimer = window.setTimeout(() => {
      if (this.active) this.open();
    }, delay);
  }

  private startHeartbeat(): void {
    this.stopHeartbeat();
    this.heartbeatTimer = window.setInterval(() => this.send('client/heartbeat'), this.heartbeatSeconds * 1000);
  }

  private stopHeartbeat(): void {
    window.clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = undefined;
  }
}
