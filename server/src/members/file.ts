import { readFile } from 'node:fs/promises';
import type { Logger } from '../log.js';
import { AtomicFile } from './atomic-file.js';
import { isScryptHash } from './password.js';
import { hashClearPasswords, MemberStore, type MemberMap, type StoredMember } from './store.js';
import { mergeProfile, newMemberProfile } from './types.js';

export interface FileProviderOptions {
  path: string;
  /** `member.file.hash`: legacy (non-scrypt) passwords in the file are base64(SHA-256), else clear. */
  hash: boolean;
  logger: Logger;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Parses neko's member file format `{"<username>": {"password", "profile"}}`. Profile keys
 * absent from an entry take the defaults of a newly created member.
 */
export function parseMemberFile(text: string, source: string): Map<string, StoredMember> {
  const members = new Map<string, StoredMember>();
  if (text.trim() === '') return members;
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new Error(`${source}: not valid JSON (${(err as Error).message})`);
  }
  if (!isObject(data)) throw new Error(`${source}: expected an object of members keyed by username`);
  for (const [username, entry] of Object.entries(data)) {
    if (!isObject(entry) || typeof entry.password !== 'string') {
      throw new Error(`${source}: member ${JSON.stringify(username)} needs a string "password"`);
    }
    if (entry.profile !== undefined && !isObject(entry.profile)) {
      throw new Error(`${source}: member ${JSON.stringify(username)} has a "profile" that is not an object`);
    }
    members.set(username, { password: entry.password, profile: mergeProfile(newMemberProfile(username), entry.profile) });
  }
  return members;
}

export function serializeMemberFile(members: MemberMap): string {
  const out = Object.fromEntries([...members].map(([id, { password, profile }]) => [id, { password, profile }]));
  return `${JSON.stringify(out, null, 2)}\n`;
}

/**
 * The `file` provider: members in a JSON file, rewritten atomically on every change.
 * Passwords are written only as scrypt hashes; a neko file's legacy passwords still log in
 * and are replaced by scrypt hashes on the next successful login or password change.
 */
export async function openFileProvider(opts: FileProviderOptions): Promise<MemberStore> {
  if (!opts.path) throw new Error('member.file.path must be set for the file member provider');
  const file = new AtomicFile(opts.path);
  await file.removeStaleTemp();
  let text: string | null;
  try {
    text = await readFile(opts.path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    text = null;
  }
  const loaded = text === null ? new Map<string, StoredMember>() : parseMemberFile(text, opts.path);
  const legacyCount = [...loaded.values()].filter((m) => !isScryptHash(m.password)).length;
  const clearOnDisk = !opts.hash && legacyCount > 0;
  const members = opts.hash ? loaded : await hashClearPasswords(loaded);
  const persist = (next: MemberMap) => file.write(() => serializeMemberFile(next));
  // Creating the file now surfaces a bad path at startup rather than at the first change.
  if (text === null) await persist(members);
  opts.logger.info({ path: opts.path, members: members.size, legacy_passwords: legacyCount }, 'member file loaded');
  return new MemberStore({ members, legacy: opts.hash ? 'sha256' : 'plain', logger: opts.logger, persist, staleOnDisk: clearOnDisk });
}
