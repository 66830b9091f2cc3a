import { LANGUAGES, lang, t, type Lang } from '../../i18n/index.js';
import { useApp } from '../context.js';

/** Common XKB layouts, with the locale whose name describes each. */
export const KEYBOARD_LAYOUTS: ReadonlyArray<[layout: string, locale: string]> = [
  ['us', 'en-US'], ['gb', 'en-GB'], ['de', 'de-DE'], ['ch', 'de-CH'], ['fr', 'fr-FR'], ['be', 'fr-BE'],
  ['es', 'es-ES'], ['latam', 'es-419'], ['it', 'it-IT'], ['pt', 'pt-PT'], ['br', 'pt-BR'], ['nl', 'nl-NL'],
  ['se', 'sv-SE'], ['no', 'nb-NO'], ['dk', 'da-DK'], ['fi', 'fi-FI'], ['pl', 'pl-PL'], ['cz', 'cs-CZ'],
  ['sk', 'sk-SK'], ['hu', 'hu-HU'], ['tr', 'tr-TR'], ['ru', 'ru-RU'], ['ua', 'uk-UA'], ['jp', 'ja-JP'],
];

function layoutName(locale: string, ui: string): string {
  try {
    return new Intl.DisplayNames([ui], { type: 'language' }).of(locale) ?? locale;
  } catch {
    return locale;
  }
}

function KeyboardLayout() {
  const { store, ctl } = useApp();
  const map = store.keyboardMap.value;
  const host = store.isHost.value;
  const current = map?.layout ?? '';
  const known = KEYBOARD_LAYOUTS.some(([l]) => l === current);
  return (
    <div class="field">
      <label for="keyboard-layout">{t('settings.keyboard')}</label>
      <select
        id="keyboard-layout"
        value={current}
        disabled={!host}
        onChange={(ev) => ctl.setKeyboardMap(ev.currentTarget.value)}
      >
        {!known && <option value={current}>{t('settings.keyboardOther', { layout: current || '?' })}</option>}
        {KEYBOARD_LAYOUTS.map(([layout, locale]) => (
          <option key={layout} value={layout}>
            {`${layoutName(locale, lang.value)} (${layout})`}
          </option>
        ))}
      </select>
      {!host && <p class="muted small">{t('settings.keyboardHostOnly')}</p>}
    </div>
  );
}

/** This viewer's own preferences; none of them change the room. */
export function SettingsTab() {
  const { store, ctl } = useApp();
  const sensitivity = store.scrollSensitivity.value;
  const invert = store.scrollInvert.value;
  return (
    <section class="panel-section settings" aria-label={t('tab.settings')}>
      <div class="field">
        <label for="language">{t('settings.language')}</label>
        <select id="language" value={lang.value} onChange={(ev) => ctl.setLanguage(ev.currentTarget.value as Lang)}>
          {Object.entries(LANGUAGES).map(([code, l]) => (
            <option key={code} value={code}>
              {l.name}
            </option>
          ))}
        </select>
      </div>
      <div class="field">
        <label for="scroll-sensitivity">
          {t('settings.scroll')} <output>{sensitivity}</output>
        </label>
        <input
          id="scroll-sensitivity"
          type="range"
          min={1}
          max={100}
          value={sensitivity}
          onInput={(ev) => ctl.setScroll(Number(ev.currentTarget.value), invert)}
        />
      </div>
      <label class="setting">
        <input id="scroll-invert" type="checkbox" checked={invert} onChange={(ev) => ctl.setScroll(sensitivity, ev.currentTarget.checked)} />
        {t('settings.invert')}
      </label>
      <label class="setting">
        <input id="chat-sound" type="checkbox" checked={store.chatSound.value} onChange={(ev) => ctl.setChatSound(ev.currentTarget.checked)} />
        {t('settings.chatSound')}
      </label>
      {store.me.value?.profile.can_host && !store.params.cast && <KeyboardLayout />}
    </section>
  );
}
