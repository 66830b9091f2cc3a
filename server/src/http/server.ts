import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import Koa, { type Context, type Next } from 'koa';
import { Router } from '@koa/router';
import { HttpError } from '../errors.js';
import type { Logger } from '../log.js';
import { logBurst } from '../log-burst.js';
import { BurstLog } from '../rate-limiter.js';
import type { Metrics } from '../metrics.js';
import { cors } from '../request/cors.js';
import { sendJson } from '../request/http-util.js';
import { endWithError } from '../request/raw-response.js';
import { serveStatic } from './static.js';
import { frameHeaders } from './frame-policy.js';
import type { WebSocketGateway } from '../websocket/gateway.js';

export interface HttpServerOptions {
  bind: string;
  logger: Logger;
  router: Router;
  gateway: WebSocketGateway;
  /** Directory served at `/` (the viewer), if any. */
  staticDir: string | null;
  /** server.path_prefix: every route lives under it; `/` = none. */
  pathPrefix?: string;
  /** server.cors: allowed origins (`*` = any); empty disables CORS. */
  cors?: string[];
  /** server.proxy: trust X-Forwarded-For / X-Real-IP / X-Forwarded-Proto. */
  proxy?: boolean;
  metrics?: Metrics | null;
  /** PEM files; both set = HTTPS. */
  tls?: { cert: string; key: string } | null;
  /** embed.origins: who may frame the viewer's pages (default: same origin only). */
  embedOrigins?: string[];
}

function parseBind(bind: string): { host: string; port: number } {
  const idx = bind.lastIndexOf(':');
  const host = idx > 0 ? bind.slice(0, idx).replace(/^\[|\]$/g, '') : '0.0.0.0';
  const port = Number(idx >= 0 ? bind.slice(idx + 1) : bind);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`invalid bind address ${bind}`);
  return { host: host || '0.0.0.0', port };
}

/** `/neko/` → `/neko`; `/` → `` (no prefix). */
function normalizePrefix(prefix: string | undefined): string {
  return (prefix ?? '/').replace(/\/+$/, '');
}

/**
 * The request path with `prefix` removed, or null when the path is not under it.
 * `/neko` alone maps to `/` so the viewer's index is reachable without a trailing slash.
 */
function stripPrefix(url: string, prefix: string): string | null {
  if (!prefix) return url;
  if (!url.startsWith(prefix)) return null;
  const rest = url.slice(prefix.length);
  if (rest === '') return '/';
  if (rest.startsWith('/')) return rest;
  if (rest.startsWith('?')) return `/${rest}`;
  return null;
}

/** The one place errors become HTTP responses: HttpError → its status, anything else → 500. */
function errorMapper(logger: Logger) {
  return async (ctx: Context, next: Next): Promise<void> => {
    try {
      await next();
      // Router defaults (404, and 405/501 with `Allow`) come without a body; give them the contract's.
      if (ctx.status >= 400 && (ctx.body === undefined || ctx.body === null)) sendJson(ctx, ctx.status, new HttpError(ctx.status).body());
    } catch (err) {
      const status = (err as { status?: unknown }).status;
      const httpErr = err instanceof HttpError
        ? err
        : typeof status === 'number' && status >= 400 && status < 500
          ? new HttpError(status, (err as Error).message)
          : null;
      if (httpErr) {
        sendJson(ctx, httpErr.status, httpErr.body());
        // http-errors convention, e.g. `Retry-After` of a 429.
        const headers = (err as { headers?: Record<string, string> }).headers;
        if (headers) for (const [name, value] of Object.entries(headers)) ctx.set(name, value);
      } else {
        logger.error({ err, method: ctx.method, path: ctx.path }, 'request failed');
        sendJson(ctx, 500, new HttpError(500).body());
      }
    }
  };
}

/** Statuses for requests Node's parser gave up on, as Node itself would answer them. */
const CLIENT_ERROR_STATUS: Record<string, number> = {
  HPE_HEADER_OVERFLOW: 431,
  HPE_CHUNK_EXTENSIONS_OVERFLOW: 413,
  ERR_HTTP_REQUEST_TIMEOUT: 408,
};

/**
 * A request Node could not parse (bad request line, headers, chunked framing...) or a
 * client socket that failed before a response owned it. Node has already taken its own
 * error listener off the socket, so one goes back on before anything is written to it.
 */
function answerClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
  socket.on('error', () => socket.destroy());
  // Only a connection nothing was written to yet can take a response without corrupting one.
  if (err.code === 'ECONNRESET' || (socket as Socket).bytesWritten > 0) {
    socket.destroy();
    return;
  }
  endWithError(socket, new HttpError(CLIENT_ERROR_STATUS[err.code ?? ''] ?? 400));
}

/** The path of a request target without its query, whatever else the target holds. */
function pathOf(target: string): string {
  const query = target.indexOf('?');
  return query < 0 ? target : target.slice(0, query);
}

/** Counts every answered request by its route template, so labels stay a small fixed set. */
function requestMetrics(metrics: Metrics) {
  return async (ctx: Context, next: Next): Promise<void> => {
    try {
      await next();
    } finally {
      const matched = ctx._matchedRoute;
      const route = typeof matched === 'string' ? matched : ctx.status === 404 ? 'unmatched' : 'other';
      metrics.httpRequests.inc({ method: ctx.method, route, status: String(ctx.status) });
    }
  };
}

/** HTTP(S) listener: path prefix, CORS, REST router, the viewer's static files and the WebSocket upgrade. */
export class HttpServer {
  private readonly server: Server;
  private closing: Promise<void> | null = null;
  /** Malformed requests and socket errors are anyone's to cause, as often as they like. */
  private readonly clientErrors = new BurstLog();

  constructor(private readonly opts: HttpServerOptions) {
    const app = new Koa({ proxy: opts.proxy ?? false });
    app.silent = true;
    if (opts.metrics) app.use(requestMetrics(opts.metrics));
    if (opts.cors && opts.cors.length > 0) app.use(cors(opts.cors));
    app.use(errorMapper(opts.logger));
    app.use(opts.router.routes());
    app.use(opts.router.allowedMethods());
    if (opts.staticDir) app.use(serveStatic(opts.staticDir, frameHeaders(opts.embedOrigins ?? [])));
    const handle = app.callback();

    const prefix = normalizePrefix(opts.pathPrefix);
    const onRequest = (req: IncomingMessage, res: ServerResponse) => {
      const url = req.url ?? '/';
      const inner = stripPrefix(url, prefix);
      if (inner === null) {
        res.writeHead(404, { 'Content-Type': 'application/json' });
        res.end(`${JSON.stringify(new HttpError(404).body())}\n`);
        return;
      }
      // Relative links of the viewer resolve against the prefix only with its trailing slash.
      if (prefix && (url === prefix || url.startsWith(`${prefix}?`)) && (req.method === 'GET' || req.method === 'HEAD')) {
        res.writeHead(301, { Location: `${prefix}/${url.slice(prefix.length)}` });
        res.end();
        return;
      }
      req.url = inner;
      void handle(req, res);
    };

    const tls = opts.tls ? { cert: readFileSync(opts.tls.cert), key: readFileSync(opts.tls.key) } : null;
    this.server = tls ? createTlsServer(tls, onRequest) : createServer(onRequest);
    this.server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
      logBurst(this.clientErrors, opts.logger, 'debug', { code: err.code, err: err.message }, 'malformed request or client socket error');
      answerClientError(err, socket);
    });
    this.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      // Node has taken its error listener off an upgrading socket: a reset would otherwise be fatal.
      socket.on('error', () => socket.destroy());
      const inner = stripPrefix(req.url ?? '/', prefix);
      if (inner === null || pathOf(inner) !== '/api/ws') {
        endWithError(socket, new HttpError(404));
        return;
      }
      req.url = inner;
      opts.gateway.handleUpgrade(req, socket, head);
    });
  }

  async listen(): Promise<AddressInfo> {
    const { host, port } = parseBind(this.opts.bind);
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    // Failures after listening (e.g. accept() out of file descriptors) are not fatal.
    this.server.on('error', (err) => logBurst(this.clientErrors, this.opts.logger, 'error', { err }, 'http server error'));
    const addr = this.server.address() as AddressInfo;
    this.opts.logger.info({ address: addr.address, port: addr.port, tls: Boolean(this.opts.tls) }, 'http listening');
    return addr;
  }

  /** Stops accepting and closes open connections; idempotent, and every call waits for the end. */
  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
    return this.closing;
  }
}
