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

/** Source of members and their credentials (contract §4). */
export interface MemberProvider {
  /** Resolves the member for these credentials; throws HttpError 401 when they do not match. */
  authenticate(username: string, password: string): Promise<AuthenticatedMember>;
  close(): Promise<void>;
}

const PROFILE_KEYS: ReadonlyArray<keyof MemberProfile> = [
  'name', 'is_admin', 'can_login', 'can_connect', 'can_watch', 'can_host', 'can_share_media',
  'can_access_clipboard', 'sends_inactive_cursor', 'can_see_inactive_cursors', 'plugins',
];

/**
 * Merges a partial profile from an untrusted source over `base`, taking only known keys
 * whose value has the right type; anything else is ignored rather than stored.
 */
export function mergeProfile(base: MemberProfile, patch: unknown): MemberProfile {
  const out: MemberProfile = { ...base };
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
