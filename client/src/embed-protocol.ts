// The postMessage protocol between the viewer in an iframe and the page embedding it.
// Pure (no DOM), shared by the viewer (embed-api.ts) and the host-side script (embed.ts),
// so message validation is testable in Node. Every message is `{ neko: 1, type, ... }`.

export const EMBED_VERSION = 1;

/** Limits on what a host page may send; anything longer is refused, not cut. */
export const LIMITS = { name: 256, secret: 1024, token: 8192, chat: 4000, id: 64, video: 64 } as const;

export type Command =
  | { type: 'login'; username: string; password: string }
  | { type: 'login'; share: string }
  | { type: 'logout' }
  | { type: 'control.request' }
  | { type: 'control.release' }
  | { type: 'volume'; volume?: number; muted?: boolean }
  | { type: 'fullscreen'; on?: boolean }
  | { type: 'chat.send'; text: string }
  | { type: 'quality'; video: string }
  /** The parts `?show_side`, `?embed`/`?cast` and `?mute_chat` set at start. */
  | { type: 'ui'; side?: boolean; controls?: boolean; muteChat?: boolean };

export type CommandType = Command['type'];

export interface MemberInfo {
  id: string;
  name: string;
}

export interface EmbedEvents {
  ready: { version: number };
  connected: { sessionId: string | null };
  disconnected: { reason: string };
  host: { hostId: string | null; isHost: boolean };
  chat: { id: string; name: string; text: string; created: string };
  'member.joined': MemberInfo;
  'member.left': MemberInfo;
  stats: { fps: number | null; bitrateKbps: number | null; latencyMs: number | null };
}

export type EventType = keyof EmbedEvents;
export const EVENT_TYPES: readonly EventType[] = ['ready', 'connected', 'disconnected', 'host', 'chat', 'member.joined', 'member.left', 'stats'];

export type EventMessage<K extends EventType = EventType> = { neko: 1; type: K } & EmbedEvents[K];

export type Reply = { neko: 1; type: 'reply'; id: string; ok: true } | { neko: 1; type: 'reply'; id: string; ok: false; error: string };

/**
 * A command as received: `null` when the message is not ours at all (other scripts post
 * messages too, and are ignored silently); otherwise the command or why it was refused.
 */
export type Parsed = null | { ok: true; id: string | undefined; command: Command } | { ok: false; id: string | undefined; error: string };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function str(o: Record<string, unknown>, key: string, max: number, optional = false): string | undefined {
  const v = o[key];
  if (v === undefined && optional) return undefined;
  if (typeof v !== 'string' || v.length > max) throw new Error(`"${key}" must be a string of at most ${max} characters`);
  return v;
}

function bool(o: Record<string, unknown>, key: string): boolean | undefined {
  const v = o[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'boolean') throw new Error(`"${key}" must be true or false`);
  return v;
}

function command(o: Record<string, unknown>): Command {
  switch (o.type) {
    case 'login': {
      if (o.share !== undefined) {
        const share = str(o, 'share', LIMITS.token)!;
        if (share === '') throw new Error('"share" is empty');
        return { type: 'login', share };
      }
      return { type: 'login', username: str(o, 'username', LIMITS.name)!, password: str(o, 'password', LIMITS.secret)! };
    }
    case 'logout':
    case 'control.request':
    case 'control.release':
      return { type: o.type };
    case 'volume': {
      const v = o.volume;
      if (v !== undefined && (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > 100)) throw new Error('"volume" must be a number from 0 to 100');
      const muted = bool(o, 'muted');
      if (v === undefined && muted === undefined) throw new Error('give "volume" or "muted"');
      return { type: 'volume', volume: v as number | undefined, muted };
    }
    case 'fullscreen':
      return { type: 'fullscreen', on: bool(o, 'on') };
    case 'chat.send': {
      const text = str(o, 'text', LIMITS.chat)!;
      if (text.trim() === '') throw new Error('"text" is empty');
      return { type: 'chat.send', text };
    }
    case 'quality': {
      const video = str(o, 'video', LIMITS.video)!;
      if (video === '') throw new Error('"video" is empty');
      return { type: 'quality', video };
    }
    case 'ui': {
      const ui = { type: 'ui' as const, side: bool(o, 'side'), controls: bool(o, 'controls'), muteChat: bool(o, 'muteChat') };
      if (ui.side === undefined && ui.controls === undefined && ui.muteChat === undefined) throw new Error('give "side", "controls" or "muteChat"');
      return ui;
    }
    default:
      throw new Error(`unknown command "${String(o.type).slice(0, 40)}"`);
  }
}

/** Validates a message a host page posted to the viewer. */
export function parseCommand(data: unknown): Parsed {
  if (!isObject(data) || !('neko' in data)) return null;
  const id = typeof data.id === 'string' && data.id.length <= LIMITS.id ? data.id : undefined;
  if (data.neko !== EMBED_VERSION) return { ok: false, id, error: `unsupported version ${String(data.neko).slice(0, 20)}; this viewer speaks ${EMBED_VERSION}` };
  if (data.id !== undefined && id === undefined) return { ok: false, id: undefined, error: `"id" must be a string of at most ${LIMITS.id} characters` };
  try {
    return { ok: true, id, command: command(data) };
  } catch (err) {
    return { ok: false, id, error: (err as Error).message };
  }
}

/** Validates a message the viewer posted to the host page: a reply or a known event. */
export function parseViewerMessage(data: unknown): Reply | EventMessage | null {
  if (!isObject(data) || data.neko !== EMBED_VERSION || typeof data.type !== 'string') return null;
  if (data.type === 'reply') {
    if (typeof data.id !== 'string' || typeof data.ok !== 'boolean') return null;
    return data.ok ? { neko: 1, type: 'reply', id: data.id, ok: true } : { neko: 1, type: 'reply', id: data.id, ok: false, error: String(data.error ?? 'failed') };
  }
  return (EVENT_TYPES as readonly string[]).includes(data.type) ? (data as unknown as EventMessage) : null;
}

/**
 * Whether `origin` may drive the viewer: its own origin always, any with `*` in the list,
 * otherwise an exact match (scheme, host and port; no trailing slash, no wildcards).
 */
export function originAllowed(origin: string, allowed: readonly string[], self: string): boolean {
  if (origin === self) return true;
  if (origin === 'null' || origin === '') return allowed.includes('*');
  return allowed.includes('*') || allowed.some((a) => a.replace(/\/+$/, '') === origin);
}

/** The origin the viewer posts to: the parent's own, never `*` unless the list says `*` and the parent's is unknown. */
export function targetOrigin(parent: string | null, allowed: readonly string[], self: string): string | null {
  if (parent !== null && parent !== 'null') return originAllowed(parent, allowed, self) ? parent : null;
  return allowed.includes('*') ? '*' : null;
}
