// What the user chose on this browser (volume, scrolling, language, …), kept in
// localStorage. Embed parameters override it for one visit without being saved.

export interface Prefs {
  volume: number;
  muted: boolean;
  /** 1..100; 10 means one wheel notch scrolls one click. */
  scrollSensitivity: number;
  scrollInvert: boolean;
  chatSound: boolean;
  lang: string | null;
}

export const DEFAULT_PREFS: Prefs = {
  volume: 100,
  muted: false,
  scrollSensitivity: 10,
  scrollInvert: false,
  chatSound: true,
  lang: null,
};

const KEY = 'neko.prefs';

/** Saved values of the right type over the defaults; anything else is ignored. */
export function mergePrefs(saved: unknown): Prefs {
  const prefs = { ...DEFAULT_PREFS };
  if (typeof saved !== 'object' || saved === null) return prefs;
  const s = saved as Record<string, unknown>;
  for (const key of Object.keys(prefs) as Array<keyof Prefs>) {
    const value = s[key];
    const want = key === 'lang' ? 'string' : typeof DEFAULT_PREFS[key];
    if (typeof value === want) (prefs as Record<string, unknown>)[key] = value;
  }
  prefs.volume = Math.min(100, Math.max(0, prefs.volume));
  prefs.scrollSensitivity = Math.min(100, Math.max(1, prefs.scrollSensitivity));
  return prefs;
}

export function loadPrefs(storage: Storage | undefined): Prefs {
  try {
    return mergePrefs(JSON.parse(storage?.getItem(KEY) ?? 'null'));
  } catch {
    return { ...DEFAULT_PREFS };
  }
}

export function savePrefs(storage: Storage | undefined, prefs: Prefs): void {
  try {
    storage?.setItem(KEY, JSON.stringify(prefs));
  } catch {
    // Private browsing or a full quota: the choice lasts for this visit only.
  }
}
