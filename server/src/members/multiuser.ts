import { randomBytes } from 'node:crypto';
import { timingSafeEqual } from 'node:crypto';
import { unauthorized } from '../errors.js';
import { fullProfile, mergeProfile, type AuthenticatedMember, type MemberProvider } from './types.js';

export interface MultiuserOptions {
  userPassword: string;
  adminPassword: string;
  /** Merged over the default profiles; unknown or mistyped keys are ignored. */
  userProfile: object;
  adminProfile: object;
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

/** Two shared passwords: one for admins, one for users (the default provider). */
export class MultiuserProvider implements MemberProvider {
  constructor(private readonly opts: MultiuserOptions) {}

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

  async close(): Promise<void> {}
}

/** Anyone gets in with full rights: for trusted, private deployments. */
export class NoauthProvider implements MemberProvider {
  async authenticate(username: string): Promise<AuthenticatedMember> {
    return { id: randomSessionId(username), profile: fullProfile(username) };
  }

  async close(): Promise<void> {}
}
