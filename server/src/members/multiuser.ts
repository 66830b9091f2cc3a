import { randomBytes, timingSafeEqual } from 'node:crypto';
import { internal, unauthorized } from '../errors.js';
import type { Logger } from '../log.js';
import { fullProfile, mergeProfile, type AuthenticatedMember, type MemberData, type MemberProfile, type MemberProvider } from './types.js';

export interface MultiuserOptions {
  userPassword: string;
  adminPassword: string;
  /** Merged over the default profiles; unknown or mistyped keys are ignored. */
  userProfile: object;
  adminProfile: object;
  logger: Logger;
}

const ID_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

/** `<username>-<5 random chars>`: every login gets a fresh session id (contract §4). */
export function randomSessionId(username: string): string {
  const bytes = randomBytes(5);
  let suffix = '';
  for (const b of bytes) suffix += ID_ALPHABET[b % ID_ALPHABET.length];
  return `${username}-${suffix}`;
}

function samePassword(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Providers whose members exist only as live sessions (contract §4 "Management API"):
 * nothing to list, nothing to create or delete. Profile updates succeed because the
 * caller applies them to the live session; the store itself has nothing to keep.
 */
abstract class SessionOnlyProvider implements MemberProvider {
  constructor(protected readonly logger: Logger) {}

  abstract authenticate(username: string, password: string): Promise<AuthenticatedMember>;

  private unsupported(operation: string, id: string): never {
    this.logger.warn({ operation, member_id: id }, 'members are not stored by this provider');
    throw internal();
  }

  async list(): Promise<MemberData[]> {
    return [];
  }

  async get(id: string): Promise<MemberProfile> {
    return this.unsupported('get', id);
  }

  async create(username: string): Promise<MemberData> {
    return this.unsupported('create', username);
  }

  async update(): Promise<void> {}

  async delete(id: string): Promise<void> {
    return this.unsupported('delete', id);
  }

  async setPassword(id: string): Promise<void> {
    return this.unsupported('password', id);
  }

  async close(): Promise<void> {}
}

/** Two shared passwords: one for admins, one for users (the default provider). */
export class MultiuserProvider extends SessionOnlyProvider {
  constructor(private readonly opts: MultiuserOptions) {
    super(opts.logger);
  }

  async authenticate(username: string, password: string): Promise<AuthenticatedMember> {
    // Admin is checked first so identical passwords resolve to the stronger role.
    let profile;
    if (samePassword(password, this.opts.adminPassword)) {
      profile = mergeProfile(fullProfile(''), this.opts.adminProfile);
    } else if (samePassword(password, this.opts.userPassword)) {
      const base = { ...fullProfile(''), is_admin: false, can_see_inactive_cursors: false };
      profile = mergeProfile(base, this.opts.userProfile);
    } else {
      throw unauthorized();
    }
    if (!profile.name) profile.name = username;
    return { id: randomSessionId(username), profile };
  }
}

/** Anyone gets in with full rights: for trusted, private deployments. */
export class NoauthProvider extends SessionOnlyProvider {
  async authenticate(username: string): Promise<AuthenticatedMember> {
    return { id: randomSessionId(username), profile: fullProfile(username) };
  }
}
