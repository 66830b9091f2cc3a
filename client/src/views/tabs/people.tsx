import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { t, type MessageKey } from '../../i18n/index.js';
import type { MemberProfile } from '../../protocol.js';
import { pluginFlag, roster } from '../../room.js';
import { useApp } from '../context.js';
import { EllipsisVertical } from '../icons.js';

/** Profile permissions an admin switches from a member's menu, in display order. */
export const MEMBER_PERMISSIONS = ['can_host', 'can_watch', 'can_share_media', 'can_access_clipboard', 'can_login'] as const;
type Permission = (typeof MEMBER_PERMISSIONS)[number];

/** Keeps the menu inside the window: it opens at the point, flipped or shifted where it would not fit. */
const EDGE_PX = 8;

interface MenuAt {
  id: string;
  x: number;
  y: number;
}

/** A permission as the server last reported it; the box flips when `session/profile` confirms. */
function PermissionBox({ id, label, checked, change }: { id: string; label: MessageKey; checked: boolean; change(on: boolean): Promise<void> }) {
  const [busy, setBusy] = useState(false);
  return (
    <label class="menu-check" role="menuitemcheckbox" aria-checked={checked}>
      <input
        type="checkbox"
        name={id}
        checked={checked}
        disabled={busy}
        onChange={(ev) => {
          const wanted = ev.currentTarget.checked;
          ev.currentTarget.checked = checked;
          setBusy(true);
          void change(wanted).finally(() => setBusy(false));
        }}
      />
      {t(label)}
    </label>
  );
}

/** What an admin can do to one member: control, disconnect, remove, permissions, chat. */
function MemberMenu({ at, close }: { at: MenuAt; close(): void }) {
  const { store, ctl } = useApp();
  const root = useRef<HTMLDivElement>(null);
  const [pos, setPos] = useState({ left: at.x, top: at.y });
  const [confirmRemove, setConfirmRemove] = useState(false);
  const room = store.room.value;
  const member = room.members.get(at.id);

  useLayoutEffect(() => {
    const el = root.current;
    if (!el) return;
    const { width, height } = el.getBoundingClientRect();
    const left = Math.max(EDGE_PX, Math.min(at.x, window.innerWidth - width - EDGE_PX));
    const top = at.y + height + EDGE_PX > window.innerHeight ? Math.max(EDGE_PX, at.y - height) : at.y;
    setPos({ left, top });
  }, [at.x, at.y, at.id]);

  useEffect(() => {
    const outside = (ev: Event) => {
      const target = ev.target as Element;
      // Its own ⋮ button toggles it; closing here first would make that click reopen it.
      if (root.current?.contains(target) || target.closest?.(`.member-actions[data-id="${CSS.escape(at.id)}"]`)) return;
      close();
    };
    const esc = (ev: KeyboardEvent) => ev.key === 'Escape' && close();
    document.addEventListener('pointerdown', outside);
    document.addEventListener('keydown', esc);
    return () => {
      document.removeEventListener('pointerdown', outside);
      document.removeEventListener('keydown', esc);
    };
  }, [close, at.id]);

  useEffect(() => {
    if (!member) close();
  }, [member, close]);
  if (!member) return null;

  const me = member.id === room.sessionId;
  const host = room.hostId === member.id;
  const connected = member.state.is_connected;
  const act = (run: () => Promise<void>) => () => {
    close();
    void run();
  };
  const profile = member.profile;
  const set = (change: Partial<MemberProfile>) => ctl.setPermissions(member.id, change);

  return (
    <div
      id="member-menu"
      ref={root}
      class="member-menu"
      role="menu"
      aria-label={t('people.actions', { name: profile.name || member.id })}
      data-id={member.id}
      style={{ left: `${pos.left}px`, top: `${pos.top}px` }}
      onContextMenu={(ev) => ev.preventDefault()}
    >
      <div class="member-menu-head" role="none">
        {profile.name || member.id}
      </div>
      {host && (
        <button type="button" role="menuitem" data-action="release" onClick={act(() => ctl.releaseControl(member.id))}>
          {t('member.releaseControl')}
        </button>
      )}
      {!host && me && (
        <button type="button" role="menuitem" data-action="take" onClick={act(() => ctl.takeControl())}>
          {t('member.takeControl')}
        </button>
      )}
      {!host && !me && connected && profile.can_host && (
        <button type="button" role="menuitem" data-action="give" onClick={act(() => ctl.give(member.id))}>
          {t('member.giveControl')}
        </button>
      )}
      {!me && connected && (
        <button type="button" role="menuitem" data-action="kick" onClick={act(() => ctl.kick(member.id))}>
          {t('member.kick')}
        </button>
      )}
      {!me && (
        <button
          type="button"
          role="menuitem"
          class={confirmRemove ? 'danger confirm' : 'danger'}
          data-action="remove"
          onClick={confirmRemove ? act(() => ctl.removeSession(member.id)) : () => setConfirmRemove(true)}
        >
          {confirmRemove ? t('member.confirmRemove') : t('member.remove')}
        </button>
      )}
      {!me && (
        <>
          <div class="member-menu-sep" role="separator">
            {t('member.permissions')}
          </div>
          {MEMBER_PERMISSIONS.map((key: Permission) => (
            <PermissionBox key={key} id={key} label={`member.${key}`} checked={profile[key] !== false} change={(on) => set({ [key]: on })} />
          ))}
          <PermissionBox
            id="chat_muted"
            label="member.chatMuted"
            checked={!pluginFlag(profile.plugins, 'chat.can_send')}
            change={(muted) => ctl.setChatMuted(member.id, muted)}
          />
        </>
      )}
    </div>
  );
}

/**
 * Everyone in the room: who is host, who is online, who is watching the stream. Admins get
 * a menu per member: right-click a row, or its ⋮ button (touch screens have no right-click).
 */
export function PeopleTab() {
  const { store } = useApp();
  const [menu, setMenu] = useState<MenuAt | null>(null);
  const admin = store.isAdmin.value;
  const room = store.room.value;
  const close = useRef(() => setMenu(null)).current;
  return (
    <section class="panel-section" aria-label={t('tab.people')}>
      <ul class="members">
        {roster(room).map((m) => {
          const badges: Array<[string, MessageKey]> = [];
          if (m.you) badges.push(['you', 'people.you']);
          if (m.admin) badges.push(['admin', 'people.admin']);
          if (m.host) badges.push(['host', 'people.host']);
          if (!pluginFlag(room.members.get(m.id)?.profile.plugins, 'chat.can_send')) badges.push(['muted', 'people.muted']);
          if (!m.connected) badges.push(['offline', 'people.offline']);
          else if (m.watching) badges.push(['watching', 'people.watching']);
          else badges.push(['online', 'people.online']);
          return (
            <li
              key={m.id}
              class={`member ${menu?.id === m.id ? 'menu-open' : ''}`}
              data-id={m.id}
              data-host={String(m.host)}
              data-connected={String(m.connected)}
              data-watching={String(m.watching)}
              onContextMenu={
                admin
                  ? (ev) => {
                      ev.preventDefault();
                      setMenu({ id: m.id, x: ev.clientX, y: ev.clientY });
                    }
                  : undefined
              }
            >
              <span class="member-name" title={m.id}>
                {m.name}
              </span>
              {badges.map(([kind, key]) => (
                <span key={kind} class={`badge badge-${kind}`}>
                  {t(key)}
                </span>
              ))}
              {admin && (
                <button
                  type="button"
                  class="icon member-actions"
                  data-id={m.id}
                  title={t('people.actions', { name: m.name })}
                  aria-label={t('people.actions', { name: m.name })}
                  aria-haspopup="menu"
                  aria-expanded={menu?.id === m.id}
                  onClick={(ev) => {
                    const r = ev.currentTarget.getBoundingClientRect();
                    setMenu(menu?.id === m.id ? null : { id: m.id, x: r.right - 220, y: r.bottom + 4 });
                  }}
                >
                  <EllipsisVertical size={16} />
                </button>
              )}
            </li>
          );
        })}
      </ul>
      {menu && <MemberMenu key={menu.id} at={menu} close={close} />}
    </section>
  );
}
