import type { Router } from '@koa/router';
import type { Context, Middleware } from 'koa';
import { HttpError, badRequest, internal } from '../errors.js';
import type { Logger } from '../log.js';
import { LIMITS, newMemberProfile, parseProfilePatch, type MemberProfile, type MemberProvider } from '../members/types.js';
import type { SessionManager } from '../sessions/manager.js';
import { requireAdmin, sessionOf } from './auth.js';
import { noContent, readJson, sendJson } from '../request/http-util.js';

export interface MembersRoutesOptions {
  sessions: SessionManager;
  members: MemberProvider;
  /** The §1.2 session guard, built once in main. */
  auth: Middleware;
  maxBody: number;
  logger: Logger;
}

/** Ids one bulk request may name: each one is a store write. */
export const MAX_BULK_IDS = 1000;

const UNMARSHAL = 'unable to unmarshal payload';

type Body = Record<string, unknown>;

function isObject(value: unknown): value is Body {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Contract §3.2: non-numeric → 0, `limit` 0 = unlimited; negatives count as 0 too. */
function queryInt(value: string | string[] | undefined): number {
  const text = Array.isArray(value) ? value[0] : value;
  if (text === undefined || !/^\d{1,9}$/.test(text)) return 0;
  return Number(text);
}

/** A string field, `''` when absent; any other type is a malformed body. */
function textField(body: Body, key: string, limit: number): string {
  const value = body[key] ?? '';
  if (typeof value !== 'string') throw badRequest('unable to parse provided data');
  if (value.length > limit) throw badRequest(`${key} is too long`);
  return value;
}

/** Bulk bodies answer every parse problem with one message (413 stays a 413). */
async function readBulk(ctx: Context, maxBody: number): Promise<Body> {
  let body: unknown;
  try {
    body = await readJson(ctx, maxBody);
  } catch (err) {
    if (err instanceof HttpError && err.status === 400) throw badRequest(UNMARSHAL);
    throw err;
  }
  if (!isObject(body) || !Array.isArray(body.ids) || !body.ids.every((id) => typeof id === 'string')) {
    throw badRequest(UNMARSHAL);
  }
  if (body.ids.length > MAX_BULK_IDS) throw badRequest(`at most ${MAX_BULK_IDS} ids per request`);
  return body;
}

/**
 * Members REST (contract §3.2). The provider holds the store; this layer keeps live
 * sessions in step: a member's profile is read from its live session first, an update
 * reaches the session too (broadcast and permission side effects follow from
 * SessionManager's `profile` event), and deleting a member deletes its session.
 */
export function mountMembersRoutes(router: Router, opts: MembersRoutesOptions): void {
  const { sessions, members, logger } = opts;
  const { auth } = opts;

  const lookup = async (id: string): Promise<MemberProfile> => {
    const session = sessions.get(id);
    return session ? { ...session.profile } : members.get(id);
  };

  const updateMember = async (id: string, patch: Partial<MemberProfile>): Promise<void> => {
    const next = { ...(await lookup(id)), ...patch };
    await members.update(id, next);
    const session = sessions.get(id);
    if (session) sessions.updateProfile(session, next);
  };

  const deleteMember = async (id: string): Promise<void> => {
    const session = sessions.get(id);
    if (session) sessions.delete(session);
    await members.delete(id);
  };

  router.get('/api/members', auth, async (ctx: Context) => {
    const list = await members.list(queryInt(ctx.query.limit), queryInt(ctx.query.offset));
    sendJson(ctx, 200, list);
  });

  router.post('/api/members', auth, requireAdmin, async (ctx: Context) => {
    const body = await readJson(ctx, opts.maxBody);
    if (!isObject(body)) throw badRequest('unable to parse provided data');
    const username = textField(body, 'username', LIMITS.username);
    const password = textField(body, 'password', LIMITS.password);
    const patch = parseProfilePatch(body.profile);
    if (username === '') throw badRequest('username cannot be empty');
    if (password === '') throw badRequest('password cannot be empty');
    const created = await members.create(username, password, { ...newMemberProfile(username), ...patch });
    logger.info({ member_id: created.id, by: sessionOf(ctx).id }, 'member created');
    sendJson(ctx, 200, created);
  });

  router.get('/api/members/:memberId', auth, requireAdmin, async (ctx: Context) => {
    sendJson(ctx, 200, await lookup(ctx.params.memberId!));
  });

  router.post('/api/members/:memberId', auth, requireAdmin, async (ctx: Context) => {
    const id = ctx.params.memberId!;
    await lookup(id);
    const body = await readJson(ctx, opts.maxBody);
    if (!isObject(body)) throw badRequest('unable to parse provided data');
    await updateMember(id, parseProfilePatch(body));
    logger.info({ member_id: id, by: sessionOf(ctx).id }, 'member profile updated');
    noContent(ctx);
  });

  router.delete('/api/members/:memberId', auth, requireAdmin, async (ctx: Context) => {
    const id = ctx.params.memberId!;
    await lookup(id);
    await deleteMember(id);
    logger.info({ member_id: id, by: sessionOf(ctx).id }, 'member deleted');
    noContent(ctx);
  });

  router.post('/api/members/:memberId/password', auth, requireAdmin, async (ctx: Context) => {
    const id = ctx.params.memberId!;
    await lookup(id);
    const body = await readJson(ctx, opts.maxBody);
    if (!isObject(body)) throw badRequest('unable to parse provided data');
    const password = textField(body, 'password', LIMITS.password);
    if (password === '') throw badRequest('password cannot be empty');
    await members.setPassword(id, password);
    logger.info({ member_id: id, by: sessionOf(ctx).id }, 'member password changed');
    noContent(ctx);
  });

  router.post('/api/members_bulk/update', auth, requireAdmin, async (ctx: Context) => {
    const body = await readBulk(ctx, opts.maxBody);
    if (!isObject(body.profile)) throw badRequest(UNMARSHAL);
    const patch = parseProfilePatch(body.profile, UNMARSHAL);
    for (const id of body.ids as string[]) {
      try {
        await updateMember(id, patch);
      } catch (err) {
        logger.warn({ err, member_id: id }, 'bulk member update stopped');
        throw internal(`failed to update member ${id}`);
      }
    }
    logger.info({ members: (body.ids as string[]).length, by: sessionOf(ctx).id }, 'members updated in bulk');
    noContent(ctx);
  });

  router.post('/api/members_bulk/delete', auth, requireAdmin, async (ctx: Context) => {
    const body = await readBulk(ctx, opts.maxBody);
    for (const id of body.ids as string[]) {
      try {
        await deleteMember(id);
      } catch (err) {
        logger.warn({ err, member_id: id }, 'bulk member delete stopped');
        throw internal(`failed to delete member ${id}`);
      }
    }
    logger.info({ members: (body.ids as string[]).length, by: sessionOf(ctx).id }, 'members deleted in bulk');
    noContent(ctx);
  });
}
