// Who is in the room, who has control, the chat and the room settings, as one immutable
// value rebuilt by `reduceRoom` from server events and a few local intents. No DOM here, so
// the rules are testable in Node and any view (side panel, embedding page) can render it.
import type { ChatMessage, MemberProfile, ServerEvents, SessionState, Settings } from './protocol.js';

/** Chat lines kept in memory; older ones are dropped. */
export const CHAT_HISTORY = 200;
/** Longest chat message the viewer sends, in UTF-16 units. */
export const CHAT_MAX_LENGTH = 1000;
/** Pending control requests shown to the host; a flood beyond this is ignored. */
export const MAX_REQUESTS = 20;

export interface Member {
  id: string;
  profile: MemberProfile;
  state: SessionState;
}

export interface ChatLine {
  kind: 'message';
  /** Increases by one per line (message or notice), so views can tell new lines from old ones. */
  seq: number;
  from: string;
  created: string;
  text: string;
}

/** The room switches an admin can flip: settings flags, and plugin keys of `settings.plugins`. */
export const ROOM_FLAGS = [
  'private_mode', 'locked_logins', 'locked_controls', 'control_protection', 'implicit_hosting', 'inactive_cursors',
] as const satisfies ReadonlyArray<keyof Settings>;
export const ROOM_PLUGIN_SWITCHES = ['chat.can_send', 'chat.can_receive', 'filetransfer.enabled'] as const;
export type RoomFlag = (typeof ROOM_FLAGS)[number];
export type RoomPluginSwitch = (typeof ROOM_PLUGIN_SWITCHES)[number];
export type RoomSwitch = RoomFlag | RoomPluginSwitch;

/**
 * Something that happened in the room, told in the chat stream. Names are taken when it
 * happens, so a notice still reads right after the member has gone.
 */
export type RoomNotice =
  | { type: 'joined' | 'left' | 'removed'; name: string }
  /** `name` became host; `by` when someone else handed it over. */
  | { type: 'host'; name: string; by?: string }
  /** `name` is no longer host; `by` when someone else ended it. */
  | { type: 'released'; name: string; by?: string }
  | { type: 'setting'; setting: RoomSwitch; on: boolean; by?: string };

export interface NoticeLine {
  kind: 'notice';
  seq: number;
  created: string;
  notice: RoomNotice;
}

export type ChatEntry = ChatLine | NoticeLine;

export interface RoomState {
  sessionId: string | null;
  hostId: string | null;
  members: ReadonlyMap<string, Member>;
  settings: Settings | null;
  /** Only `chat/init` turns this on: a server without the chat plugin never sends it. */
  chatEnabled: boolean;
  /** Messages and room notices, oldest first. */
  chat: readonly ChatEntry[];
  /** We asked the current host for control and no host change has answered yet. */
  requested: boolean;
  /** Sessions that asked us, while host, for control; oldest first. */
  requests: readonly string[];
}

/** Server events the room follows. */
export const ROOM_EVENTS = [
  'system/init',
  'system/settings',
  'session/created',
  'session/deleted',
  'session/profile',
  'session/state',
  'control/host',
  'control/request',
  'chat/init',
  'chat/message',
] as const satisfies ReadonlyArray<keyof ServerEvents>;

export type RoomEvent = (typeof ROOM_EVENTS)[number];

/** `at`: when it happened (RFC 3339), for the notices it causes; the store sets it. */
export type RoomAction = (
  | { [E in RoomEvent]: { type: E; payload: ServerEvents[E] } }[RoomEvent]
  /** We sent `control/request` while someone else is host. */
  | { type: 'requested' }
  /** The host answered this session's request, or chose to ignore it. */
  | { type: 'dismiss'; id: string }
  /** The host declined our request. */
  | { type: 'denied' }
  /** Logged out: forget everything. */
  | { type: 'reset' }
) & { at?: string };

export function initialRoom(): RoomState {
  return {
    sessionId: null,
    hostId: null,
    members: new Map(),
    settings: null,
    chatEnabled: false,
    chat: [],
    requested: false,
    requests: [],
  };
}

const OFFLINE: SessionState = { is_connected: false, is_watching: false };

export function isHost(room: RoomState): boolean {
  return room.sessionId !== null && room.hostId === room.sessionId;
}

export function self(room: RoomState): Member | undefined {
  return room.sessionId === null ? undefined : room.members.get(room.sessionId);
}

export function memberName(room: RoomState, id: string): string {
  return room.members.get(id)?.profile.name || id;
}

function withMember(room: RoomState, id: string, change: (m: Member | undefined) => Member): RoomState {
  const members = new Map(room.members);
  members.set(id, change(members.get(id)));
  return { ...room, members };
}

function withoutRequest(room: RoomState, id: string): RoomState {
  return room.requests.includes(id) ? { ...room, requests: room.requests.filter((r) => r !== id) } : room;
}

function setHost(room: RoomState, hostId: string | null): RoomState {
  if (hostId === room.hostId) return room;
  const keepRequests = isHost(room) && hostId === room.sessionId;
  return { ...room, hostId, requested: false, requests: keepRequests ? room.requests : [] };
}

/** One of the room's switches as it stands; plugin keys default to on (contract §10). */
export function roomSwitch(settings: Settings | null, key: RoomSwitch): boolean {
  if (!settings) return false;
  if ((ROOM_FLAGS as readonly string[]).includes(key)) return settings[key as RoomFlag] === true;
  return pluginFlag(settings.plugins, key);
}

/** A flat plugin key: absent or null means the default, true; anything but `true` is off (as the server reads it). */
export function pluginFlag(plugins: Record<string, unknown> | null | undefined, key: string): boolean {
  const value = plugins?.[key];
  return value === undefined || value === null || value === true;
}

const ROOM_SWITCHES: readonly RoomSwitch[] = [...ROOM_FLAGS, ...ROOM_PLUGIN_SWITCHES];

/** What `action` changes that the people in the room should read about, judged against the room before it. */
export function noticesFor(room: RoomState, action: RoomAction): RoomNotice[] {
  // Before system/init there is nobody to tell and nothing to compare with.
  if (room.sessionId === null) return [];
  const name = (id: string | undefined) => (id ? memberName(room, id) : undefined);
  switch (action.type) {
    case 'session/state': {
      const { id, is_connected } = action.payload;
      const member = room.members.get(id);
      if (!member || id === room.sessionId || member.state.is_connected === is_connected) return [];
      return [{ type: is_connected ? 'joined' : 'left', name: memberName(room, id) }];
    }
    case 'session/deleted': {
      const member = room.members.get(action.payload.id);
      // Offline sessions expire quietly; only someone sent away while here is news.
      return member?.state.is_connected && member.id !== room.sessionId ? [{ type: 'removed', name: memberName(room, member.id) }] : [];
    }
    case 'control/host': {
      const { id: by, has_host, host_id } = action.payload;
      const next = has_host && host_id ? host_id : null;
      if (next === room.hostId) return [];
      if (next !== null) return [{ type: 'host', name: memberName(room, next), by: by && by !== next ? name(by) : undefined }];
      const previous = room.hostId!;
      return [{ type: 'released', name: memberName(room, previous), by: by && by !== previous ? name(by) : undefined }];
    }
    case 'system/settings': {
      if (!room.settings) return [];
      const { id: by, ...changed } = action.payload;
      const next = { ...room.settings, ...changed };
      return ROOM_SWITCHES.filter((key) => roomSwitch(next, key) !== roomSwitch(room.settings, key)).map((key) => ({
        type: 'setting' as const,
        setting: key,
        on: roomSwitch(next, key),
        by: name(by),
      }));
    }
    default:
      return [];
  }
}

/**
 * The room after `action`: server events and local intents applied, and what is worth
 * telling (joins, leaves, control and settings changes) added to the chat stream.
 */
export function reduceRoom(room: RoomState, action: RoomAction): RoomState {
  const next = applyAction(room, action);
  const notices = noticesFor(room, action);
  if (notices.length === 0) return next;
  let seq = next.chat.at(-1)?.seq ?? 0;
  const lines = notices.map((notice): NoticeLine => ({ kind: 'notice', seq: ++seq, created: action.at ?? '', notice }));
  return { ...next, chat: [...next.chat, ...lines].slice(-CHAT_HISTORY) };
}

function applyAction(room: RoomState, action: RoomAction): RoomState {
  switch (action.type) {
    case 'system/init': {
      const p = action.payload;
      const members = new Map<string, Member>();
      for (const [id, s] of Object.entries(p.sessions ?? {})) {
        members.set(id, { id, profile: s.profile, state: s.state ?? OFFLINE });
      }
      const control = p.control_host;
      return {
        ...initialRoom(),
        sessionId: p.session_id,
        hostId: control?.has_host && control.host_id ? control.host_id : null,
        members,
        settings: p.settings ?? null,
        // A reconnect of the same session keeps the conversation; a new login does not.
        chat: p.session_id === room.sessionId ? room.chat : [],
      };
    }
    case 'system/settings': {
      if (!room.settings) return room;
      const { id: _by, ...changed } = action.payload;
      return { ...room, settings: { ...room.settings, ...changed } };
    }
    case 'session/created': {
      const { id, profile, state } = action.payload;
      return withMember(room, id, () => ({ id, profile, state: state ?? OFFLINE }));
    }
    case 'session/deleted': {
      const { id } = action.payload;
      if (!room.members.has(id)) return withoutRequest(room, id);
      const members = new Map(room.members);
      members.delete(id);
      return withoutRequest({ ...room, members }, id);
    }
    case 'session/profile': {
      const { id, ...profile } = action.payload;
      return withMember(room, id, (m) => ({ id, profile, state: m?.state ?? OFFLINE }));
    }
    case 'session/state': {
      const { id, ...state } = action.payload;
      const member = room.members.get(id);
      // `session/created` always comes first; a state for someone unknown has nothing to show.
      if (!member) return room;
      const next = withMember(room, id, () => ({ ...member, state }));
      return state.is_connected ? next : withoutRequest(next, id);
    }
    case 'control/host': {
      const p = action.payload;
      return setHost(room, p.has_host && p.host_id ? p.host_id : null);
    }
    case 'control/request': {
      const { id } = action.payload;
      // The server also forwards the host's own request; only others' requests need an answer.
      if (!isHost(room) || typeof id !== 'string' || id === room.sessionId) return room;
      if (room.requests.includes(id) || room.requests.length >= MAX_REQUESTS) return room;
      return { ...room, requests: [...room.requests, id] };
    }
    case 'chat/init':
      return { ...room, chatEnabled: action.payload?.enabled === true };
    case 'chat/message': {
      const { id, created, content } = (action.payload ?? {}) as Partial<ChatMessage>;
      if (typeof id !== 'string' || typeof content?.text !== 'string') return room;
      const seq = (room.chat.at(-1)?.seq ?? 0) + 1;
      const line: ChatLine = { kind: 'message', seq, from: id, created: typeof created === 'string' ? created : '', text: content.text };
      return { ...room, chat: [...room.chat.slice(-(CHAT_HISTORY - 1)), line] };
    }
    case 'requested':
      return room.hostId === null || isHost(room) ? room : { ...room, requested: true };
    case 'dismiss':
      return withoutRequest(room, action.id);
    case 'denied':
      return room.requested ? { ...room, requested: false } : room;
    case 'reset':
      return initialRoom();
  }
}

/** Contract §10: a plugin permission holds unless the room (for non-admins) or the profile turns it off. */
export function pluginAllows(room: RoomState, key: string, member: Member | undefined = self(room)): boolean {
  const profile = member?.profile;
  const byRoom = pluginFlag(room.settings?.plugins, key) || profile?.is_admin === true;
  return byRoom && pluginFlag(profile?.plugins, key);
}

export function canSendChat(room: RoomState): boolean {
  return room.chatEnabled && pluginAllows(room, 'chat.can_send');
}

export function canReceiveChat(room: RoomState): boolean {
  return room.chatEnabled && pluginAllows(room, 'chat.can_receive');
}

/** Subject of the `send/unicast` a host sends to decline a control request (ours, not the contract's). */
export const DENY_SUBJECT = 'control/deny';

export type ControlBlock = 'not_allowed' | 'private_mode' | 'locked';

/** Why we cannot ask for control right now (contract §6), or null when we can. */
export function controlBlocked(room: RoomState): ControlBlock | null {
  const profile = self(room)?.profile;
  if (!profile || isHost(room)) return null;
  if (!profile.can_host) return 'not_allowed';
  if (profile.is_admin) return null;
  if (room.settings?.private_mode) return 'private_mode';
  if (room.settings?.locked_controls) return 'locked';
  return null;
}

/**
 * Contract §6: input over the WebSocket from a non-host makes it host when nobody hosts
 * and implicit hosting is on. We only use that while nobody hosts, so a click never takes
 * control away from someone who has it.
 */
export function implicitHosting(room: RoomState): boolean {
  return room.hostId === null && room.settings?.implicit_hosting === true && controlBlocked(room) === null && !isHost(room);
}

/** Private mode blanks the stream for everyone but admins (contract §6). */
export function blankedByPrivateMode(room: RoomState): boolean {
  return room.settings?.private_mode === true && self(room)?.profile.is_admin !== true;
}

export interface RosterEntry {
  id: string;
  name: string;
  you: boolean;
  host: boolean;
  admin: boolean;
  connected: boolean;
  watching: boolean;
}

/** Members for display: connected ones first, then by name. */
export function roster(room: RoomState): RosterEntry[] {
  const rows = [...room.members.values()].map((m) => ({
    id: m.id,
    name: m.profile.name || m.id,
    you: m.id === room.sessionId,
    host: m.id === room.hostId,
    admin: m.profile.is_admin,
    connected: m.state.is_connected,
    watching: m.state.is_watching,
  }));
  return rows.sort((a, b) => Number(b.connected) - Number(a.connected) || a.name.localeCompare(b.name) || a.id.localeCompare(b.id));
}

/** Messages from others received after line `seenSeq` (notices are not counted). */
export function unread(room: RoomState, seenSeq: number): number {
  let n = 0;
  for (let i = room.chat.length - 1; i >= 0; i--) {
    const line = room.chat[i]!;
    if (line.seq <= seenSeq) break;
    if (line.kind === 'message' && line.from !== room.sessionId) n++;
  }
  return n;
}

/** What the chat box sends for what was typed, or nothing when it is blank. */
export function chatText(typed: string): string | undefined {
  const text = typed.trim().slice(0, CHAT_MAX_LENGTH);
  return text === '' ? undefined : text;
}

/** `HH:MM` in local time for an RFC 3339 timestamp; empty when it does not parse. */
export function clockTime(created: string): string {
  const t = new Date(created);
  if (Number.isNaN(t.getTime())) return '';
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${pad(t.getHours())}:${pad(t.getMinutes())}`;
}
