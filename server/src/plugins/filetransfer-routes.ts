import type { Stats } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import type { Router } from '@koa/router';
import type { Context, Middleware, Next } from 'koa';
import { sessionOf } from '../api/auth.js';
import { HttpError, badRequest, forbidden, internal, notFound } from '../errors.js';
import { FolderMoved, NotAPlainFile, errorCode, type Folder } from '../files/folder.js';
import { readMultipart, refuseDeclaredOversize } from '../files/multipart.js';
import { UploadSpool } from '../files/spool.js';
import type { Logger } from '../log.js';
import { BadFilename, UPLOAD_TEMP_PREFIX, entryName, type FileAction, type FileTransferPlugin } from './filetransfer.js';

export interface FileTransferRoutesOptions {
  plugin: FileTransferPlugin;
  /** The §1.2 session guard. */
  auth: Middleware;
  logger: Logger;
}

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

function checkedName(name: string): string {
  try {
    return entryName(name);
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

/**
 * Not there as far as a client can tell: missing, or only reachable through a link (which
 * the listing does not offer either), or the folder itself is gone or replaced by a link.
 */
function isMissing(err: unknown): boolean {
  if (err instanceof NotAPlainFile || err instanceof FolderMoved) return true;
  const code = errorCode(err);
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/** The folder for a download or delete; one that is gone holds no file. */
async function openFolder(plugin: FileTransferPlugin): Promise<Folder> {
  try {
    return await plugin.openFolder();
  } catch (err) {
    if (isMissing(err)) throw notFound('file not found');
    throw err;
  }
}

/** A plain file of the folder, opened for reading; `404` for anything else. */
async function openPlainFile(plugin: FileTransferPlugin, name: string): Promise<{ handle: FileHandle; stats: Stats }> {
  const folder = await openFolder(plugin);
  try {
    return await folder.openFile(name);
  } catch (err) {
    if (isMissing(err)) throw notFound('file not found');
    throw err;
  } finally {
    await folder.close();
  }
}

/** `GET|POST|DELETE /api/filetransfer` (contract §10.2). */
export function mountFileTransferRoutes(router: Router, opts: FileTransferRoutesOptions): void {
  const { plugin, auth, logger } = opts;

  router.get('/api/filetransfer', auth, requireAction(plugin, 'download'), async (ctx: Context) => {
    const name = checkedName(queryName(ctx));
    // Size and content come from the descriptor checked when opened, whatever happens to the name now.
    const { handle, stats } = await openPlainFile(plugin, name);
    const size = stats.size;
    ctx.set('Accept-Ranges', 'bytes');
    ctx.set('Content-Disposition', attachment(name));
    ctx.type = 'application/octet-stream';
    const range = ctx.get('range') ? parseRange(ctx.get('range'), size) : null;
    if (range === 'bad') {
      await handle.close();
      ctx.set('Content-Range', `bytes */${size}`);
      throw new HttpError(416, 'requested range not satisfiable');
    }
    // Koa destroys the stream when the response ends, which closes the descriptor.
    if (range) {
      ctx.status = 206;
      ctx.set('Content-Range', `bytes ${range.start}-${range.end}/${size}`);
      ctx.body = handle.createReadStream(range);
      ctx.length = range.end - range.start + 1;
    } else if (size === 0) {
      await handle.close();
      ctx.status = 200;
      ctx.body = Buffer.alloc(0);
    } else {
      ctx.status = 200;
      // Bounded: a file growing meanwhile must not overrun the announced length.
      ctx.body = handle.createReadStream({ start: 0, end: size - 1 });
      ctx.length = size;
    }
  });

  router.post('/api/filetransfer', auth, requireAction(plugin, 'upload'), async (ctx: Context) => {
    if (!ctx.is('multipart')) throw badRequest('error parsing form');
    const limits = plugin.uploadLimits;
    refuseDeclaredOversize(ctx, limits);
    let folder: Folder;
    try {
      folder = await plugin.openFolder();
    } catch (err) {
      logger.error({ err, dir: plugin.dir }, 'upload refused: the file transfer folder is not available');
      throw internal('file transfer folder is not available');
    }
    // Parts are received under private temporary names in the folder itself, so storing one
    // is a rename: it replaces an entry of that name, a link included, never writing through it.
    const spool = new UploadSpool(folder, { prefix: UPLOAD_TEMP_PREFIX, maxFileBytes: limits.maxFileBytes });
    try {
      const form = await readMultipart(ctx, { limits, spool, fileField: 'files', invalid: 'error parsing form' });
      const names = form.files.map((f) => {
        try {
          return entryName(f.originalFilename ?? '');
        } catch {
          throw badRequest('bad filename');
        }
      });
      for (const [i, f] of form.files.entries()) {
        const received = spool.file(f);
        try {
          await received.moveTo(folder, names[i]!, true);
        } catch (err) {
          const code = errorCode(err);
          if (code === 'EISDIR' || code === 'ENOTEMPTY' || code === 'EEXIST') throw badRequest('a folder has that name');
          throw err;
        }
        logger.info({ session_id: sessionOf(ctx).id, file: names[i], size: received.size }, 'file uploaded');
      }
    } finally {
      await spool.close();
      plugin.scheduleRefresh();
    }
    ctx.status = 200;
    ctx.body = '';
  });

  router.delete('/api/filetransfer', auth, requireAction(plugin, 'delete'), async (ctx: Context) => {
    const name = checkedName(queryName(ctx));
    const folder = await openFolder(plugin);
    try {
      // Only what the listing offers: a link is neither deleted through nor (being unseen) deleted.
      const st = await folder.lstat(name);
      if (st.isDirectory()) throw badRequest('only files can be deleted');
      if (!st.isFile() || st.nlink !== 1) throw notFound('file not found');
      await folder.unlink(name);
    } catch (err) {
      if (isMissing(err)) throw notFound('file not found');
      throw err;
    } finally {
      await folder.close();
    }
    logger.info({ session_id: sessionOf(ctx).id, file: name }, 'file deleted');
    plugin.scheduleRefresh();
    ctx.status = 200;
    ctx.body = '';
  });
}
