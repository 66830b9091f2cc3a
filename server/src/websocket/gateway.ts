import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { findToken, type CookieSettings } from '../request/token.js';
import { endWithError } from '../request/raw-response.js';
import type { Logger } from '../log.js';
import { logBurst } from '../log-burst.js';
import { BurstLog } from '../rate-limiter.js';
import type { SessionManager } from '../sessions/manager.js';
import type { Session } from '../sessions/session.js';
import { Connection } from './connection.js';
import { OriginPolicy } from './origin.js';
import { EventRefused } from './payload.js';

/** How long shutdown waits for clients to answer the close handshake. */
const SHUTDOWN_GRACE_MS = 1000;

export type EventHandler = (session: Session, payload: unknown) => void | Promise<void>;
export type EventTable = Record<string, EventHandler>;

export interface GatewayOptions {
  sessions: SessionManager;
  logger: Logger;
  cookie: CookieSettings;
  /** server.cors: origins allowed besides our own (see OriginPolicy); `*` = any. */
  origins: string[];
  /** server.proxy: our own origin comes from X-Forwarded-Proto / X-Forwarded-Host. */
  proxy?: boolean;
  maxPayload: number;
  rateLimit: number;
  handlers: EventTable;
  /** Events sent to a newly connected session, in the contract's connect order (§5.2). */
  onConnect(session: Session): void;
  /** Abnormal closes wait this long for a reconnect before the session counts as gone. */
  reconnectGraceMs?: number;
  heartbeatMs?: number;
  /**
   * Told about every received message (metrics): `event` is a known event name, or
   * `unknown` / `malformed` / `binary` / `rate_limited`, so client input never mints names.
   */
  onEvent?(event: string, result: 'handled' | 'dropped'): void;
}

/**
 * `GET /api/ws`: upgrades first (origin check), authenticates after, as the contract orders
 * it, then binds the socket to its session and routes events to the handler table.
 */
export class WebSocketGateway {
  private readonly wss: WebSocketServer;
  private readonly connections = new Set<Connection>();
  private readonly pendingDetach = new Map<Connection, NodeJS.Timeout>();
  private readonly log: Logger;
  private readonly origins: OriginPolicy;
  /** Lines about refused upgrades and unauthenticated sockets: anyone can cause them at will. */
  private readonly refusals = new BurstLog();
  /** Per session, so reconnecting does not start a new burst of lines about dropped events. */
  private readonly bursts = new WeakMap<Session, BurstLog>();
  private closing: Promise<void> | null = null;

  constructor(private readonly opts: GatewayOptions) {
    this.log = opts.logger;
    this.wss = new WebSocketServer({ noServer: true, maxPayload: opts.maxPayload });
    this.origins = new OriginPolicy({ allowed: opts.origins, cookies: opts.cookie.enabled, proxy: opts.proxy ?? false });
  }

  /**
   * Called by the HTTP server, which has given `socket` an error listener, for upgrade
   * requests on the WebSocket path. The WebSocket gets one from the start as well: a
   * refused client's frames still reach the parser, and its errors must land somewhere.
   */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    if (this.closing) {
      socket.destroy();
      return;
    }
    const refused = this.origins.check(req);
    if (refused) {
      logBurst(this.refusals, this.log, 'info', { reason: refused.message, origin: req.headers.origin?.slice(0, 200) }, 'websocket upgrade refused');
      endWithError(socket, refused);
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      const early = (err: Error) => logBurst(this.refusals, this.log, 'debug', { err: err.message }, 'unauthenticated websocket error');
      ws.on('error', early);
      try {
        if (this.accept(ws, req)) ws.off('error', early);
      } catch (err) {
        logBurst(this.refusals, this.log, 'error', { err }, 'websocket not accepted');
        ws.terminate();
      }
    });
  }

  private reject(ws: WebSocket, message: string): false {
    logBurst(this.refusals, this.log, 'info', { reason: message }, 'websocket refused');
    ws.send(JSON.stringify({ event: 'system/disconnect', payload: { message } }));
    ws.close(1000, message);
    return false;
  }

  /** Binds the socket to its session; false when it was refused. */
  private accept(ws: WebSocket, req: IncomingMessage): boolean {
    const { sessions } = this.opts;
    const found = findToken(req.headers, req.url ?? '/', this.opts.cookie);
    if (!found) return this.reject(ws, 'no authentication provided');
    const session = sessions.byTokenValue(found.token);
    if (!session) return this.reject(ws, 'session not found');
    if (!session.profile.can_login) return this.reject(ws, 'session login disabled');
    if (!session.profile.can_connect) return this.reject(ws, 'connection disabled');

    const previous = session.socket instanceof Connection ? session.socket : null;
    const previousDead = previous !== null && this.pendingDetach.has(previous);
    if (previous && !previousDead && !sessions.settings.merciful_reconnect) {
      return this.reject(ws, 'already connected');
    }
    if (previous && previousDead) {
      clearTimeout(this.pendingDetach.get(previous));
      this.pendingDetach.delete(previous);
    }

    const log = this.log.child({ session_id: session.id });
    let burst = this.bursts.get(session);
    if (!burst) this.bursts.set(session, (burst = new BurstLog()));
    const connection: Connection = new Connection(ws, {
      logger: log,
      rateLimit: this.opts.rateLimit,
      heartbeatMs: this.opts.heartbeatMs ?? 10_000,
      burst,
      dispatch: (event, payload) => {
        // A replaced or deleted session's socket must not act for it any more.
        if (session.socket !== connection) return;
        const handler = Object.hasOwn(this.opts.handlers, event) ? this.opts.handlers[event] : undefined;
        if (!handler) throw new EventRefused('unknown event');
        return handler(session, payload);
      },
      onClose: (clean) => this.onClose(session, connection, clean),
      onEvent: (event, handled) => {
        const known = Object.hasOwn(this.opts.handlers, event);
        this.opts.onEvent?.(known ? event : 'unknown', known && handled ? 'handled' : 'dropped');
      },
      onDropped: (reason) => this.opts.onEvent?.(reason, 'dropped'),
    });
    this.connections.add(connection);
    // A dead socket waiting out its grace period is replaced silently; a live one is told.
    if (previous && previousDead) session.socket = null;
    sessions.attachSocket(session, connection);
    log.info('websocket connected');
    this.opts.onConnect(session);
    return true;
  }

  private onClose(session: Session, connection: Connection, clean: boolean): void {
    this.connections.delete(connection);
    const detach = () => {
      this.pendingDetach.delete(connection);
      if (session.socket === connection) this.log.info({ session_id: session.id }, 'websocket disconnected');
      this.opts.sessions.detachSocket(session, connection);
    };
    if (clean || session.socket !== connection) return detach();
    this.pendingDetach.set(connection, setTimeout(detach, this.opts.reconnectGraceMs ?? 5000));
  }

  /**
   * Tells every client the server is shutting down, gives the close handshakes a moment and
   * then cuts what is left; idempotent. Upgraded sockets keep the HTTP server from closing,
   * so this has to run before it.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      for (const timer of this.pendingDetach.values()) clearTimeout(timer);
      this.pendingDetach.clear();
      const open = [...this.connections];
      for (const c of open) c.disconnect('server shutdown');
      const grace = new Promise<void>((resolve) => setTimeout(resolve, SHUTDOWN_GRACE_MS).unref());
      await Promise.race([Promise.all(open.map((c) => c.gone)), grace]);
      for (const c of open) c.close();
      this.connections.clear();
      this.wss.close();
    })();
    return this.closing;
  }
}
