import type { Router } from '@koa/router';
import type { Context, Middleware, Next } from 'koa';
import type { File } from 'formidable';
import { HttpError, badRequest, forbidden, internal } from '../errors.js';
import { KeyboardMapError, MODIFIER_NAMES, type KeyboardModifiers } from '../desktop/keyboard.js';
import type { DesktopRoom } from '../desktop/room.js';
import { UploadNameError, uploadName, type IncomingFile } from '../desktop/upload.js';
import { readMultipart, refuseDeclaredOversize, type MultipartForm, type UploadLimits } from '../files/multipart.js';
import type { UploadSpool } from '../files/spool.js';
import type { Logger } from '../log.js';
import type { SessionManager } from '../sessions/manager.js';
import { requireAdmin, sessionOf } from './auth.js';
import { requireCanAccessClipboard, requireCanHost, requireCanWatch, requireHost } from './guards.js';
import { noContent, readJson, sendJson } from '../request/http-util.js';

export interface DesktopRoutesOptions {
  sessions: SessionManager;
  room: DesktopRoom;
  /** The §1.2 session guard, built once in main. */
  auth: Middleware;
  /** JSON body limit (`server.max_body`). */
  maxBody: number;
  /** `desktop.upload_drop`. */
  uploadDrop: boolean;
  /** `desktop.file_chooser_dialog`. */
  fileChooserDialog: boolean;
  /** `desktop.upload_max_files|upload_max_file_size|upload_max_total_size`. */
  uploadLimits: UploadLimits;
  logger: Logger;
}

const NO_CACHE = 'no-cache, no-store, must-revalidate';

/**
 * Room routes for the desktop (contract §3.3): clipboard, keyboard, screen, screenshots and
 * screencast, uploads.
 */
export function mountDesktopRoutes(router: Router, opts: DesktopRoutesOptions): void {
  const { sessions, room } = opts;
  const { features } = room;
  const { auth } = opts;
  const canHost = requireCanHost(sessions);
  const host = requireHost(sessions);
  const uploader = requireUploader(sessions);
  const failed = (what: string) => (err: unknown) => {
    if (err instanceof HttpError) throw err;
    opts.logger.error({ err }, `${what} failed`);
    throw internal();
  };
  const limits = opts.uploadLimits;
  /**
   * Receives the form into a spool of the upload folder and hands it to `use`; afterwards
   * whatever `use` did not place is removed.
   */
  const receive = async (ctx: Context, use: (form: MultipartForm, spool: UploadSpool) => Promise<void>) => {
    refuseDeclaredOversize(ctx, limits);
    const spool = await features.uploads.spool(limits.maxFileBytes).catch(failed('upload spool'));
    try {
      await use(await readMultipart(ctx, { limits, spool, fileField: 'files', invalid: 'failed to parse multipart form' }), spool);
    } finally {
      await spool.close();
    }
  };

  // ---- clipboard ----
  router.get('/api/room/clipboard', auth, requireCanAccessClipboard, host, async (ctx: Context) => {
    sendJson(ctx, 200, await features.clipboard.read().catch(failed('clipboard read')));
  });

  router.post('/api/room/clipboard', auth, requireCanAccessClipboard, host, async (ctx: Context) => {
    const body = jsonObject(await readJson(ctx, opts.maxBody));
    const content = { text: optional(body, 'text', 'string'), html: optional(body, 'html', 'string') };
    await features.clipboard.write(content).catch(failed('clipboard write'));
    noContent(ctx);
  });

  router.get('/api/room/clipboard/image.png', auth, requireCanAccessClipboard, host, async (ctx: Context) => {
    const png = await features.clipboard.readImage().catch(failed('clipboard image read'));
    sendImage(ctx, 'image/png', png);
  });

  // ---- keyboard ----
  router.get('/api/room/keyboard/map', auth, canHost, async (ctx: Context) => {
    sendJson(ctx, 200, await features.keyboard.map().catch(failed('keyboard map read')));
  });

  router.post('/api/room/keyboard/map', auth, canHost, host, async (ctx: Context) => {
    const body = jsonObject(await readJson(ctx, opts.maxBody));
    const layout = optional(body, 'layout', 'string') ?? '';
    const variant = optional(body, 'variant', 'string') ?? '';
    await features.keyboard.setMap({ layout, variant }).catch((err: unknown) => {
      if (err instanceof KeyboardMapError) throw badRequest(err.message);
      return failed('keyboard map change')(err);
    });
    noContent(ctx);
  });

  router.get('/api/room/keyboard/modifiers', auth, canHost, async (ctx: Context) => {
    sendJson(ctx, 200, await features.keyboard.modifiers().catch(failed('keyboard modifiers read')));
  });

  router.post('/api/room/keyboard/modifiers', auth, canHost, host, async (ctx: Context) => {
    const body = jsonObject(await readJson(ctx, opts.maxBody));
    const patch: Partial<KeyboardModifiers> = {};
    for (const name of MODIFIER_NAMES) {
      const value = optional(body, name, 'boolean');
      if (value !== undefined) patch[name] = value;
    }
    await features.keyboard.setModifiers(patch).catch(failed('keyboard modifiers change'));
    noContent(ctx);
  });

  // ---- screen ----
  router.get('/api/room/screen', auth, requireCanWatch, (ctx: Context) => {
    sendJson(ctx, 200, room.screenSize());
  });

  router.post('/api/room/screen', auth, requireCanWatch, requireAdmin, async (ctx: Context) => {
    const request = screenSize(await readJson(ctx, opts.maxBody));
    await room.setScreen(request, sessionOf(ctx));
    sendJson(ctx, 200, request);
  });

  router.get('/api/room/screen/configurations', auth, requireCanWatch, requireAdmin, (ctx: Context) => {
    sendJson(ctx, 200, room.screenConfigurations());
  });

  router.get('/api/room/screen/cast.jpg', auth, requireCanWatch, async (ctx: Context) => {
    sendImage(ctx, 'image/jpeg', await room.castImage(sessionOf(ctx)).catch(failed('screencast')));
  });

  router.get('/api/room/screen/shot.jpg', auth, requireCanWatch, requireAdmin, async (ctx: Context) => {
    const raw = ctx.query.quality;
    const asked = typeof raw === 'string' && /^\d{1,3}$/.test(raw) ? Number(raw) : NaN;
    const quality = asked >= 0 && asked <= 100 ? asked : 90;
    sendImage(ctx, 'image/jpeg', await features.screenshot(quality).catch(failed('screenshot')));
  });

  // ---- uploads ----
  router.post('/api/room/upload/drop', auth, uploader, async (ctx: Context) => {
    if (!opts.uploadDrop) throw badRequest('upload drop is disabled');
    await receive(ctx, async (form, spool) => {
      const x = coordinate(form.fields.x);
      if (x === null) throw badRequest('no X coordinate received');
      const y = coordinate(form.fields.y);
      if (y === null) throw badRequest('no Y coordinate received');
      await room.drop(x, y, namedFiles(form.files, spool));
    });
    noContent(ctx);
  });

  router.post('/api/room/upload/dialog', auth, uploader, async (ctx: Context) => {
    if (!opts.fileChooserDialog) throw badRequest('file chooser dialog is disabled');
    await receive(ctx, (form, spool) => room.dialogUpload(namedFiles(form.files, spool)));
    noContent(ctx);
  });

  router.delete('/api/room/upload/dialog', auth, uploader, async (ctx: Context) => {
    if (!opts.fileChooserDialog) throw badRequest('file chooser dialog is disabled');
    await room.closeDialog().catch(failed('file chooser dialog close'));
    noContent(ctx);
  });
}

/** Upload guard (§3.3): the host, or anyone who may host while implicit hosting is on. */
function requireUploader(sessions: SessionManager): Middleware {
  return async (ctx: Context, next: Next): Promise<void> => {
    const session = sessionOf(ctx);
    const allowed = sessions.host === session || (session.profile.can_host && sessions.settings.implicit_hosting);
    if (!allowed) throw forbidden('without implicit hosting, only host can upload files');
    await next();
  };
}

function sendImage(ctx: Context, type: string, bytes: Buffer): void {
  ctx.status = 200;
  ctx.type = type;
  ctx.set('Cache-Control', NO_CACHE);
  ctx.body = bytes;
}

function jsonObject(body: unknown): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badRequest('unable to parse provided data');
  return body as Record<string, unknown>;
}

function optional<T extends 'string' | 'boolean'>(
  body: Record<string, unknown>,
  key: string,
  type: T,
): (T extends 'string' ? string : boolean) | undefined {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== type) throw badRequest('unable to parse provided data');
  return value as T extends 'string' ? string : boolean;
}

const U16 = 0xffff;

/** ScreenSize body: integer width/height (1–65535) and 16-bit rate (0 allowed: means 60). */
function screenSize(body: unknown): { width: number; height: number; rate: number } {
  const o = jsonObject(body);
  const int = (key: string, min: number) => {
    const v = o[key] ?? 0;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > U16) throw badRequest('unable to parse provided data');
    return v;
  };
  return { width: int('width', 1), height: int('height', 1), rate: int('rate', 0) };
}

/** An integer form field, or null when absent or not an integer. */
function coordinate(field: string | string[] | undefined): number | null {
  const value = Array.isArray(field) ? field[0] : field;
  if (value === undefined || !/^-?\d{1,10}$/.test(value.trim())) return null;
  const n = Number(value.trim());
  return Math.abs(n) <= 0x7fffffff ? n : null;
}

/** The `files` parts with checked names; `400` when there are none or a name is unusable. */
function namedFiles(files: File[], spool: UploadSpool): IncomingFile[] {
  if (files.length === 0) throw badRequest('no files received');
  return files.map((f) => {
    try {
      return { name: uploadName(f.originalFilename ?? ''), file: spool.file(f) };
    } catch (err) {
      if (err instanceof UploadNameError) throw badRequest(`invalid file name: ${err.message}`);
      throw err;
    }
  });
}
