import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import Koa, { type Context, type Next } from 'koa';
import { Router } from '@koa/router';
import { HttpError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import { cors } from '../api/cors.js';
import { sendJson } from '../api/http-util.js';
import { serveStatic } from './static.js';
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
  private closed = false;

  constructor(private readonly opts: HttpServerOptions) {
    const app = new Koa({ proxy: opts.proxy ?? false });
    app.silent = true;
    if (opts.metrics) app.use(requestMetrics(opts.metrics));
    if (opts.cors && opts.cors.length > 0) app.use(cors(opts.cors));
    app.use(errorMapper(opts.logger));
    app.use(opts.router.routes());
    app.use(opts.router.allowedMethods());
    if (opts.staticDir) app.use(serveStatic(opts.staticDir));
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
    this.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      const inner = stripPrefix(req.url ?? '/', prefix);
      if (inner === null || new URL(inner, 'http://localhost').pathname !== '/api/ws') {
        socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
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
    const addr = this.server.address() as AddressInfo;
    this.opts.logger.info({ address: addr.address, port: addr.port, tls: Boolean(this.opts.tls) }, 'http listening');
    return addr;
  }

  /** Stops accepting and closes open connections; idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}
