import { useRef } from 'preact/hooks';
import { t, type MessageKey } from '../i18n/index.js';
import { memberName } from '../room.js';
import type { Store } from '../store.js';
import { useApp } from './context.js';
import {
  Activity, EllipsisVertical, Hand, Keyboard, LogOut, Maximize, Mic, MicOff, Minimize, PanelRight, PictureInPicture2, Upload,
  Volume2, VolumeX,
} from './icons.js';
import { useNow, usePopup } from './hooks.js';

/** Seconds until `at` (epoch ms), at least 1 while it is in the future. */
export function secondsUntil(at: number, now: number): number {
  return Math.max(1, Math.ceil((at - now) / 1000));
}

/** What the status line says, and its colour. */
export function statusOf(store: Store, now: number): [text: string, tone: 'ok' | 'busy' | 'bad'] {
  switch (store.socket.value) {
    case 'connecting':
      return [t('status.connecting'), 'busy'];
    case 'reconnecting': {
      const at = store.retryAt.value;
      return [at === null ? t('status.reconnecting') : t('status.reconnectingIn', { s: secondsUntil(at, now) }), 'bad'];
    }
    case 'closed':
      return [t('status.offline'), 'bad'];
    case 'open':
      break;
  }
  if (store.blanked.value) return [t('status.private'), 'busy'];
  switch (store.peer.value) {
    case 'connected':
      return [store.dataChannelOpen.value ? t('status.live') : t('status.liveNoInput'), 'ok'];
    case 'disconnected':
      return [t('status.stalled'), 'bad'];
    case 'failed':
      return [t('status.failed'), 'bad'];
    default:
      return [t('status.starting'), 'busy'];
  }
}

function Status() {
  const { store } = useApp();
  const now = useNow(store.retryAt.value !== null);
  const [text, tone] = statusOf(store, now);
  const rtt = store.rttMs.value;
  return (
    <span class="status-group">
      <span id="status" class="status" role="status" data-tone={tone} title={text}>
        <span class="status-text">{text}</span>
      </span>
      <span id="rtt" class="muted rtt" title={t('status.rtt')}>
        {rtt === null || !store.dataChannelOpen.value || store.socket.value !== 'open' ? '' : `${Math.round(rtt)} ms`}
      </span>
    </span>
  );
}

function HostLabel() {
  const { store } = useApp();
  const r = store.room.value;
  const text = store.isHost.value ? t('host.you') : r.hostId ? t('host.other', { name: memberName(r, r.hostId) }) : t('host.none');
  return (
    <span id="host" class="host-label">
      {text}
    </span>
  );
}

function ControlButton() {
  const { store, ctl } = useApp();
  const r = store.room.value;
  const host = store.isHost.value;
  const blocked = store.controlBlocked.value;
  let label: MessageKey;
  if (host) label = 'control.release';
  else if (r.requested) label = 'control.requested';
  else if (r.hostId === null || store.isAdmin.value) label = 'control.take';
  else label = 'control.request';
  const text = t(label);
  return (
    <button
      id="control"
      type="button"
      class={`control ${host ? 'active' : ''}`}
      disabled={store.socket.value !== 'open' || blocked !== null}
      title={blocked ? t(`control.blocked.${blocked}`) : text}
      aria-pressed={host}
      onClick={() => {
        ctl.controlButton();
        focusStage();
      }}
    >
      <Hand size={18} aria-hidden="true" />
      <span class="label">{text}</span>
    </button>
  );
}

/** Typing right after using the bar should reach the desktop, not re-press the button. */
function focusStage(): void {
  document.getElementById('stage')?.focus({ preventScroll: true });
}

export function VolumeSlider({ id }: { id: string }) {
  const { store, ctl } = useApp();
  const silent = store.muted.value || store.playback.value === 'muted';
  return (
    <input
      id={id}
      class="volume-slider"
      type="range"
      min={0}
      max={100}
      step={1}
      value={silent ? 0 : store.volume.value}
      aria-label={t('bar.volume')}
      onInput={(ev) => ctl.setVolume(Number(ev.currentTarget.value))}
    />
  );
}

function Volume() {
  const { store, ctl } = useApp();
  const silent = store.muted.value || store.volume.value === 0 || store.playback.value === 'muted';
  return (
    <span class="volume">
      <button
        id="mute"
        type="button"
        class="icon"
        title={silent ? t('bar.unmute') : t('bar.mute')}
        aria-label={silent ? t('bar.unmute') : t('bar.mute')}
        aria-pressed={silent}
        onClick={() => ctl.toggleMute()}
      >
        {silent ? <VolumeX size={18} /> : <Volume2 size={18} />}
      </button>
      <VolumeSlider id="volume" />
    </span>
  );
}

function KeyboardButton() {
  const { store } = useApp();
  return (
    <button
      id="keyboard"
      type="button"
      class={`icon ${store.keyboardOpen.value ? 'active' : ''}`}
      title={t('bar.keyboard')}
      aria-label={t('bar.keyboard')}
      // The phone opens its keyboard only for a focus made inside the tap's own handler.
      onClick={() => document.getElementById('soft-keyboard')?.focus()}
    >
      <Keyboard size={18} />
    </button>
  );
}

function MicButton() {
  const { store, ctl } = useApp();
  const state = store.microphone.value;
  const label = state === 'off' ? t('bar.micOff') : t('bar.micOn');
  return (
    <button
      id="mic"
      type="button"
      class={`icon ${state === 'on' ? 'active' : ''}`}
      title={label}
      aria-label={label}
      aria-pressed={state !== 'off'}
      disabled={state === 'starting'}
      onClick={() => void ctl.toggleMicrophone()}
    >
      {state === 'off' ? <MicOff size={18} /> : <Mic size={18} />}
    </button>
  );
}

function PanelToggle() {
  const { store } = useApp();
  const open = store.panelOpen.value;
  const unread = store.unread.value;
  return (
    <button
      id="panel-toggle"
      type="button"
      class={`icon panel-toggle ${open ? 'active' : ''}`}
      title={t('bar.panel')}
      aria-label={t('bar.panel')}
      aria-expanded={open}
      aria-controls="panel"
      data-unread={unread > 0 ? String(unread) : ''}
      onClick={() => (store.panelOpen.value = !open)}
    >
      <PanelRight size={18} />
    </button>
  );
}

function Menu() {
  const { store, ctl } = useApp();
  const { open, setOpen, root } = usePopup<HTMLDivElement>();
  const file = useRef<HTMLInputElement>(null);

  const item = (fn: () => void) => () => {
    setOpen(false);
    fn();
  };

  return (
    <div class="menu" ref={root}>
      <button
        id="menu"
        type="button"
        class={`icon ${open ? 'active' : ''}`}
        title={t('bar.menu')}
        aria-label={t('bar.menu')}
        aria-haspopup="menu"
        aria-expanded={open}
        onClick={() => setOpen(!open)}
      >
        <EllipsisVertical size={18} />
      </button>
      <input
        ref={file}
        id="upload-input"
        type="file"
        multiple
        hidden
        onChange={(ev) => {
          const files = Array.from(ev.currentTarget.files ?? []);
          ev.currentTarget.value = '';
          const stage = document.getElementById('video')?.getBoundingClientRect();
          if (stage) ctl.uploadDrop(files, { x: stage.left + stage.width / 2, y: stage.top + stage.height / 2 });
        }}
      />
      {open && (
        <div class="menu-list" role="menu">
          <div class="menu-volume narrow-only" role="none">
            <Volume2 size={16} aria-hidden="true" />
            <VolumeSlider id="menu-volume" />
          </div>
          {'pictureInPictureEnabled' in document && document.pictureInPictureEnabled && (
            <button id="pip" type="button" role="menuitem" onClick={item(() => void ctl.togglePictureInPicture())}>
              <PictureInPicture2 size={16} aria-hidden="true" />
              {t('bar.pip')}
            </button>
          )}
          <button id="stats-toggle" type="button" role="menuitem" aria-pressed={store.statsOpen.value} onClick={item(() => ctl.toggleStats())}>
            <Activity size={16} aria-hidden="true" />
            {store.statsOpen.value ? t('bar.hideStats') : t('bar.stats')}
          </button>
          {ctl.canUpload() && (
            <button id="upload" type="button" role="menuitem" onClick={item(() => file.current?.click())}>
              <Upload size={16} aria-hidden="true" />
              {t('bar.upload')}
            </button>
          )}
          <button id="logout" type="button" role="menuitem" onClick={item(() => ctl.logout())}>
            <LogOut size={16} aria-hidden="true" />
            {t('bar.logout')}
          </button>
        </div>
      )}
    </div>
  );
}

export function TopBar() {
  const { store, ctl } = useApp();
  const full = store.fullscreen.value;
  return (
    <header class="bar">
      <Status />
      <HostLabel />
      <span class="spacer" />
      <ControlButton />
      <Volume />
      {store.touch && <KeyboardButton />}
      {store.canShareMedia.value && <MicButton />}
      <button
        id="fullscreen"
        type="button"
        class={`icon ${full ? 'active' : ''}`}
        title={full ? t('bar.exitFullscreen') : t('bar.fullscreen')}
        aria-label={full ? t('bar.exitFullscreen') : t('bar.fullscreen')}
        onClick={() => void ctl.toggleFullscreen()}
      >
        {full ? <Minimize size={18} /> : <Maximize size={18} />}
      </button>
      <PanelToggle />
      <Menu />
    </header>
  );
}
