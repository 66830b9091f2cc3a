import { IncomingMessage, ServerResponse, type IncomingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';
import type { Router } from '@koa/router';
import type Koa from 'koa';
import type { Context } from 'koa';
import { HttpError, internal } from '../errors.js';
import type { Logger } from '../log.js';
import { readJson, sendJson } from '../request/http-util.js';

/** Sub-requests per batch; each runs a whole request through the app, so keep it bounded. */
export const MAX_BATCH_ITEMS = 100;
/** Largest sub-response body kept for the answer; a bigger one is cut off with 500. */
const MAX_SUB_RESPONSE_BYTES = 8 << 20;

const EXCLUDED = new Set(['/api/batch', '/api/ws']);
const METHODS = new Set(['GET', 'POST', 'DELETE']);
/** Describe the outer request's body; a sub-request gets its own. */
const BODY_HEADERS = ['content-length', 'content-type', 'transfer-encoding', 'content-encoding', 'expect'];

const SUB_REQUEST = Symbol('batch sub-request');

interface BatchItem {
  path: string;
  method: string;
  body?: unknown;
}

interface BatchResult {
  path: string;
  method: string;
  body?: unknown;
  status: number;
}

export interface BatchRoutesOptions {
  maxBody: number;
  logger: Logger;
}

function parseItems(raw: unknown): BatchItem[] {
  if (!Array.isArray(raw)) throw internal();
  return raw.map((item: unknown) => {
    const o = item as Partial<Record<keyof BatchItem, unknown>> | null;
    if (typeof o !== 'object' || o === null || typeof o.path !== 'string' || typeof o.method !== 'string') {
      throw internal();
    }
    return 'body' in o ? { path: o.path, method: o.method, body: o.body } : { path: o.path, method: o.method };
  });
}

function pathname(path: string): string {
  const end = path.search(/[?#]/);
  return (end < 0 ? path : path.slice(0, end)).replace(/\/+$/, '');
}

/** A response that keeps what is written instead of sending it anywhere. */
class CapturedResponse extends ServerResponse {
  private readonly chunks: Buffer[] = [];
  private size = 0;
  overflow = false;
  readonly done: Promise<void>;

  constructor(req: IncomingMessage) {
    super(req);
    this.done = new Promise((resolve) => this.once('finish', () => resolve()));
  }

  private keep(chunk: unknown, encoding?: unknown): void {
    if (chunk === undefined || chunk === null || typeof chunk === 'function') return;
    const buf = Buffer.isBuffer(chunk)
      ? chunk
      : typeof chunk === 'string'
        ? Buffer.from(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8')
        : Buffer.from(chunk as Uint8Array);
    this.size += buf.length;
    if (this.size > MAX_SUB_RESPONSE_BYTES) this.overflow = true;
    else this.chunks.push(buf);
  }

  override write(chunk: unknown, encoding?: unknown, cb?: unknown): boolean {
    this.keep(chunk, encoding);
    const callback = [encoding, cb].find((f) => typeof f === 'function') as (() => void) | undefined;
    if (callback) process.nextTick(callback);
    return true;
  }

  override end(chunk?: unknown, encoding?: unknown, cb?: unknown): this {
    if (this.writableEnded) return this;
    this.keep(chunk, encoding);
    // Mark the response finished the way the real one does, so Koa and stream helpers see it.
    (this as { finished: boolean }).finished = true;
    const callback = [chunk, encoding, cb].find((f) => typeof f === 'function') as (() => void) | undefined;
    process.nextTick(() => {
      this.emit('prefinish');
      this.emit('finish');
      callback?.();
    });
    return this;
  }

  body(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

/**
 * A socket stand-in carrying the outer connection's address and TLS flag, so client address
 * and protocol look the same inside a sub-request; it can neither be read nor destroyed.
 */
function socketLike(outer: Socket): Socket {
  return {
    remoteAddress: outer.remoteAddress,
    remotePort: outer.remotePort,
    remoteFamily: outer.remoteFamily,
    encrypted: (outer as { encrypted?: boolean }).encrypted,
    readable: false,
    writable: false,
    destroyed: true,
    readableHighWaterMark: 16384,
  } as unknown as Socket;
}

function subRequest(outer: IncomingMessage, item: BatchItem, method: string): IncomingMessage {
  const req = new IncomingMessage(socketLike(outer.socket));
  const headers: IncomingHttpHeaders = { ...outer.headers };
  for (const name of BODY_HEADERS) delete headers[name];
  const body = item.body === undefined ? null : Buffer.from(JSON.stringify(item.body));
  if (body) {
    headers['content-type'] = 'application/json';
    headers['content-length'] = String(body.length);
  }
  req.method = method;
  req.url = item.path;
  req.headers = headers;
  req.httpVersion = '1.1';
  req.httpVersionMajor = 1;
  req.httpVersionMinor = 1;
  (req as IncomingMessage & { [SUB_REQUEST]?: true })[SUB_REQUEST] = true;
  if (body) req.push(body);
  req.push(null);
  req.complete = true;
  return req;
}

/** The sub-response body as JSON for the answer: JSON as is, text as a string, bytes left out. */
function embed(res: CapturedResponse): unknown {
  const body = res.body();
  if (body.length === 0) return undefined;
  const type = String(res.getHeader('content-type') ?? '');
  if (type.includes('json')) {
    try {
      return JSON.parse(body.toString('utf8'));
    } catch {
      return body.toString('utf8');
    }
  }
  return type.startsWith('text/') ? body.toString('utf8') : undefined;
}

function refused(status: number, message?: string): { status: number; body: unknown } {
  return { status, body: new HttpError(status, message).body() };
}

const dispatchers = new WeakMap<Koa, ReturnType<Koa['callback']>>();

/**
 * `POST /api/batch` (contract §3.4): runs each sub-request in order through the same Koa
 * app with the outer request's headers, so guards, limits and the error mapping apply to
 * each exactly as to a direct request.
 */
export function mountBatchRoutes(router: Router, opts: BatchRoutesOptions): void {
  router.post('/api/batch', async (ctx: Context) => {
    if ((ctx.req as IncomingMessage & { [SUB_REQUEST]?: true })[SUB_REQUEST]) {
      throw new HttpError(400, 'this path is excluded from batch requests');
    }
    let raw: unknown;
    try {
      raw = await readJson(ctx, opts.maxBody);
    } catch (err) {
      // The contract answers any unreadable outer body with 500, oversized ones excepted.
      if (err instanceof HttpError && err.status === 400) throw internal();
      throw err;
    }
    const items = parseItems(raw);
    if (items.length > MAX_BATCH_ITEMS) throw new HttpError(413, `at most ${MAX_BATCH_ITEMS} requests per batch`);

    let dispatch = dispatchers.get(ctx.app);
    if (!dispatch) dispatchers.set(ctx.app, (dispatch = ctx.app.callback()));

    const run = async (item: BatchItem): Promise<{ status: number; body?: unknown }> => {
      const method = item.method.toUpperCase();
      const path = pathname(item.path);
      if (!item.path.startsWith('/api/') && path !== '/api') return refused(400, 'this path is not allowed in batch requests');
      if (EXCLUDED.has(path)) return refused(400, 'this path is excluded from batch requests');
      if (!METHODS.has(method)) return refused(405);
      const req = subRequest(ctx.req, item, method);
      const res = new CapturedResponse(req);
      await dispatch(req, res);
      await res.done;
      if (res.overflow) {
        opts.logger.warn({ path: item.path }, 'batch sub-response too large');
        return refused(500, 'response too large for a batch');
      }
      return { status: res.statusCode, body: embed(res) };
    };

    const results: BatchResult[] = [];
    for (const item of items) {
      const { status, body } = await run(item);
      // The contract's key order: path, method, body?, status.
      results.push(
        body === undefined
          ? { path: item.path, method: item.method, status }
          : { path: item.path, method: item.method, body, status },
      );
    }
    sendJson(ctx, 200, results);
  });
}
