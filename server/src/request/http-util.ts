import type { Context } from 'koa';
import { HttpError, badRequest } from '../errors.js';

/** Contract §0: JSON bodies are followed by a newline. */
export function sendJson(ctx: Context, status: number, body: unknown): void {
  ctx.status = status;
  ctx.type = 'application/json';
  ctx.body = `${JSON.stringify(body)}\n`;
}

export function noContent(ctx: Context): void {
  ctx.status = 204;
  ctx.body = null;
}

/**
 * Reads and parses a JSON request body with a hard size limit, giving the contract's
 * messages for an empty body and for one that does not parse.
 */
export async function readJson(ctx: Context, limit: number): Promise<unknown> {
  const declared = Number(ctx.get('content-length') || 0);
  if (declared > limit) throw new HttpError(413, 'request body too large');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new HttpError(413, 'request body too large');
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') throw badRequest('no data provided');
  try {
    return JSON.parse(text);
  } catch {
    throw badRequest('unable to parse provided data');
  }
}
