import { fullProfile, type MemberProfile } from '../members/types.js';

export const SHARE_SCOPES = ['view', 'control', 'admin'] as const;
export type ShareScope = (typeof SHARE_SCOPES)[number];

/** The profile of a session a share link makes: what its scope allows and nothing more. */
export function shareProfile(scope: ShareScope, name: string): MemberProfile {
  const full = fullProfile(name);
  if (scope === 'admin') return full;
  if (scope === 'control') return { ...full, is_admin: false };
  return {
    ...full,
    is_admin: false,
    can_host: false,
    can_share_media: false,
    can_access_clipboard: false,
    sends_inactive_cursor: false,
  };
}
