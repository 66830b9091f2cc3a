import { useEffect, useState } from 'preact/hooks';
import { t } from '../../i18n/index.js';
import type { ScreenSize } from '../../protocol.js';
import { ROOM_FLAGS, roomSwitch, type RoomPluginSwitch, type RoomSwitch } from '../../room.js';
import { useApp } from '../context.js';
import { KeyRound, Radio, Trash2, UserPlus } from '../icons.js';

const isFlag = (key: RoomSwitch): key is (typeof ROOM_FLAGS)[number] => (ROOM_FLAGS as readonly string[]).includes(key);

/**
 * A switch shows the server's value, not the click: it flips when `system/settings`
 * confirms the change, and stays as it was if the request fails.
 */
function Switch({ setting }: { setting: RoomSwitch }) {
  const { store, ctl } = useApp();
  const [busy, setBusy] = useState(false);
  const value = roomSwitch(store.room.value.settings, setting);
  const help = `setting-help-${setting.replace('.', '-')}`;
  return (
    <div class="setting-row">
      <label class="setting">
        <input
          type="checkbox"
          name={setting}
          checked={value}
          disabled={busy}
          aria-describedby={help}
          onChange={(ev) => {
            const wanted = ev.currentTarget.checked;
            ev.currentTarget.checked = value;
            setBusy(true);
            const done = isFlag(setting) ? ctl.updateSettings({ [setting]: wanted }) : ctl.setRoomPlugin(setting as RoomPluginSwitch, wanted);
            void done.finally(() => setBusy(false));
          }}
        />
        {t(`admin.${setting}`)}
      </label>
      <p id={help} class="muted small setting-help">
        {t(`admin.${setting}.help`)}
      </p>
    </div>
  );
}

const sizeKey = (s: ScreenSize) => `${s.width}x${s.height}@${s.rate}`;

function Resolution() {
  const { store, ctl } = useApp();
  const sizes = store.screenSizes.value;
  const screen = store.screen.value;
  useEffect(() => {
    if (sizes.length === 0) void ctl.loadScreenSizes();
  }, []);
  if (sizes.length === 0) return <p class="muted small">{t('admin.resolutionNone')}</p>;
  const current = sizeKey(screen);
  const sorted = [...sizes].sort((a, b) => b.width * b.height - a.width * a.height || b.rate - a.rate);
  return (
    <select
      id="resolution"
      value={current}
      onChange={(ev) => {
        const size = sizes.find((s) => sizeKey(s) === ev.currentTarget.value);
        if (size) ctl.setScreen(size);
      }}
    >
      {!sizes.some((s) => sizeKey(s) === current) && <option value={current}>{`${screen.width}×${screen.height} @ ${screen.rate}`}</option>}
      {sorted.map((s) => (
        <option key={sizeKey(s)} value={sizeKey(s)}>
          {`${s.width}×${s.height} @ ${s.rate}`}
        </option>
      ))}
    </select>
  );
}

/** Start and stop the RTMP broadcast; the status is what the server last announced. */
function Broadcast() {
  const { store, ctl } = useApp();
  const status = store.broadcast.value;
  const active = status?.is_active === true;
  const [url, setUrl] = useState(status?.url ?? '');
  const [busy, setBusy] = useState(false);
  const run = (call: Promise<void>) => {
    setBusy(true);
    void call.finally(() => setBusy(false));
  };
  return (
    <section class="panel-section" aria-label={t('admin.broadcast')}>
      <h2>{t('admin.broadcast')}</h2>
      <p id="broadcast-status" class={`broadcast-status ${active ? 'live' : ''}`} data-active={String(active)}>
        <Radio size={16} aria-hidden="true" />
        <span>{active ? t('admin.broadcastLive', { url: status?.url ?? '' }) : t('admin.broadcastOff')}</span>
      </p>
      <form
        class="row broadcast-form"
        onSubmit={(ev) => {
          ev.preventDefault();
          run(active ? ctl.stopBroadcast() : ctl.startBroadcast(url.trim()));
        }}
      >
        <input
          id="broadcast-url"
          type="url"
          placeholder="rtmp://host/app/key"
          aria-label={t('admin.broadcastUrl')}
          value={active ? status?.url ?? url : url}
          disabled={active}
          required={!active}
          onInput={(ev) => setUrl(ev.currentTarget.value)}
        />
        <button id="broadcast-toggle" type="submit" class={active ? 'danger' : 'active'} disabled={busy}>
          {active ? t('admin.broadcastStop') : t('admin.broadcastStart')}
        </button>
      </form>
    </section>
  );
}

function PasswordForm({ id, done }: { id: string; done(): void }) {
  const { ctl } = useApp();
  const [password, setPassword] = useState('');
  return (
    <form
      class="row account-password"
      onSubmit={(ev) => {
        ev.preventDefault();
        void ctl.setAccountPassword(id, password).then((ok) => ok && done());
      }}
    >
      <input
        type="password"
        name="new-password"
        autocomplete="new-password"
        required
        aria-label={t('members.newPassword')}
        placeholder={t('members.newPassword')}
        value={password}
        onInput={(ev) => setPassword(ev.currentTarget.value)}
      />
      <button type="submit">{t('members.setPassword')}</button>
    </form>
  );
}

function Account({ id, name, admin }: { id: string; name: string; admin: boolean }) {
  const { store, ctl } = useApp();
  const [editing, setEditing] = useState(false);
  const [confirm, setConfirm] = useState(false);
  const me = id === store.room.value.sessionId;
  return (
    <li class="account" data-id={id}>
      <div class="account-row">
        <span class="member-name" title={id}>
          {name}
        </span>
        {admin && <span class="badge badge-admin">{t('people.admin')}</span>}
        <button
          type="button"
          class={`icon ${editing ? 'active' : ''}`}
          data-action="password"
          title={t('members.changePassword', { name: id })}
          aria-label={t('members.changePassword', { name: id })}
          aria-expanded={editing}
          onClick={() => setEditing(!editing)}
        >
          <KeyRound size={16} />
        </button>
        {!me &&
          (confirm ? (
            <button type="button" class="danger confirm" data-action="confirm-delete" onClick={() => void ctl.deleteAccount(id)}>
              {t('members.confirmDelete', { name: id })}
            </button>
          ) : (
            <button
              type="button"
              class="icon danger"
              data-action="delete"
              title={t('members.delete', { name: id })}
              aria-label={t('members.delete', { name: id })}
              onClick={() => setConfirm(true)}
            >
              <Trash2 size={16} />
            </button>
          ))}
      </div>
      {editing && <PasswordForm id={id} done={() => setEditing(false)} />}
    </li>
  );
}

function NewAccount() {
  const { ctl } = useApp();
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [admin, setAdmin] = useState(false);
  const [busy, setBusy] = useState(false);
  return (
    <form
      id="member-create"
      class="account-create"
      onSubmit={(ev) => {
        ev.preventDefault();
        setBusy(true);
        void ctl
          .createAccount(username.trim(), password, { is_admin: admin })
          .then((ok) => {
            if (!ok) return;
            setUsername('');
            setPassword('');
            setAdmin(false);
          })
          .finally(() => setBusy(false));
      }}
    >
      <input
        name="username"
        autocomplete="off"
        required
        aria-label={t('members.username')}
        placeholder={t('members.username')}
        value={username}
        onInput={(ev) => setUsername(ev.currentTarget.value)}
      />
      <input
        name="password"
        type="password"
        autocomplete="new-password"
        required
        aria-label={t('members.password')}
        placeholder={t('members.password')}
        value={password}
        onInput={(ev) => setPassword(ev.currentTarget.value)}
      />
      <div class="row">
        <label class="setting">
          <input type="checkbox" name="is_admin" checked={admin} onChange={(ev) => setAdmin(ev.currentTarget.checked)} />
          {t('members.admin')}
        </label>
        <span class="spacer" />
        <button type="submit" class="active" disabled={busy}>
          <UserPlus size={16} aria-hidden="true" />
          {t('members.create')}
        </button>
      </div>
    </form>
  );
}

/**
 * Member accounts where the provider keeps them (file, object): add, delete, change a
 * password. Where it does not (multiuser, noauth) the members are the live sessions, managed
 * from the People tab; this says so.
 */
function Members() {
  const { store, ctl } = useApp();
  const accounts = store.accounts.value;
  useEffect(() => void ctl.loadAccounts(), [ctl]);
  return (
    <section id="members" class="panel-section" aria-label={t('members.title')}>
      <h2>{t('members.title')}</h2>
      {accounts &&
        (accounts.stored ? (
          <>
            {accounts.list.length === 0 ? (
              <p class="muted">{t('members.empty')}</p>
            ) : (
              <ul class="accounts">
                {[...accounts.list]
                  .sort((a, b) => a.id.localeCompare(b.id))
                  .map((m) => (
                    <Account key={m.id} id={m.id} name={m.profile.name || m.id} admin={m.profile.is_admin} />
                  ))}
              </ul>
            )}
            <NewAccount />
          </>
        ) : (
          <p id="members-sessions-only" class="muted small">
            {t('members.sessionsOnly')}
          </p>
        ))}
    </section>
  );
}

/** Room switches, the screen size, the broadcast and the member accounts, for admins. */
export function AdminTab() {
  const { store } = useApp();
  const settings = store.room.value.settings;
  if (!settings) return null;
  const plugins: RoomPluginSwitch[] = [];
  if (store.room.value.chatEnabled) plugins.push('chat.can_send', 'chat.can_receive');
  if (store.files.value?.enabled) plugins.push('filetransfer.enabled');
  return (
    <>
      <section class="panel-section" aria-label={t('admin.room')}>
        <h2>{t('admin.room')}</h2>
        {ROOM_FLAGS.map((flag) => (
          <Switch key={flag} setting={flag} />
        ))}
      </section>
      {plugins.length > 0 && (
        <section class="panel-section" aria-label={t('admin.pluginsTitle')}>
          <h2>{t('admin.pluginsTitle')}</h2>
          {plugins.map((key) => (
            <Switch key={key} setting={key} />
          ))}
        </section>
      )}
      <section class="panel-section" aria-label={t('admin.resolution')}>
        <h2>
          <label for="resolution">{t('admin.resolution')}</label>
        </h2>
        <Resolution />
      </section>
      <Broadcast />
      <Members />
    </>
  );
}
