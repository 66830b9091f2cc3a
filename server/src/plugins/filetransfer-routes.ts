import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { rename, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { Router } from '@koa/router';
import type { Context, Middleware, Next } from 'koa';
import { koaBody } from 'koa-body';
import { sessionOf } from '../api/auth.js';
import { HttpError, badRequest, forbidden, notFound } from '../errors.js';
import type { Logger } from '../log.js';
import { BadFilename, UPLOAD_TEMP_PREFIX, entryName, type FileAction, type FileTransferPlugin } from './filetransfer.js';

export interface FileTransferRoutesOptions {
  plugin: FileTransferPlugin;
  /** The §1.2 session guard. */
  auth: Middleware;
  logger: Logger;
  /** Hard limits of one upload request. */
  maxUploadBytes?: number;
  maxUploadFiles?: number;
}

const DEFAULT_MAX_UPLOAD_BYTES = 1 << 30;
const DEFAULT_MAX_UPLOAD_FILES = 64;

const DENIED: Record<FileAction, string> = {
  download: 'file download is not allowed for non-admin users',
  upload: 'file upload is not allowed for non-admin users',
  delete: 'file delete is not allowed for non-admin users',
};

/** Guard: plugin enabled for the caller, then the non-admin permission for `action`. */
function requireAction(plugin: FileTransferPlugin, action: FileAction): Middleware {
  return async (ctx: Context, next: Next) => {
    const session = sessionOf(ctx);
    if (!plugin.enabledFor(session)) throw forbidden('file transfer is disabled');
    if (!plugin.allows(session, action)) throw forbidden(DENIED[action]);
    await next();
  };
}

function queryName(ctx: Context): string {
  const value = ctx.query.filename;
  return typeof value === 'string' ? value : '';
}

function target(plugin: FileTransferPlugin, name: string): string {
  try {
    return plugin.pathOf(name);
  } catch (err) {
    if (err instanceof BadFilename) throw badRequest(err.message);
    throw err;
  }
}

/** `bytes=a-b`, `bytes=a-`, `bytes=-n` within `size`; null = serve whole; 'bad' = 416. */
function parseRange(header: string, size: number): { start: number; end: number } | null | 'bad' {
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  // Multiple ranges or other units: ignoring Range and sending everything is allowed.
  if (!m || (m[1] === '' && m[2] === '')) return null;
  let start: number;
  let end: number;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0) return 'bad';
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  if (start >= size || start > end) return 'bad';
  return { start, end };
}

/** RFC 6266 header: an ASCII fallback plus the exact UTF-8 name. */
function attachment(name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]|["\\]/g, '_');
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name)}`;
}

function isMissing(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/** `GET|POST|DELETE /api/filetransfer` (contract §10.2). */
export function mountFileTransferRoutes(router: Router, opts: FileTransferRoutesOptions): void {
  const { plugin, auth, logger } = opts;
  const maxBytes = opts.maxUploadBytes ?? DEFAULT_MAX_UPLOAD_BYTES;
  const maxFiles = opts.maxUploadFiles ?? DEFAULT_MAX_UPLOAD_FILES;

  router.get('/api/filetransfer', auth, requireAction(plugin, 'download'), async (ctx: Context) => {
    const name = queryName(ctx);
    const file = target(plugin, name);
    let size: number;
    try {
      const st = await stat(file);
      if (!st.isFile()) throw notFound('file not found');
      size = st.size;
    } catch (err) {
      if (isMissing(err)) throw notFound('file not found');
      throw err;
    }
    ctx.set('Accept-Ranges', 'bytes');
    ctx.set('Content-Disposition', attachment(path.basename(file)));
    ctx.type = 'application/octet-stream';
    const range = ctx.get('range') ? parseRange(ctx.get('range'), size) : null;
    if (range === 'bad') {
      ctx.set('Content-Range', `bytes */${size}`);
      throw new HttpError(416, 'requested range not satisfiable');
    }
    if (range) {
      ctx.status = 206;
      ctx.set('Content-Range', `bytes ${range.start}-${range.end}/${size}`);
      ctx.body = createReadStream(file, range);
      ctx.length = range.end - range.start + 1;
    } else {
      ctx.status = 200;
      ctx.body = createReadStream(file);
      ctx.length = size;
    }
  });

  /** A parser per request, so every temporary file it creates is known and cleaned up. */
  const multipart = (temporary: Set<string>) =>
    koaBody({
      multipart: true,
      json: false,
      text: false,
      urlencoded: false,
      formidable: {
        uploadDir: plugin.dir,
        maxFiles,
        maxFileSize: maxBytes,
        maxTotalFileSize: maxBytes,
        maxFields: 16,
        maxFieldsSize: 64 * 1024,
        allowEmptyFiles: true,
        minFileSize: 0,
        filter: (part) => part.name === 'files',
        // Received under a private temporary name; the real name is only used by rename.
        filename: () => {
          const name = `${UPLOAD_TEMP_PREFIX}${randomBytes(12).toString('hex')}`;
          temporary.add(path.join(plugin.dir, name));
          return name;
        },
      },
      onError: (err) => {
        const code = (err as { httpCode?: unknown }).httpCode;
        throw code === 413 ? new HttpError(413, 'upload too large') : badRequest('error parsing form');
      },
    });

  router.post('/api/filetransfer', auth, requireAction(plugin, 'upload'), async (ctx: Context) => {
    if (!ctx.is('multipart')) throw badRequest('error parsing form');
    const temporary = new Set<string>();
    try {
      await multipart(temporary)(ctx, async () => {});
      const received = ctx.request.files?.files;
      const files = received === undefined ? [] : Array.isArray(received) ? received : [received];
      const names = files.map((f) => {
        try {
          return entryName(f.originalFilename ?? '');
        } catch {
          throw badRequest('bad filename');
        }
      });
      for (const [i, f] of files.entries()) {
        try {
          await rename(f.filepath, path.join(plugin.dir, names[i]!));
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code;
          if (code === 'EISDIR' || code === 'ENOTEMPTY' || code === 'EEXIST') throw badRequest('a folder has that name');
          throw err;
        }
        temporary.delete(f.filepath);
        logger.info({ session_id: sessionOf(ctx).id, file: names[i], size: f.size }, 'file uploaded');
      }
    } finally {
      for (const file of temporary) await unlink(file).catch(() => {});
      plugin.scheduleRefresh();
    }
    ctx.status = 200;
    ctx.body = '';
  });

  router.delete('/api/filetransfer', auth, requireAction(plugin, 'delete'), async (ctx: Context) => {
    const file = target(plugin, queryName(ctx));
    try {
      await unlink(file);
    } catch (err) {
      if (isMissing(err)) throw notFound('file not found');
      if ((err as NodeJS.ErrnoException).code === 'EISDIR' || (err as NodeJS.ErrnoException).code === 'EPERM') {
        throw badRequest('only files can be deleted');
      }
      throw err;
    }
    logger.info({ session_id: sessionOf(ctx).id, file: path.basename(file) }, 'file deleted');
    plugin.scheduleRefresh();
    ctx.status = 200;
    ctx.body = '';
  });
}
