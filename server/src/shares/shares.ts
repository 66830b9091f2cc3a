import { randomBytes } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { SignJWT, errors as joseErrors, jwtVerify } from 'jose';
import { notFound, unauthorized, unprocessable } from '../errors.js';
import type { Logger } from '../log.js';
import { AtomicFile } from '../members/atomic-file.js';
import type { SessionManager } from '../sessions/manager.js';
import type { Session } from '../sessions/session.js';
import { SHARE_ALG, loadShareKey, type ShareKey } from './key.js';
import { parseLockedSettings } from './locked-settings.js';
import { SHARE_SCOPES, type ShareScope } from './profile.js';

export const SHARE_ISSUER = 'neko-ts';
export const SHARE_AUDIENCE = 'neko-ts:share';
export const SHARES_FILE = 'shares.json';

/** Hard limits on what an admin may ask for and on what a caller may send as a token. */
export const SHARE_LIMITS = {
  name: 64,
  maxExpiresIn: 366 * 24 * 3600,
  maxUses: 100_000,
  /** Live (unexpired or still owning sessions) links at once. */
  maxShares: 1000,
  tokenLength: 4096,
} as const;

/** One link as the registry keeps it; the token itself is never stored. */
export interface ShareRecord {
  id: string;
  scope: ShareScope;
  name: string;
  created_at: string;
  expires_at: string;
  /** Uses granted; absent = unlimited. */
  uses?: number;
  uses_left?: number;
  /** Room settings the sessions this link made may not change; absent = none. */
  locked_settings?: string[];
  revoked: boolean;
  /** Ids of the sessions this link made that still exist. */
  sessions: string[];
}

export interface ShareRequest {
  scope: ShareScope;
  name: string;
  /** Seconds. */
  expiresIn: number;
  uses?: number;
  lockedSettings?: string[];
}

export interface ShareServiceOptions {
  /** share.key: PEM text or file; empty = the key kept in `dir`. */
  key: string;
  /** share.dir: state folder for the key and the registry; empty = memory only. */
  dir: string;
  sessions: SessionManager;
  logger: Logger;
}

export interface Redeemed {
  record: ShareRecord;
  /** Display name of the session to make. */
  sessionName: string;
}

function parseRecord(value: unknown): ShareRecord | null {
  if (typeof value !== 'object' || value === null) return null;
  const r = value as Record<string, unknown>;
  const count = (v: unknown) => v === undefined || (typeof v === 'number' && Number.isInteger(v) && v >= 0);
  if (typeof r.id !== 'string' || !SHARE_SCOPES.includes(r.scope as ShareScope) || typeof r.name !== 'string') return null;
  if (typeof r.created_at !== 'string' || typeof r.expires_at !== 'string' || Number.isNaN(Date.parse(r.expires_at))) return null;
  if (!count(r.uses) || !count(r.uses_left) || typeof r.revoked !== 'boolean') return null;
  if (!Array.isArray(r.sessions) || !r.sessions.every((s) => typeof s === 'string')) return null;
  let locked: string[] | undefined;
  if (r.locked_settings !== undefined) {
    try {
      locked = parseLockedSettings(r.locked_settings);
    } catch {
      return null;
    }
  }
  return {
    id: r.id,
    scope: r.scope as ShareScope,
    name: r.name,
    created_at: r.created_at,
    expires_at: r.expires_at,
    ...(r.uses === undefined ? {} : { uses: r.uses as number, uses_left: (r.uses_left as number | undefined) ?? 0 }),
    ...(locked === undefined ? {} : { locked_settings: locked }),
    revoked: r.revoked,
    sessions: r.sessions as string[],
  };
}

/** Why jose refused a token, in words a person opening the link can act on. */
function refusal(err: unknown): string {
  if (err instanceof joseErrors.JWTExpired) return 'share link has expired';
  if (err instanceof joseErrors.JWTClaimValidationFailed) {
    if (err.claim === 'nbf' || err.claim === 'iat') return 'share link is not valid yet';
    if (err.claim === 'iss' || err.claim === 'aud') return 'share token is not for this server';
    return 'share token is malformed';
  }
  if (err instanceof joseErrors.JOSEAlgNotAllowed) return 'share token algorithm is not allowed';
  if (err instanceof joseErrors.JWSSignatureVerificationFailed) return 'share token signature is invalid';
  return 'share token is malformed';
}

/**
 * Signed share links: mints tokens, keeps the registry (uses left, revocation, the sessions
 * each link made) in the state folder, and turns a token into a session name once it has
 * passed the signature, claim and registry checks.
 */
export class ShareService {
  private readonly records = new Map<string, ShareRecord>();
  private closed = false;
  private readonly onDeleted = (session: Session) => this.forget(session.id);

  private constructor(
    private readonly key: ShareKey,
    private readonly file: AtomicFile | null,
    private readonly opts: ShareServiceOptions,
    loaded: ShareRecord[],
  ) {
    for (const record of loaded) this.records.set(record.id, record);
    opts.sessions.on('deleted', this.onDeleted);
  }

  static async open(opts: ShareServiceOptions): Promise<ShareService> {
    if (opts.dir) await mkdir(opts.dir, { recursive: true, mode: 0o700 });
    const key = await loadShareKey(opts.key, opts.dir);
    const file = opts.dir ? new AtomicFile(path.join(opts.dir, SHARES_FILE)) : null;
    const loaded: ShareRecord[] = [];
    if (file) {
      await file.removeStaleTemp();
      const text = await readFile(file.path, 'utf8').catch((err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') return null;
        throw err;
      });
      if (text !== null) {
        let data: unknown;
        try {
          data = JSON.parse(text);
        } catch {
          // Failing safe: an unreadable registry could hide revocations, so no link is honoured.
          throw new Error(`share registry ${file.path} is not valid JSON`);
        }
        const entries = (data as { shares?: unknown }).shares;
        if (!Array.isArray(entries)) throw new Error(`share registry ${file.path} has no shares array`);
        for (const entry of entries) {
          const record = parseRecord(entry);
          if (record) loaded.push(record);
          else opts.logger.warn({ path: file.path }, 'share registry entry skipped');
        }
      }
    }
    const service = new ShareService(key, file, opts, loaded);
    // Sessions may have been deleted while the server was down (or never restored).
    for (const record of loaded) record.sessions = record.sessions.filter((id) => opts.sessions.get(id));
    opts.logger.info({ shares: loaded.length, persistent: Boolean(file) }, 'share links loaded');
    return service;
  }

  async create(req: ShareRequest, now = Date.now()): Promise<{ record: ShareRecord; token: string }> {
    this.prune(now);
    if (this.records.size >= SHARE_LIMITS.maxShares) throw unprocessable('too many share links');
    const id = randomBytes(12).toString('base64url');
    const iat = Math.floor(now / 1000);
    const exp = iat + req.expiresIn;
    const locked = req.lockedSettings?.length ? [...req.lockedSettings] : undefined;
    const record: ShareRecord = {
      id,
      scope: req.scope,
      name: req.name,
      created_at: new Date(iat * 1000).toISOString(),
      expires_at: new Date(exp * 1000).toISOString(),
      ...(req.uses === undefined ? {} : { uses: req.uses, uses_left: req.uses }),
      ...(locked === undefined ? {} : { locked_settings: locked }),
      revoked: false,
      sessions: [],
    };
    const token = await new SignJWT({
      scope: req.scope,
      name: req.name,
      ...(req.uses === undefined ? {} : { uses: req.uses }),
      ...(locked === undefined ? {} : { locked_settings: locked }),
    })
      .setProtectedHeader({ alg: SHARE_ALG, typ: 'JWT' })
      .setIssuer(SHARE_ISSUER)
      .setAudience(SHARE_AUDIENCE)
      .setJti(id)
      .setIssuedAt(iat)
      .setNotBefore(iat)
      .setExpirationTime(exp)
      .sign(this.key.privateKey);
    this.records.set(id, record);
    await this.save();
    this.opts.logger.info(
      { share_id: id, scope: req.scope, expires_at: record.expires_at, uses: req.uses, locked_settings: locked },
      'share link created',
    );
    return { record: structuredClone(record), token };
  }

  list(now = Date.now()): ShareRecord[] {
    this.prune(now);
    return [...this.records.values()].map((r) => structuredClone(r));
  }

  /** Revokes a link; with `disconnect`, also deletes the sessions it made (session/deleted, system/disconnect). */
  async revoke(id: string, disconnect: boolean): Promise<ShareRecord> {
    const record = this.records.get(id);
    if (!record) throw notFound('share not found');
    record.revoked = true;
    await this.save();
    if (disconnect) {
      for (const sessionId of [...record.sessions]) {
        const session = this.opts.sessions.get(sessionId);
        if (session) this.opts.sessions.delete(session);
      }
    }
    this.opts.logger.info({ share_id: id, disconnect }, 'share link revoked');
    return structuredClone(record);
  }

  /**
   * Checks a token (signature with the pinned algorithm, issuer, audience, time, registry)
   * and takes one use; throws 401 with the reason otherwise. `admit` may still refuse the
   * link's scope (e.g. locked logins) before a use is taken.
   */
  async redeem(token: string, admit: (scope: ShareScope) => void = () => {}, now = Date.now()): Promise<Redeemed> {
    if (token.length === 0 || token.length > SHARE_LIMITS.tokenLength) throw unauthorized('share token is malformed');
    let claims: Record<string, unknown>;
    try {
      ({ payload: claims } = await jwtVerify(token, this.key.publicKey, {
        algorithms: [SHARE_ALG],
        issuer: SHARE_ISSUER,
        audience: SHARE_AUDIENCE,
        requiredClaims: ['jti', 'exp', 'nbf', 'scope', 'name'],
        currentDate: new Date(now),
      }));
    } catch (err) {
      throw unauthorized(refusal(err));
    }
    // Checked after the await: a revocation or the last use taken meanwhile must win.
    const record = typeof claims.jti === 'string' ? this.records.get(claims.jti) : undefined;
    if (!record) throw unauthorized('share link is unknown');
    if (record.scope !== claims.scope || record.name !== claims.name) throw unauthorized('share token is malformed');
    // The signed claim and the registry must agree, so neither a forged registry nor a token of another link loosens the locks.
    if (!isDeepStrictEqual(claims.locked_settings, record.locked_settings)) throw unauthorized('share token is malformed');
    if (record.revoked) throw unauthorized('share link was revoked');
    if (Date.parse(record.expires_at) <= now) throw unauthorized('share link has expired');
    admit(record.scope);
    if (record.uses_left !== undefined) {
      if (record.uses_left <= 0) throw unauthorized('share link has no uses left');
      record.uses_left -= 1;
    }
    await this.save();
    const single = record.uses === 1;
    return { record: structuredClone(record), sessionName: single ? record.name : `${record.name}-${randomBytes(3).toString('hex')}` };
  }

  /** Room settings the session may not change because the link that made it locks them. */
  lockedSettings(sessionId: string): readonly string[] {
    for (const record of this.records.values()) {
      if (record.sessions.includes(sessionId)) return record.locked_settings ?? [];
    }
    return [];
  }

  /** Remembers that `sessionId` was made by link `shareId`, for revocation with disconnect. */
  async attach(shareId: string, sessionId: string): Promise<void> {
    const record = this.records.get(shareId);
    if (!record || record.sessions.includes(sessionId)) return;
    record.sessions.push(sessionId);
    await this.save();
  }

  /** Stops following sessions and waits for the last write; idempotent. */
  async close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      this.opts.sessions.off('deleted', this.onDeleted);
    }
    await this.file?.flush();
  }

  private forget(sessionId: string): void {
    for (const record of this.records.values()) {
      const at = record.sessions.indexOf(sessionId);
      if (at < 0) continue;
      record.sessions.splice(at, 1);
      this.save().catch(() => {});
    }
  }

  /** Expired links that no longer own a session are only history: their tokens fail on `exp` already. */
  private prune(now: number): void {
    for (const [id, record] of this.records) {
      if (Date.parse(record.expires_at) <= now && record.sessions.length === 0) this.records.delete(id);
    }
  }

  private async save(): Promise<void> {
    if (!this.file) return;
    try {
      await this.file.write(() => `${JSON.stringify({ shares: [...this.records.values()] })}\n`);
    } catch (err) {
      this.opts.logger.error({ err, path: this.file.path }, 'could not save share links');
      throw err;
    }
  }
}
