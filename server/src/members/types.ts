import { HttpError, badRequest } from '../errors.js';

/** Contract §2.1: the permissions a member (and its live session) carries. */
export interface MemberProfile {
  name: string;
  is_admin: boolean;
  can_login: boolean;
  can_connect: boolean;
  can_watch: boolean;
  can_host: boolean;
  can_share_media: boolean;
  can_access_clipboard: boolean;
  sends_inactive_cursor: boolean;
  can_see_inactive_cursors: boolean;
  plugins: Record<string, unknown> | null;
}

export interface AuthenticatedMember {
  /** Session id the member logs in as (contract §4: provider-specific). */
  id: string;
  profile: MemberProfile;
}

/** Contract §2.3 MemberData. */
export interface MemberData {
  id: string;
  profile: MemberProfile;
}

/**
 * Source of members and their credentials (contract §4). Management calls throw HttpError:
 * 404 "member not found" for an unknown id, 422 "member already exists", and 500 for what a
 * provider cannot do (multiuser and noauth have no member store).
 */
export interface MemberProvider {
  /** Resolves the member for these credentials; throws HttpError 401 when they do not match. */
  authenticate(username: string, password: string): Promise<AuthenticatedMember>;
  /** `limit` 0 = no limit. */
  list(limit: number, offset: number): Promise<MemberData[]>;
  get(id: string): Promise<MemberProfile>;
  create(username: string, password: string, profile: MemberProfile): Promise<MemberData>;
  /** Replaces the stored profile (callers merge partial updates first). */
  update(id: string, profile: MemberProfile): Promise<void>;
  delete(id: string): Promise<void>;
  setPassword(id: string, password: string): Promise<void>;
  close(): Promise<void>;
}

export const PROFILE_KEYS: ReadonlyArray<keyof MemberProfile> = [
  'name', 'is_admin', 'can_login', 'can_connect', 'can_watch', 'can_host', 'can_share_media',
  'can_access_clipboard', 'sends_inactive_cursor', 'can_see_inactive_cursors', 'plugins',
];

/**
 * Hard limits on what a client may store in a member. A profile goes to every client in
 * `system/init` and `session/profile`, so it must stay small.
 */
export const LIMITS = {
  username: 256,
  password: 1024,
  name: 256,
  /** UTF-8 bytes of the profile fields one request sets, as JSON. */
  profileBytes: 16 << 10,
  /** JSON nesting of those fields: the profile object is 1, `plugins` 2, a value inside it 3. */
  profileDepth: 5,
} as const;

/** Whether `value` nests deeper than `limit`; stops descending at the limit, so any input is cheap. */
function deeperThan(value: unknown, limit: number): boolean {
  if (typeof value !== 'object' || value === null) return false;
  if (limit <= 0) return true;
  return Object.values(value).some((child) => deeperThan(child, limit - 1));
}

/**
 * Refuses profile fields past LIMITS: a name that is too long or a profile nested too deep
 * is a malformed request (400); one that is too large is 413, like an oversized body.
 */
export function checkProfileLimits(fields: Partial<MemberProfile>): void {
  if (fields.name !== undefined && fields.name.length > LIMITS.name) throw badRequest('name is too long');
  if (deeperThan(fields, LIMITS.profileDepth)) throw badRequest(`profile is nested deeper than ${LIMITS.profileDepth} levels`);
  if (Buffer.byteLength(JSON.stringify(fields)) > LIMITS.profileBytes) {
    throw new HttpError(413, `profile is larger than ${LIMITS.profileBytes} bytes`);
  }
}

/**
 * Merges a partial profile from an untrusted source over `base`, taking only known keys
 * whose value has the right type; anything else is ignored rather than stored.
 */
export function mergeProfile(base: MemberProfile, patch: unknown): MemberProfile {
  return { ...base, ...pickProfile(patch) };
}

/** The known keys of `patch` whose value has the right type. */
export function pickProfile(patch: unknown): Partial<MemberProfile> {
  const out: Partial<MemberProfile> = {};
  if (typeof patch !== 'object' || patch === null) return out;
  const src = patch as Record<string, unknown>;
  for (const key of PROFILE_KEYS) {
    if (!(key in src)) continue;
    const value = src[key];
    if (key === 'name') {
      if (typeof value === 'string') out.name = value;
    } else if (key === 'plugins') {
      if (value === null || (typeof value === 'object' && !Array.isArray(value))) {
        out.plugins = value as Record<string, unknown> | null;
      }
    } else if (typeof value === 'boolean') {
      out[key] = value;
    }
  }
  return out;
}

/**
 * Reads a partial profile from a request body strictly: a known key with the wrong type is a
 * 400 (as a typed JSON decoder would refuse it), unknown keys are ignored, LIMITS are
 * enforced. Absent keys stay absent so the result can be merged over a current profile.
 */
export function parseProfilePatch(value: unknown, message = 'unable to parse provided data'): Partial<MemberProfile> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw badRequest(message);
  const src = value as Record<string, unknown>;
  const out: Partial<MemberProfile> = {};
  for (const key of PROFILE_KEYS) {
    if (!Object.hasOwn(src, key)) continue;
    const v = src[key];
    if (key === 'name') {
      if (typeof v !== 'string') throw badRequest(message);
      out.name = v;
    } else if (key === 'plugins') {
      if (v !== null && (typeof v !== 'object' || Array.isArray(v))) throw badRequest(message);
      out.plugins = v as Record<string, unknown> | null;
    } else {
      if (typeof v !== 'boolean') throw badRequest(message);
      out[key] = v;
    }
  }
  checkProfileLimits(out);
  return out;
}

export function fullProfile(name: string): MemberProfile {
  return {
    name,
    is_admin: true,
    can_login: true,
    can_connect: true,
    can_watch: true,
    can_host: true,
    can_share_media: true,
    can_access_clipboard: true,
    sends_inactive_cursor: true,
    can_see_inactive_cursors: true,
    plugins: null,
  };
}

/** Contract §3.2: a new member is not an admin and has every other permission. */
export function newMemberProfile(name: string): MemberProfile {
  return { ...fullProfile(name), is_admin: false };
}
