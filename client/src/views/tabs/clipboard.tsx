import { useEffect, useRef } from 'preact/hooks';
import { t } from '../../i18n/index.js';
import { useApp } from '../context.js';

/**
 * The desktop's clipboard as text: filled when the desktop copies something, and a box to
 * send text the other way. With clipboard permission this happens by itself as well; without
 * it (or on browsers without the async Clipboard API) this box is the way.
 */
export function ClipboardTab() {
  const { store, ctl } = useApp();
  const box = useRef<HTMLTextAreaElement>(null);
  const remote = store.remoteClipboard.value;
  const usable = store.canUseClipboard.value;

  useEffect(() => {
    if (box.current && document.activeElement !== box.current) box.current.value = remote;
  }, [remote]);

  return (
    <section class="panel-section clipboard" aria-label={t('tab.clipboard')}>
      <p class="muted small">{t('clipboard.help')}</p>
      {!usable && <p class="notice-line">{t('clipboard.hostOnly')}</p>}
      {usable && store.clipboardAccess.value === 'granted' && <p class="muted small">{t('clipboard.auto')}</p>}
      {usable && store.clipboardAccess.value === 'denied' && <p class="notice-line">{t('clipboard.denied')}</p>}
      <textarea id="clipboard-text" ref={box} rows={6} aria-label={t('clipboard.text')} defaultValue={remote} />
      <div class="row">
        <button id="clipboard-send" type="button" disabled={!usable} onClick={() => ctl.sendClipboard(box.current!.value)}>
          {t('clipboard.send')}
        </button>
        <button id="clipboard-paste" type="button" disabled={!usable} onClick={() => ctl.pasteText(box.current!.value)}>
          {t('clipboard.paste')}
        </button>
      </div>
    </section>
  );
}
