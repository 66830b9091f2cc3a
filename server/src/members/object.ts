import type { Logger } from '../log.js';
import { hashClearPasswords, MemberStore, type StoredMember } from './store.js';
import { mergeProfile, newMemberProfile } from './types.js';

export interface ObjectUser {
  username: string;
  password: string;
  /** Merged over the defaults of a newly created member. */
  profile: object;
}

/**
 * The `object` provider: members from `member.object.users`, managed in memory only.
 * Passwords arrive in clear from the configuration and are kept as scrypt hashes.
 */
export async function openObjectProvider(users: ObjectUser[], logger: Logger): Promise<MemberStore> {
  const members = new Map<string, StoredMember>();
  for (const user of users) {
    if (members.has(user.username)) throw new Error(`member.object.users: ${JSON.stringify(user.username)} is listed twice`);
    members.set(user.username, { password: user.password, profile: mergeProfile(newMemberProfile(user.username), user.profile) });
  }
  logger.info({ members: members.size }, 'object members loaded');
  return new MemberStore({ members: await hashClearPasswords(members), legacy: 'plain', logger });
}
