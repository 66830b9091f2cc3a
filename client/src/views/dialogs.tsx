import { useRef, useState } from 'preact/hooks';
import { t } from '../i18n/index.js';
import { useApp } from './context.js';
import { Upload, X } from './icons.js';

/**
 * An application on the desktop opened a file chooser: its owner picks or drops the files
 * to hand to it here, with the upload's progress, or cancels (which closes the chooser).
 */
export function FileChooserDialog() {
  const { store, ctl } = useApp();
  const picker = useRef<HTMLInputElement>(null);
  const [over, setOver] = useState(false);
  if (store.fileDialogOwner.value === null || store.fileDialogOwner.value !== store.room.value.sessionId) return null;
  const uploads = store.uploads.value.filter((u) => u.target === 'dialog');
  const send = (files: File[]) => files.length > 0 && ctl.uploadToDialog(files);
  return (
    <div class="modal-backdrop">
      <div id="file-dialog" class="modal" role="dialog" aria-modal="true" aria-labelledby="file-dialog-title">
        <header class="modal-head">
          <h2 id="file-dialog-title">{t('dialog.file.title')}</h2>
          <button type="button" class="icon" aria-label={t('common.cancel')} onClick={() => ctl.cancelFileDialog()}>
            <X size={18} />
          </button>
        </header>
        <p>{t('dialog.file.text')}</p>
        <div
          class={`drop-area ${over ? 'drop-target' : ''}`}
          onDragOver={(ev) => {
            if (!ev.dataTransfer?.types.includes('Files')) return;
            ev.preventDefault();
            setOver(true);
          }}
          onDragLeave={() => setOver(false)}
          onDrop={(ev) => {
            setOver(false);
            ev.preventDefault();
            send(Array.from(ev.dataTransfer?.files ?? []));
          }}
        >
          <button id="file-dialog-choose" type="button" class="active" onClick={() => picker.current?.click()}>
            <Upload size={16} aria-hidden="true" />
            {t('dialog.file.choose')}
          </button>
          <span class="muted">{t('dialog.file.drop')}</span>
          <input
            ref={picker}
            id="file-dialog-input"
            type="file"
            multiple
            hidden
            onChange={(ev) => {
              send(Array.from(ev.currentTarget.files ?? []));
              ev.currentTarget.value = '';
            }}
          />
        </div>
        {uploads.map((u) => (
          <div key={u.id} class="file-upload" data-state={u.state}>
            <span class="small">{u.state === 'failed' ? `${t('upload.failed')}: ${u.error ?? ''}` : t('upload.progress', { name: u.name })}</span>
            <progress max={100} value={u.total > 0 ? Math.round((u.loaded / u.total) * 100) : 0} />
          </div>
        ))}
        <div class="row end">
          <button id="file-dialog-cancel" type="button" onClick={() => ctl.cancelFileDialog()}>
            {t('common.cancel')}
          </button>
        </div>
      </div>
    </div>
  );
}

/** Short messages (answers to our requests, failures) stacked at the bottom. */
export function Notices() {
  const { store } = useApp();
  const notices = store.notices.value;
  if (notices.length === 0) return null;
  return (
    <div id="notices" class="notices" aria-live="polite">
      {notices.map((n) => (
        <div key={n.id} class={`notice notice-${n.tone}`} role={n.tone === 'error' ? 'alert' : 'status'}>
          <span>
            {t(n.key, n.params)}
            {n.detail ? `: ${n.detail}` : ''}
          </span>
          <button type="button" class="icon" aria-label={t('common.dismiss')} onClick={() => store.dismissNotice(n.id)}>
            <X size={14} />
          </button>
        </div>
      ))}
    </div>
  );
}
