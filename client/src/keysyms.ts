// KeyboardEvent → X11 keysym. Pure so it can be unit-tested under Node.
//
// Printable keys are mapped from `key` (the character the user's layout produced), so the
// remote desktop receives what the user meant to type regardless of the physical layout.
// Keys whose left/right variant matters to X (modifiers) are mapped from `code`.

export interface KeyLike {
  readonly key: string;
  readonly code: string;
}

const UNICODE_KEYSYM_BASE = 0x01000000;

// Modifiers: `key` says which modifier, `code` says which side.
const BY_CODE: Readonly<Record<string, number>> = {
  ShiftLeft: 0xffe1, // Shift_L
  ShiftRight: 0xffe2, // Shift_R
  ControlLeft: 0xffe3, // Control_L
  ControlRight: 0xffe4, // Control_R
  AltLeft: 0xffe9, // Alt_L
  AltRight: 0xffea, // Alt_R, on layouts where it is not AltGr
  // Browsers report the Windows/Command key as Meta; X desktops bind that key to Super,
  // while X's Meta keysyms live on Alt in the default keymaps.
  MetaLeft: 0xffeb, // Super_L
  MetaRight: 0xffec, // Super_R
  OSLeft: 0xffeb,
  OSRight: 0xffec,
};

const BY_KEY: Readonly<Record<string, number>> = {
  Backspace: 0xff08,
  Tab: 0xff09,
  Clear: 0xff0b,
  Enter: 0xff0d,
  Pause: 0xff13,
  ScrollLock: 0xff14,
  Escape: 0xff1b,
  Compose: 0xff20,
  Home: 0xff50,
  ArrowLeft: 0xff51,
  ArrowUp: 0xff52,
  ArrowRight: 0xff53,
  ArrowDown: 0xff54,
  PageUp: 0xff55,
  PageDown: 0xff56,
  End: 0xff57,
  Select: 0xff60,
  PrintScreen: 0xff61,
  Execute: 0xff62,
  Insert: 0xff63,
  Undo: 0xff65,
  Redo: 0xff66,
  ContextMenu: 0xff67,
  Find: 0xff68,
  Cancel: 0xff69,
  Help: 0xff6a,
  NumLock: 0xff7f,
  Delete: 0xffff,
  Shift: 0xffe1,
  Control: 0xffe3,
  Alt: 0xffe9,
  Meta: 0xffeb,
  OS: 0xffeb,
  Super: 0xffeb,
  Hyper: 0xffed,
  CapsLock: 0xffe5,
  AltGraph: 0xfe03, // ISO_Level3_Shift
  AudioVolumeDown: 0x1008ff11,
  AudioVolumeMute: 0x1008ff12,
  AudioVolumeUp: 0x1008ff13,
  MediaPlayPause: 0x1008ff14,
  MediaStop: 0x1008ff15,
  MediaTrackPrevious: 0x1008ff16,
  MediaTrackNext: 0x1008ff17,
};

// With NumLock off the keypad reports navigation keys; X has distinct KP_* keysyms for them
// so applications can tell the keypad apart.
const KEYPAD_BY_KEY: Readonly<Record<string, number>> = {
  Enter: 0xff8d,
  Home: 0xff95,
  ArrowLeft: 0xff96,
  ArrowUp: 0xff97,
  ArrowRight: 0xff98,
  ArrowDown: 0xff99,
  PageUp: 0xff9a,
  PageDown: 0xff9b,
  End: 0xff9c,
  Clear: 0xff9d, // KP_Begin: the centre key (5) without NumLock
  Insert: 0xff9e,
  Delete: 0xff9f,
  '*': 0xffaa,
  '+': 0xffab,
  ',': 0xffac,
  '-': 0xffad,
  '.': 0xffae,
  '/': 0xffaf,
  '=': 0xffbd,
};

const KP_0 = 0xffb0;
const F1 = 0xffbe;
const F_KEYS = 35; // X defines F1..F35 contiguously

/** Keysym for a character: Latin-1 maps to itself, anything else to the Unicode keysym range. */
export function keysymForChar(codePoint: number): number {
  if ((codePoint >= 0x20 && codePoint <= 0x7e) || (codePoint >= 0xa0 && codePoint <= 0xff)) {
    return codePoint;
  }
  return UNICODE_KEYSYM_BASE + codePoint;
}

/** Returns undefined for keys that have no X equivalent (dead keys, IME "Process", …). */
export function keysymFor(ev: KeyLike): number | undefined {
  const { key, code } = ev;

  const sided = BY_CODE[code];
  if (sided !== undefined && (key === 'Shift' || key === 'Control' || key === 'Alt' || key === 'Meta' || key === 'OS')) {
    return sided;
  }

  if (code.startsWith('Numpad')) {
    if (key.length === 1 && key >= '0' && key <= '9') return KP_0 + key.charCodeAt(0) - 0x30;
    const kp = KEYPAD_BY_KEY[key];
    if (kp !== undefined) return kp;
  }

  const named = BY_KEY[key];
  if (named !== undefined) return named;

  const fn = /^F(\d{1,2})$/.exec(key);
  if (fn) {
    const n = Number(fn[1]);
    if (n >= 1 && n <= F_KEYS) return F1 + n - 1;
  }

  const codePoint = key.codePointAt(0);
  // A single character (possibly outside the BMP) rather than a key name like "Dead".
  if (codePoint !== undefined && String.fromCodePoint(codePoint) === key && codePoint >= 0x20 && codePoint !== 0x7f) {
    return keysymForChar(codePoint);
  }
  return undefined;
}
