import { notFound, unauthorized, unprocessable } from '../errors.js';
import type { Logger } from '../log.js';
import { burnVerification, hashPassword, isScryptHash, verifyPassword, type LegacyScheme } from './password.js';
import type { AuthenticatedMember, MemberData, MemberProfile, MemberProvider } from './types.js';

export interface StoredMember {
  /** An scrypt hash, or a legacy base64(SHA-256) read from a neko member file. */
  password: string;
  profile: MemberProfile;
}

export type MemberMap = ReadonlyMap<string, StoredMember>;

export interface MemberStoreOptions {
  members: MemberMap;
  /** How a non-scrypt stored password is compared. */
  legacy: LegacyScheme;
  logger: Logger;
  /** Writes the complete new member set; a change is kept only once this succeeds. */
  persist?: (members: MemberMap) => Promise<void>;
  /** Persisted copy still holds legacy passwords although memory does not: rewrite it on the next login. */
  staleOnDisk?: boolean;
}

/**
 * Loads passwords that arrived in clear (config, or a member file with hashing off) as
 * scrypt hashes, so no clear password is kept in memory or ever written back.
 */
export async function hashClearPasswords(members: MemberMap): Promise<Map<string, StoredMember>> {
  const entries = await Promise.all(
    [...members].map(async ([id, entry]): Promise<[string, StoredMember]> => {
      const password = isScryptHash(entry.password) ? entry.password : await hashPassword(entry.password);
      return [id, { password, profile: entry.profile }];
    }),
  );
  return new Map(entries);
}

/**
 * The member provider behind `file` and `object` (contract §4): members keyed by username,
 * which is also the session id. Changes are serialized and applied to a copy that replaces
 * the current set only after `persist` succeeded, so memory never runs ahead of the disk.
 */
export class MemberStore implements MemberProvider {
  private members: MemberMap;
  private queue: Promise<unknown> = Promise.resolve();
  private staleOnDisk: boolean;

  constructor(private readonly opts: MemberStoreOptions) {
    this.members = opts.members;
    this.staleOnDisk = opts.staleOnDisk ?? false;
  }

  async authenticate(username: string, password: string): Promise<AuthenticatedMember> {
    const entry = this.members.get(username);
    if (!entry) {
      await burnVerification(password);
      throw unauthorized();
    }
    const { ok, upgrade } = await verifyPassword(password, entry.password, this.opts.legacy);
    if (!ok) throw unauthorized();
    if (upgrade || this.staleOnDisk) await this.upgrade(username, entry.password, upgrade ? password : null);
    return { id: username, profile: { ...entry.profile } };
  }

  /** Replaces a legacy stored form after a successful login; failure must not fail the login. */
  private async upgrade(id: string, stored: string, password: string | null): Promise<void> {
    try {
      const hash = password === null ? null : await hashPassword(password);
      await this.change((next) => {
        const current = next.get(id);
        // A password changed meanwhile wins over the login that saw the old one.
        if (hash !== null && current && current.password === stored) next.set(id, { ...current, password: hash });
      });
      this.opts.logger.info({ member_id: id }, password === null ? 'legacy passwords rewritten as scrypt' : 'stored password upgraded to scrypt');
    } catch (err) {
      this.opts.logger.error({ err, member_id: id }, 'could not upgrade stored password');
    }
  }

  async list(limit: number, offset: number): Promise<MemberData[]> {
    const all = [...this.members].map(([id, entry]) => ({ id, profile: { ...entry.profile } }));
    return all.slice(offset, limit > 0 ? offset + limit : undefined);
  }

  async get(id: string): Promise<MemberProfile> {
    return { ...this.existing(this.members, id).profile };
  }

  async create(username: string, password: string, profile: MemberProfile): Promise<MemberData> {
    if (this.members.has(username)) throw unprocessable('member already exists');
    const hash = await hashPassword(password);
    await this.change((next) => {
      if (next.has(username)) throw unprocessable('member already exists');
      next.set(username, { password: hash, profile: { ...profile } });
    });
    return { id: username, profile: { ...profile } };
  }

  async update(id: string, profile: MemberProfile): Promise<void> {
    await this.change((next) => {
      next.set(id, { ...this.existing(next, id), profile: { ...profile } });
    });
  }

  async delete(id: string): Promise<void> {
    await this.change((next) => {
      this.existing(next, id);
      next.delete(id);
    });
  }

  async setPassword(id: string, password: string): Promise<void> {
    this.existing(this.members, id);
    const hash = await hashPassword(password);
    await this.change((next) => {
      next.set(id, { ...this.existing(next, id), password: hash });
    });
  }

  /** Waits for queued changes; the store holds no other resources. */
  async close(): Promise<void> {
    await this.queue;
  }

  private existing(members: MemberMap, id: string): StoredMember {
    const entry = members.get(id);
    if (!entry) throw notFound('member not found');
    return entry;
  }

  private change(apply: (next: Map<string, StoredMember>) => void): Promise<void> {
    const run = this.queue.then(async () => {
      const next = new Map(this.members);
      apply(next);
      await this.opts.persist?.(next);
      this.members = next;
      this.staleOnDisk = false;
    });
    this.queue = run.catch(() => {});
    return run;
  }
}
