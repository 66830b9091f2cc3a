import { useEffect, useRef, useState } from 'preact/hooks';
import { t } from '../../i18n/index.js';
import { useApp } from '../context.js';
import { Download, FolderOpen, RefreshCw, Trash2, Upload } from '../icons.js';

/** `1.5 MB`-style sizes. */
export function byteSize(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let i = 0;
  let v = n;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

/** The file-transfer folder: list, download, upload and delete, as the room allows. */
export function FilesTab() {
  const { store, ctl } = useApp();
  const picker = useRef<HTMLInputElement>(null);
  const [over, setOver] = useState(false);
  const files = store.files.value;
  const admin = store.isAdmin.value;
  useEffect(() => ctl.refreshFiles(), [ctl]);
  if (!files?.enabled) return null;
  const canDownload = admin || files.user_download;
  const canUpload = admin || files.user_upload;
  const canDelete = admin || files.user_delete;
  const list = [...(files.files ?? [])].sort((a, b) => (a.type === b.type ? a.name.localeCompare(b.name) : a.type === 'dir' ? -1 : 1));
  const uploads = store.uploads.value.filter((u) => u.target === 'files');

  return (
    <section
      class={`panel-section files ${over ? 'drop-target' : ''}`}
      aria-label={t('files.title')}
      onDragOver={(ev) => {
        if (!canUpload || !ev.dataTransfer?.types.includes('Files')) return;
        ev.preventDefault();
        setOver(true);
      }}
      onDragLeave={() => setOver(false)}
      onDrop={(ev) => {
        setOver(false);
        if (!canUpload || !ev.dataTransfer?.files.length) return;
        ev.preventDefault();
        ctl.uploadFiles(Array.from(ev.dataTransfer.files));
      }}
    >
      <div class="row">
        {canUpload && (
          <>
            <button id="files-upload" type="button" onClick={() => picker.current?.click()}>
              <Upload size={16} aria-hidden="true" />
              {t('files.upload')}
            </button>
            <input
              ref={picker}
              id="files-input"
              type="file"
              multiple
              hidden
              onChange={(ev) => {
                ctl.uploadFiles(Array.from(ev.currentTarget.files ?? []));
                ev.currentTarget.value = '';
              }}
            />
          </>
        )}
        <button id="files-refresh" type="button" class="icon" title={t('files.refresh')} aria-label={t('files.refresh')} onClick={() => ctl.refreshFiles()}>
          <RefreshCw size={16} />
        </button>
      </div>
      {uploads.map((u) => (
        <div key={u.id} class="file-upload" data-state={u.state}>
          <span class="small">{u.state === 'failed' ? `${t('upload.failed')}: ${u.error ?? ''}` : t('upload.progress', { name: u.name })}</span>
          <progress max={100} value={u.total > 0 ? Math.round((u.loaded / u.total) * 100) : 0} />
        </div>
      ))}
      {list.length === 0 ? (
        <p class="muted">{t('files.empty')}</p>
      ) : (
        <ul class="file-list">
          {list.map((f) => (
            <li key={f.name} class="file" data-name={f.name} data-type={f.type}>
              {f.type === 'dir' && <FolderOpen size={16} aria-label={t('files.folder')} />}
              <span class="file-name" title={f.name}>
                {f.name}
              </span>
              {f.type === 'file' && f.size !== undefined && <span class="file-size muted small">{byteSize(f.size)}</span>}
              {f.type === 'file' && canDownload && (
                <a class="button icon" href={ctl.fileUrl(f.name)} download={f.name} title={t('files.download', { name: f.name })} aria-label={t('files.download', { name: f.name })}>
                  <Download size={16} />
                </a>
              )}
              {f.type === 'file' && canDelete && (
                <button
                  type="button"
                  class="icon danger"
                  data-action="delete"
                  title={t('files.delete', { name: f.name })}
                  aria-label={t('files.delete', { name: f.name })}
                  onClick={() => void ctl.deleteFile(f.name)}
                >
                  <Trash2 size={16} />
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
      {canUpload && <p class="muted small">{t('files.dropHere')}</p>}
    </section>
  );
}
