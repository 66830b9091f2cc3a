// A chat message as pieces to render: plain text, and links. Views turn the pieces into
// text nodes and anchors, so nothing a member types is ever parsed as HTML. Pure, so the
// rules are testable in Node.

export interface ChatPiece {
  text: string;
  /** Set for a link: an absolute http(s) URL. */
  href?: string;
}

/** Candidates for links: http(s) up to the next space or character that never belongs to a URL. */
const URL_CANDIDATE = /\bhttps?:\/\/[^\s<>"'`]+/gi;
/** Characters that end a sentence around a link more often than the link itself. */
const TRAILING = new Set(['.', ',', ';', ':', '!', '?', "'", ')', ']', '}']);

/** The URL if it is an absolute http(s) one, normalised by the URL parser; else null. */
export function safeHref(candidate: string): string | null {
  try {
    const url = new URL(candidate);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : null;
  } catch {
    return null;
  }
}

/** Drops sentence punctuation after a link; a `)` stays when the link opened one (wiki-style URLs). */
function trimLink(url: string): string {
  let end = url.length;
  while (end > 0 && TRAILING.has(url[end - 1]!)) {
    const part = url.slice(0, end);
    if (url[end - 1] === ')' && part.split('(').length > part.split(')').length - 1) break;
    end--;
  }
  return url.slice(0, end);
}

/** Common `:shortcode:`s (the ones chat clients suggest first), written as the emoji they name. */
export const EMOJI: Readonly<Record<string, string>> = {
  smile: '😄', smiley: '😃', grin: '😁', laughing: '😆', sweat_smile: '😅', joy: '😂', rofl: '🤣',
  slightly_smiling_face: '🙂', upside_down_face: '🙃', wink: '😉', blush: '😊', heart_eyes: '😍',
  kissing_heart: '😘', sunglasses: '😎', thinking: '🤔', neutral_face: '😐', roll_eyes: '🙄',
  sleeping: '😴', cry: '😢', sob: '😭', angry: '😠', scream: '😱', partying_face: '🥳', skull: '💀',
  thumbsup: '👍', '+1': '👍', thumbsdown: '👎', '-1': '👎', ok_hand: '👌', clap: '👏', wave: '👋',
  pray: '🙏', muscle: '💪', eyes: '👀', heart: '❤️', broken_heart: '💔', fire: '🔥', tada: '🎉',
  sparkles: '✨', star: '⭐', '100': '💯', rocket: '🚀', bulb: '💡', bug: '🐛', coffee: '☕',
  beer: '🍺', pizza: '🍕', white_check_mark: '✅', x: '❌', warning: '⚠️', question: '❓',
  facepalm: '🤦', shrug: '🤷', computer: '💻', popcorn: '🍿',
};

/** What the emoji button offers, in this order. */
export const EMOJI_PICKS: readonly string[] = [
  'smile', 'joy', 'wink', 'heart_eyes', 'sunglasses', 'thinking', 'cry', 'scream',
  'thumbsup', 'thumbsdown', 'clap', 'wave', 'pray', 'eyes', 'heart', 'fire',
  'tada', 'rocket', 'white_check_mark', 'x', 'coffee', 'popcorn', 'shrug', 'partying_face',
];

const SHORTCODE = /:([a-z0-9_+-]+):/g;

/** `:name:` replaced by its emoji where the name is known; anything else is left as typed. */
export function withEmoji(text: string): string {
  return text.replace(SHORTCODE, (whole, name: string) => EMOJI[name] ?? whole);
}

/** The message split into text (with shortcodes as emoji) and http(s) links (kept as written). */
export function chatPieces(text: string): ChatPiece[] {
  const pieces: ChatPiece[] = [];
  const plain = (s: string) => {
    if (s === '') return;
    const last = pieces.at(-1);
    if (last && last.href === undefined) last.text += withEmoji(s);
    else pieces.push({ text: withEmoji(s) });
  };
  let from = 0;
  for (const match of text.matchAll(URL_CANDIDATE)) {
    const start = match.index;
    const link = trimLink(match[0]);
    const href = safeHref(link);
    if (href === null) continue;
    plain(text.slice(from, start));
    pieces.push({ text: link, href });
    from = start + link.length;
  }
  plain(text.slice(from));
  return pieces;
}
