import path from 'node:path';

export interface ParseContext {
  /** Base for relative paths given by the user. */
  cwd: string;
}

/**
 * A value parser for one option type. `parse` receives either a value from a YAML/JSON
 * file (any type) or the text of an env var / CLI flag (a string), so every codec accepts
 * both the natural file form and a textual form.
 */
export interface Codec<T> {
  /** Placeholder shown after the flag in help, e.g. `<int>`. */
  readonly hint: string;
  /** Throws InvalidValue with a human reason; the loader adds key and source. */
  parse(raw: unknown, ctx: ParseContext): T;
  /** Bare `--flag` means true; such flags never consume the next argument. */
  readonly isFlag?: boolean;
}

export class InvalidValue extends Error {}

function show(raw: unknown): string {
  return JSON.stringify(raw) ?? String(raw);
}

function isPlainObject(raw: unknown): raw is Record<string, unknown> {
  return typeof raw === 'object' && raw !== null && !Array.isArray(raw);
}

/** Errors inside structured values name the offending sub-path, e.g. `[1].urls`. */
function at<T>(where: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof InvalidValue) throw new InvalidValue(`${where}: ${err.message}`);
    throw err;
  }
}

/** Structured keys accept a JSON string from env/flags (and from files, for symmetry). */
function fromJsonText(raw: unknown): unknown {
  if (typeof raw !== 'string') return raw;
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    throw new InvalidValue(`${show(raw)} is not valid JSON`);
  }
}

function asText(raw: unknown): string {
  if (typeof raw === 'string') return raw;
  // YAML turns `password: 1234` into a number; the user meant the text.
  if (typeof raw === 'number' || typeof raw === 'boolean') return String(raw);
  throw new InvalidValue(`expected a string, got ${show(raw)}`);
}

const TRUE_WORDS = new Set(['true', '1', 'yes']);
const FALSE_WORDS = new Set(['false', '0', 'no']);

function asBool(raw: unknown): boolean {
  if (typeof raw === 'boolean') return raw;
  if (raw === 1 || raw === 0) return raw === 1;
  if (typeof raw === 'string') {
    const word = raw.trim().toLowerCase();
    if (TRUE_WORDS.has(word)) return true;
    if (FALSE_WORDS.has(word)) return false;
  }
  throw new InvalidValue(`${show(raw)} is not a boolean (use true/false, 1/0, yes/no)`);
}

function asNumber(raw: unknown, integer: boolean, min: number, max: number): number {
  let n = NaN;
  if (typeof raw === 'number') n = raw;
  else if (typeof raw === 'string' && raw.trim() !== '') n = Number(raw.trim());
  if (!Number.isFinite(n) || (integer && !Number.isInteger(n))) {
    throw new InvalidValue(`${show(raw)} is not ${integer ? 'an integer' : 'a number'}`);
  }
  if (n < min || n > max) throw new InvalidValue(`${n} is outside ${min}..${max}`);
  return n;
}

function asStringList(raw: unknown): string[] {
  const items = typeof raw === 'string' ? splitItems(raw) : raw;
  if (!Array.isArray(items)) throw new InvalidValue(`expected a list, got ${show(raw)}`);
  return items.map((item, i) => at(`[${i}]`, () => asText(item)));
}

/** Env/flag list syntax: a JSON array, or items separated by commas and/or whitespace. */
function splitItems(raw: string): unknown[] {
  const trimmed = raw.trim();
  if (trimmed.startsWith('[')) {
    const parsed = fromJsonText(trimmed);
    if (!Array.isArray(parsed)) throw new InvalidValue(`${show(raw)} is not a JSON array`);
    return parsed;
  }
  return trimmed === '' ? [] : trimmed.split(/[\s,]+/).filter((s) => s !== '');
}

export const text: Codec<string> = { hint: '<string>', parse: asText };

export const bool: Codec<boolean> = { hint: '[=<bool>]', isFlag: true, parse: asBool };

export function int(min = 0, max = Number.MAX_SAFE_INTEGER): Codec<number> {
  return { hint: '<int>', parse: (raw) => asNumber(raw, true, min, max) };
}

export function float(min: number, max: number): Codec<number> {
  return { hint: '<number>', parse: (raw) => asNumber(raw, false, min, max) };
}

export const stringList: Codec<string[]> = { hint: '<list>', parse: asStringList };

const DURATION_UNITS_MS: Record<string, number> = {
  h: 3_600_000,
  m: 60_000,
  s: 1000,
  ms: 1,
  us: 0.001,
  µs: 0.001,
  ns: 0.000001,
};
const DURATION_PART = /(\d+(?:\.\d*)?|\.\d+)(h|ms|m|s|us|µs|ns)/y;

/** Go-style duration text (`1h30m`, `2s`, `1.5h`) to whole milliseconds; null if malformed. */
export function parseDuration(input: string): number | null {
  const s = input.trim();
  if (s === '0') return 0;
  if (s === '') return null;
  let total = 0;
  DURATION_PART.lastIndex = 0;
  while (DURATION_PART.lastIndex < s.length) {
    const m = DURATION_PART.exec(s);
    if (!m) return null;
    total += Number(m[1]) * DURATION_UNITS_MS[m[2]!]!;
  }
  return Math.round(total);
}

/** A bare number is refused (except 0): Go would read it as nanoseconds, users mean seconds. */
export const duration: Codec<number> = {
  hint: '<duration>',
  parse(raw) {
    const ms = typeof raw === 'string' ? parseDuration(raw) : raw === 0 ? 0 : null;
    if (ms === null) {
      throw new InvalidValue(`${show(raw)} is not a duration (use e.g. 30s, 90m, 1h30m)`);
    }
    return ms;
  },
};

export function oneOf<const V extends string>(values: readonly V[]): Codec<V> {
  return {
    hint: `<${values.join('|')}>`,
    parse(raw) {
      const word = asText(raw).trim().toLowerCase();
      const hit = values.find((v) => v === word);
      if (hit === undefined) throw new InvalidValue(`${show(raw)} is not one of ${values.join(', ')}`);
      return hit;
    },
  };
}

/** Contract §9.1: unknown media codec names fall back to the default instead of failing. */
export function mediaCodec<const V extends string>(values: readonly V[], fallback: V): Codec<V> {
  return {
    hint: `<${values.join('|')}>`,
    parse(raw) {
      const word = asText(raw).trim().toLowerCase();
      return values.find((v) => v === word) ?? fallback;
    },
  };
}

function asPort(raw: string, what: string): number {
  if (!/^\d{1,5}$/.test(raw) || Number(raw) > 65535) {
    throw new InvalidValue(`${what} ${show(raw)} is not a port number (0-65535)`);
  }
  return Number(raw);
}

export const bindAddress: Codec<string> = {
  hint: '<host:port>',
  parse(raw) {
    const s = asText(raw).trim();
    const m = /^(.*):([^:\]]*)$/.exec(s);
    if (!m) throw new InvalidValue(`${show(raw)} is not host:port`);
    asPort(m[2]!, 'port');
    return s;
  },
};

export const portRange: Codec<string> = {
  hint: '<min-max>',
  parse(raw) {
    const s = asText(raw).trim();
    if (s === '') return s;
    const m = /^(\d+)-(\d+)$/.exec(s);
    if (!m) throw new InvalidValue(`${show(raw)} is not a port range like 59000-59100`);
    const min = asPort(m[1]!, 'range start');
    const max = asPort(m[2]!, 'range end');
    if (min < 1 || min > max) throw new InvalidValue(`${show(raw)} is not a valid port range`);
    return s;
  },
};

/** GStreamer framerate fraction; a bare integer means N/1. */
export const fraction: Codec<string> = {
  hint: '<n/d>',
  parse(raw) {
    const s = asText(raw).trim();
    if (/^[1-9]\d*$/.test(s)) return `${s}/1`;
    if (!/^[1-9]\d*\/[1-9]\d*$/.test(s)) throw new InvalidValue(`${show(raw)} is not a fraction like 10/1`);
    return s;
  },
};

export const urlPath: Codec<string> = {
  hint: '<path>',
  parse(raw) {
    const s = asText(raw).trim();
    if (!s.startsWith('/')) throw new InvalidValue(`${show(raw)} must start with /`);
    return s;
  },
};

/** Made absolute so a later chdir or a different launcher cwd cannot move it. */
export const directory: Codec<string> = {
  hint: '<dir>',
  parse(raw, ctx) {
    const s = asText(raw).trim();
    if (s === '') throw new InvalidValue('must not be empty');
    return path.resolve(ctx.cwd, s);
  },
};

export interface ScreenConfig {
  width: number;
  height: number;
  rate: number;
}

export const screen: Codec<ScreenConfig> = {
  hint: '<WxH@R>',
  parse(raw) {
    if (isPlainObject(raw)) {
      const dim = (k: keyof ScreenConfig, max: number) => at(k, () => asNumber(raw[k], true, 1, max));
      return { width: dim('width', 65535), height: dim('height', 65535), rate: dim('rate', 65535) };
    }
    const m = /^(\d{1,5})x(\d{1,5})@(\d{1,3})$/.exec(asText(raw).trim());
    const out = m ? { width: Number(m[1]), height: Number(m[2]), rate: Number(m[3]) } : null;
    if (!out || Math.min(out.width, out.height, out.rate) < 1 || Math.max(out.width, out.height) > 65535) {
      throw new InvalidValue(`${show(raw)} is not a screen size like 1280x720@30`);
    }
    return out;
  },
};

export interface IceServer {
  urls: string[];
  username?: string;
  credential?: string;
}

function asIceServer(raw: unknown): IceServer {
  if (typeof raw === 'string') return { urls: [raw] };
  if (!isPlainObject(raw)) throw new InvalidValue(`expected an ICE server object, got ${show(raw)}`);
  const out: IceServer = { urls: [] };
  for (const [k, v] of Object.entries(raw)) {
    at(k, () => {
      if (k === 'urls') out.urls = typeof v === 'string' ? [v] : asStringList(v);
      else if (k === 'username' || k === 'credential') out[k] = asText(v);
      else throw new InvalidValue('unknown field (expected urls, username, credential)');
    });
  }
  if (out.urls.length === 0) throw new InvalidValue('an ICE server needs at least one URL in "urls"');
  return out;
}

/**
 * A list of `{urls, username?, credential?}`; a single object or bare URL strings are
 * accepted too, so `NEKO_WEBRTC_ICESERVERS_FRONTEND=stun:host:3478` works without JSON.
 */
export const iceServers: Codec<IceServer[]> = {
  hint: '<json>',
  parse(raw) {
    let value = raw;
    if (typeof raw === 'string') {
      const s = raw.trim();
      value = s.startsWith('[') || s.startsWith('{') ? fromJsonText(s) : splitItems(s);
    }
    const list = Array.isArray(value) ? value : isPlainObject(value) ? [value] : null;
    if (!list) throw new InvalidValue(`expected a list of ICE servers, got ${show(raw)}`);
    return list.map((item, i) => at(`[${i}]`, () => asIceServer(item)));
  },
};

/** Partial MemberProfile (contract §2.1); merged over provider defaults by the members module. */
export interface ProfileOverrides {
  name?: string;
  is_admin?: boolean;
  can_login?: boolean;
  can_connect?: boolean;
  can_watch?: boolean;
  can_host?: boolean;
  can_share_media?: boolean;
  can_access_clipboard?: boolean;
  sends_inactive_cursor?: boolean;
  can_see_inactive_cursors?: boolean;
  plugins?: Record<string, unknown> | null;
}

type ProfileFlag = Exclude<keyof ProfileOverrides, 'name' | 'plugins'>;
const PROFILE_FLAGS: readonly string[] = [
  'is_admin',
  'can_login',
  'can_connect',
  'can_watch',
  'can_host',
  'can_share_media',
  'can_access_clipboard',
  'sends_inactive_cursor',
  'can_see_inactive_cursors',
] satisfies ProfileFlag[];

function asProfile(raw: unknown): ProfileOverrides {
  const value = raw === null ? {} : fromJsonText(raw);
  if (!isPlainObject(value)) throw new InvalidValue(`expected a profile object, got ${show(raw)}`);
  const out: ProfileOverrides = {};
  for (const [k, v] of Object.entries(value)) {
    at(k, () => {
      if (k === 'name') out.name = asText(v);
      else if (PROFILE_FLAGS.includes(k)) out[k as ProfileFlag] = asBool(v);
      else if (k === 'plugins') {
        if (v !== null && !isPlainObject(v)) throw new InvalidValue('expected an object or null');
        out.plugins = v;
      } else throw new InvalidValue('unknown profile field');
    });
  }
  return out;
}

export const profile: Codec<ProfileOverrides> = { hint: '<json>', parse: asProfile };

export interface MemberUser {
  username: string;
  password: string;
  profile: ProfileOverrides;
}

function asMemberUser(raw: unknown): MemberUser {
  if (!isPlainObject(raw)) throw new InvalidValue(`expected a user object, got ${show(raw)}`);
  const user: MemberUser = { username: '', password: '', profile: {} };
  for (const [k, v] of Object.entries(raw)) {
    at(k, () => {
      if (k === 'username' || k === 'password') user[k] = asText(v);
      else if (k === 'profile') user.profile = asProfile(v);
      else throw new InvalidValue('unknown field (expected username, password, profile)');
    });
  }
  if (user.username === '') throw new InvalidValue('username must not be empty');
  return user;
}

export const memberUsers: Codec<MemberUser[]> = {
  hint: '<json>',
  parse(raw) {
    const list = fromJsonText(raw);
    if (!Array.isArray(list)) throw new InvalidValue(`expected a list of users, got ${show(raw)}`);
    return list.map((item, i) => at(`[${i}]`, () => asMemberUser(item)));
  },
};

/** One entry of `capture.video.pipelines`; width/height/fps/gst_params hold expressions. */
export interface VideoPipelineConfig {
  width?: string;
  height?: string;
  fps?: string;
  bitrate?: number;
  gst_prefix?: string;
  gst_encoder?: string;
  gst_params?: Record<string, string>;
  gst_suffix?: string;
  gst_pipeline?: string;
  show_pointer?: boolean;
}

type PipelineText = 'width' | 'height' | 'fps' | 'gst_prefix' | 'gst_encoder' | 'gst_suffix' | 'gst_pipeline';
const PIPELINE_TEXT: readonly string[] = [
  'width',
  'height',
  'fps',
  'gst_prefix',
  'gst_encoder',
  'gst_suffix',
  'gst_pipeline',
] satisfies PipelineText[];

function asPipeline(raw: unknown): VideoPipelineConfig {
  if (!isPlainObject(raw)) throw new InvalidValue(`expected a pipeline object, got ${show(raw)}`);
  const out: VideoPipelineConfig = {};
  for (const [k, v] of Object.entries(raw)) {
    at(k, () => {
      if (PIPELINE_TEXT.includes(k)) out[k as PipelineText] = asText(v);
      else if (k === 'bitrate') out.bitrate = asNumber(v, true, 0, Number.MAX_SAFE_INTEGER);
      else if (k === 'show_pointer') out.show_pointer = asBool(v);
      else if (k === 'gst_params') {
        if (!isPlainObject(v)) throw new InvalidValue('expected a map of expressions');
        out.gst_params = Object.fromEntries(
          Object.entries(v).map(([pk, pv]) => [pk, at(pk, () => asText(pv))]),
        );
      } else throw new InvalidValue('unknown pipeline field');
    });
  }
  return out;
}

export const videoPipelines: Codec<Record<string, VideoPipelineConfig>> = {
  hint: '<json>',
  parse(raw) {
    const map = raw === null ? {} : fromJsonText(raw);
    if (!isPlainObject(map)) throw new InvalidValue(`expected a map of stream id to pipeline, got ${show(raw)}`);
    return Object.fromEntries(Object.entries(map).map(([id, v]) => [id, at(id, () => asPipeline(v))]));
  },
};
