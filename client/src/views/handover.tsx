import { useState } from 'preact/hooks';
import { t } from '../i18n/index.js';
import { memberName } from '../room.js';
import { useApp } from './context.js';

function Request({ id }: { id: string }) {
  const { store, ctl } = useApp();
  const [busy, setBusy] = useState(false);
  const name = memberName(store.room.value, id);
  return (
    <div class="handover-request" data-id={id}>
      <span>{t('control.asks', { name })}</span>
      <button
        type="button"
        class="active"
        data-action="give"
        data-id={id}
        disabled={busy}
        onClick={() => {
          setBusy(true);
          // On success `control/host` removes this request; on failure it stays usable.
          void ctl.give(id).finally(() => setBusy(false));
        }}
      >
        {t('control.give')}
      </button>
      <button type="button" data-action="deny" data-id={id} onClick={() => ctl.deny(id)}>
        {t('control.deny')}
      </button>
    </div>
  );
}

/** While we are host: one line per member asking for control, with the answers to it. */
export function Handover() {
  const { store } = useApp();
  const requests = store.isHost.value ? store.room.value.requests : [];
  if (requests.length === 0) return null;
  return (
    <div id="handover" class="handover" role="region" aria-label={t('control.requests')}>
      {requests.map((id) => (
        <Request key={id} id={id} />
      ))}
    </div>
  );
}
