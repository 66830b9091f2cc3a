import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { extname, join, resolve, sep } from 'node:path';
import type { Context, Next } from 'koa';
import type { FrameHeaders } from './frame-policy.js';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.yaml': 'application/yaml',
};

/**
 * Serves files from `root` for GET/HEAD outside `/api`; never anything above `root`. HTML
 * pages carry `frame`, the embedding policy (scripts and images are not framed themselves).
 */
export function serveStatic(root: string, frame?: FrameHeaders) {
  const base = resolve(root);
  return async (ctx: Context, next: Next): Promise<void> => {
    if ((ctx.method !== 'GET' && ctx.method !== 'HEAD') || ctx.path.startsWith('/api/')) return next();
    let rel: string;
    try {
      rel = decodeURIComponent(ctx.path);
    } catch {
      return next();
    }
    if (rel.includes('\0')) return next();
    if (rel.endsWith('/')) rel += 'index.html';
    const file = resolve(join(base, rel));
    if (file !== base && !file.startsWith(base + sep)) return next();
    const info = await stat(file).catch(() => null);
    if (!info?.isFile()) return next();
    ctx.type = TYPES[extname(file)] ?? 'application/octet-stream';
    ctx.length = info.size;
    ctx.set('Cache-Control', 'no-cache');
    if (frame && extname(file) === '.html') ctx.set({ ...frame });
    ctx.body = ctx.method === 'HEAD' ? null : createReadStream(file);
  };
}
