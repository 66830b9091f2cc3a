// The page's query parameters, as neko's own viewer takes them (embedding, kiosks, links).
// Pure: parsed from a URLSearchParams so the rules are testable in Node.

export interface ViewerParams {
  /** `?usr=&pwd=`: log in with these right away (both present), or prefill the name. */
  username: string | null;
  password: string | null;
  /** `?embed=1`: the video and nothing else (no bar, no panel). */
  embed: boolean;
  /** `?cast=1`: watch only: no bar, no panel, no input of any kind. */
  cast: boolean;
  /** `?volume=0..100`. */
  volume: number | null;
  /** `?scroll=1..100`: scroll sensitivity (10 = one wheel notch, one click). */
  scroll: number | null;
  /** `?show_side=1|0`: side panel open or closed at start. */
  showSide: boolean | null;
  /** `?mute_chat=1`: no sound on new chat messages. */
  muteChat: boolean | null;
  /** `?lang=de`. */
  lang: string | null;
  /** `?share=<token>`: log in with a signed share link, no password. */
  share: string | null;
}

const TRUE = new Set(['1', 'true', 'yes', 'on', '']);
const FALSE = new Set(['0', 'false', 'no', 'off']);

function flag(params: URLSearchParams, name: string): boolean | null {
  const value = params.get(name);
  if (value === null) return null;
  const v = value.trim().toLowerCase();
  if (TRUE.has(v)) return true;
  if (FALSE.has(v)) return false;
  return null;
}

function number(params: URLSearchParams, name: string, min: number, max: number): number | null {
  const value = params.get(name);
  if (value === null || value.trim() === '') return null;
  const n = Number(value);
  if (!Number.isFinite(n)) return null;
  return Math.min(max, Math.max(min, n));
}

export function parseParams(params: URLSearchParams): ViewerParams {
  return {
    username: params.get('usr'),
    password: params.get('pwd'),
    embed: flag(params, 'embed') === true,
    cast: flag(params, 'cast') === true,
    volume: number(params, 'volume', 0, 100),
    scroll: number(params, 'scroll', 1, 100),
    showSide: flag(params, 'show_side'),
    muteChat: flag(params, 'mute_chat'),
    lang: params.get('lang')?.trim().toLowerCase() || null,
    share: params.get('share')?.trim() || null,
  };
}
