import type { File } from 'formidable';
import type { Context } from 'koa';
import { koaBody } from 'koa-body';
import { HttpError, badRequest } from '../errors.js';
import type { UploadSpool } from './spool.js';

/** Hard limits of one multipart upload request. */
export interface UploadLimits {
  maxFiles: number;
  /** Bytes per file; enforced while receiving, so no more of a file ever reaches disk. */
  maxFileBytes: number;
  /** Bytes of all files together; enforced while receiving as well. */
  maxTotalBytes: number;
}

/** Room for the multipart framing and the small fields around the files. */
const FORM_OVERHEAD = 1 << 20;
/** Form fields (coordinates) are tiny; anything beyond this is not a real client. */
const MAX_FIELDS = 16;
const MAX_FIELDS_BYTES = 64 << 10;

export interface MultipartForm {
  fields: Record<string, string | string[]>;
  /** The file parts of the file field, in order. */
  files: File[];
}

export interface ReadMultipartOptions {
  limits: UploadLimits;
  /** Receives the file parts; the caller moves them on and closes it. */
  spool: UploadSpool;
  /** File parts of other fields are skipped, never written. */
  fileField: string;
  /** Message of the `400` for a body that is no valid multipart form. */
  invalid: string;
}

/**
 * `413` past a cap. The rest of a refused body is not read: the connection is closed after
 * the answer.
 */
function tooLarge(ctx: Context): HttpError {
  ctx.set('Connection', 'close');
  return new HttpError(413, 'upload too large');
}

/** Refuses, before anything is read or written, a body declared larger than the caps allow. */
export function refuseDeclaredOversize(ctx: Context, limits: UploadLimits): void {
  const declared = Number(ctx.get('content-length') || 0);
  if (declared > limits.maxTotalBytes + FORM_OVERHEAD) throw tooLarge(ctx);
}

/**
 * Parses multipart/form-data with hard limits, its file parts written through `spool` (never
 * to formidable's own temporary files). A body that grows past a cap is cut off with `413`;
 * any other failure is `400` with `invalid`. Whatever was received stays the spool's to
 * remove.
 */
export async function readMultipart(ctx: Context, opts: ReadMultipartOptions): Promise<MultipartForm> {
  const { limits, spool } = opts;
  const parser = koaBody({
    multipart: true,
    json: false,
    urlencoded: false,
    text: false,
    formidable: {
      fileWriteStreamHandler: spool.writer,
      maxFiles: limits.maxFiles,
      maxFileSize: limits.maxFileBytes,
      maxTotalFileSize: limits.maxTotalBytes,
      maxFields: MAX_FIELDS,
      maxFieldsSize: MAX_FIELDS_BYTES,
      allowEmptyFiles: true,
      minFileSize: 0,
      filter: (part) => part.name === opts.fileField,
    },
  });
  try {
    await parser(ctx, async () => {});
  } catch (err) {
    if ((err as { httpCode?: unknown }).httpCode === 413) throw tooLarge(ctx);
    throw badRequest(opts.invalid);
  }
  const files = ctx.request.files;
  if (!ctx.is('multipart') || !files) throw badRequest(opts.invalid);
  const parts = files[opts.fileField];
  return {
    fields: (ctx.request.body ?? {}) as Record<string, string | string[]>,
    files: parts === undefined ? [] : spool.inSentOrder(Array.isArray(parts) ? parts : [parts]),
  };
}
