// The one catalogue of user-visible text. English is the reference: every other language
// must have exactly its keys (the type checker and a unit test hold them to it).
import { signal } from '@preact/signals';
import { de } from './de.js';
import { en, type MessageKey } from './en.js';

export type { MessageKey };
export type Catalogue = Record<MessageKey, string>;

export const LANGUAGES = {
  en: { name: 'English', messages: en as Catalogue },
  de: { name: 'Deutsch', messages: de },
} as const;

export type Lang = keyof typeof LANGUAGES;

export function isLang(code: string | null | undefined): code is Lang {
  return typeof code === 'string' && Object.hasOwn(LANGUAGES, code);
}

/** `?lang=` first, then the saved choice, then the browser's languages (`de-AT` → `de`), else English. */
export function pickLang(param: string | null, saved: string | null, browser: readonly string[]): Lang {
  for (const code of [param, saved, ...browser]) {
    const c = code?.toLowerCase();
    if (isLang(c)) return c;
    const base = c?.split('-')[0];
    if (isLang(base)) return base;
  }
  return 'en';
}

/** The language shown; views re-render when it changes because t() reads it. */
export const lang = signal<Lang>('en');

/** The text for `key` with `{name}` placeholders filled in. */
export function t(key: MessageKey, params?: Record<string, string | number>): string {
  const text = LANGUAGES[lang.value].messages[key] ?? en[key];
  if (!params) return text;
  return text.replace(/\{(\w+)\}/g, (whole, name: string) => (name in params ? String(params[name]) : whole));
}
