import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Koa, { type Context, type Next } from 'koa';
import { Router } from '@koa/router';
import { HttpError } from '../errors.js';
import type { Logger } from '../log.js';
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
}

function parseBind(bind: string): { host: string; port: number } {
  const idx = bind.lastIndexOf(':');
  const host = idx > 0 ? bind.slice(0, idx).replace(/^\[|\]$/g, '') : '0.0.0.0';
  const port = Number(idx >= 0 ? bind.slice(idx + 1) : bind);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`invalid bind address ${bind}`);
  return { host: host || '0.0.0.0', port };
}

/** The one place errors become HTTP responses: HttpError → its status, anything else → 500. */
function errorMapper(logger: Logger) {
  return async (ctx: Context, next: Next): Promise<void> => {
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) sendJson(ctx, 404, new HttpError(404).body());
    } catch (err) {
      const status = (err as { status?: unknown }).status;
      const httpErr = err instanceof HttpError
        ? err
        : typeof status === 'number' && status >= 400 && status < 500
          ? new HttpError(status, (err as Error).message)
          : null;
      if (httpErr) {
        sendJson(ctx, httpErr.status, httpErr.body());
        if (httpErr.status === 405) ctx.set('Allow', (err as { headers?: { Allow?: string } }).headers?.Allow ?? '');
      } else {
        logger.error({ err, method: ctx.method, path: ctx.path }, 'request failed');
        sendJson(ctx, 500, new HttpError(500).body());
      }
    }
  };
}

/** HTTP listener: REST router, the viewer's static files and the WebSocket upgrade. */
export class HttpServer {
  private readonly server: Server;
  private closed = false;

  constructor(private readonly opts: HttpServerOptions) {
    const app = new Koa();
    app.silent = true;
    app.use(errorMapper(opts.logger));
    app.use(opts.router.routes());
    app.use(opts.router.allowedMethods({ throw: true }));
    if (opts.staticDir) app.use(serveStatic(opts.staticDir));
    this.server = createServer(app.callback());
    this.server.on('upgrade', (req, socket, head) => {
      const path = new URL(req.url ?? '/', 'http://localhost').pathname;
      if (path !== '/api/ws') {
        socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
        return;
      }
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
    this.opts.logger.info({ address: addr.address, port: addr.port }, 'http listening');
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
