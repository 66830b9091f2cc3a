import type { Router } from '@koa/router';
import type { Context, Middleware } from 'koa';
import { requireAdmin, sessionOf } from '../api/auth.js';
import { noContent, readJson } from '../request/http-util.js';
import { badRequest, forbidden } from '../errors.js';
import { ChatRefused, type ChatPlugin } from './chat.js';

export interface ChatRoutesOptions {
  chat: ChatPlugin;
  /** The §1.2 session guard. */
  auth: Middleware;
  maxBody: number;
}

/** `POST /api/chat` (contract §10.1): an admin posts a message as itself. */
export function mountChatRoutes(router: Router, opts: ChatRoutesOptions): void {
  const { chat } = opts;
  router.post('/api/chat', opts.auth, requireAdmin, async (ctx: Context) => {
    const session = sessionOf(ctx);
    if (!chat.canSend(session)) throw forbidden('not allowed to send chat messages');
    const body = await readJson(ctx, opts.maxBody);
    const text = (body as { text?: unknown } | null)?.text;
    if (typeof body !== 'object' || typeof text !== 'string') throw badRequest('unable to parse provided data');
    try {
      chat.send(session, text);
    } catch (err) {
      if (err instanceof ChatRefused) throw badRequest(err.message);
      throw err;
    }
    noContent(ctx);
  });
}
