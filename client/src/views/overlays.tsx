// Things drawn over the video. Each overlay says when it shows; the stage renders every
// one that does, in this order (later ones on top). To add one: write a component, add an
// entry below. Interactive overlays carry `data-ui` so the stage's input handling leaves
// clicks and touches on them alone.
import type { ComponentType } from 'preact';
import { t } from '../i18n/index.js';
import { memberName } from '../room.js';
import type { Store } from '../store.js';
import { useApp } from './context.js';
import { useNow } from './hooks.js';
import { Activity, RefreshCw, Upload, Volume2, X } from './icons.js';
import { secondsUntil } from './topbar.js';

export interface OverlaySpec {
  id: string;
  show(store: Store): boolean;
  component: ComponentType;
}

function Connection() {
  const { store, ctl } = useApp();
  const at = store.retryAt.value;
  const now = useNow(at !== null);
  const reconnecting = store.socket.value === 'reconnecting';
  const text = !reconnecting
    ? t('overlay.connecting')
    : at === null
      ? t('overlay.reconnecting')
      : t('overlay.reconnectingIn', { s: secondsUntil(at, now) });
  return (
    <div id="overlay-connection" class="overlay overlay-cover" data-ui role="alert">
      <div class="overlay-card">
        <span class="spinner" aria-hidden="true" />
        <p>{text}</p>
        {reconnecting && (
          <button id="retry-now" type="button" onClick={() => ctl.retryNow()}>
            <RefreshCw size={16} aria-hidden="true" />
            {t('overlay.retryNow')}
          </button>
        )}
      </div>
    </div>
  );
}

function PrivateMode() {
  return (
    <div id="overlay-private" class="overlay overlay-cover" role="status">
      <div class="overlay-card">
        <h2>{t('overlay.private.title')}</h2>
        <p>{t('overlay.private.text')}</p>
      </div>
    </div>
  );
}

function NoWatch() {
  return (
    <div id="overlay-nowatch" class="overlay overlay-cover" role="status">
      <div class="overlay-card">
        <p>{t('overlay.noWatch')}</p>
      </div>
    </div>
  );
}

function StartingVideo() {
  return (
    <div id="overlay-starting" class="overlay overlay-passive" role="status">
      <div class="overlay-card">
        <span class="spinner" aria-hidden="true" />
        <p>{t('overlay.startingVideo')}</p>
      </div>
    </div>
  );
}

function Autoplay() {
  const { store, ctl } = useApp();
  const blocked = store.playback.value === 'blocked';
  return (
    <div id="overlay-autoplay" class={`overlay ${blocked ? 'overlay-cover' : 'overlay-top'}`} data-ui>
      <button id="unmute" type="button" class="overlay-button" onClick={() => (blocked ? ctl.userPlay() : ctl.toggleMute())}>
        <Volume2 size={20} aria-hidden="true" />
        {blocked ? t('overlay.play') : t('overlay.unmute')}
      </button>
    </div>
  );
}

function Hint() {
  const { store, ctl } = useApp();
  const r = store.room.value;
  const blocked = store.controlBlocked.value;
  return (
    <div id="overlay-hint" class="overlay overlay-top" data-ui role="status">
      <div class="overlay-card hint">
        <p>
          {t('hint.noControl')} {r.hostId ? t('hint.hostIs', { name: memberName(r, r.hostId) }) : ''}
        </p>
        {blocked ? (
          <p class="muted">{t(`control.blocked.${blocked}`)}</p>
        ) : (
          !r.requested &&
          !store.params.cast && (
            <button
              id="hint-request"
              type="button"
              class="active"
              onClick={() => {
                store.hint.value = false;
                ctl.requestControl();
              }}
            >
              {r.hostId ? t('control.request') : t('control.take')}
            </button>
          )
        )}
        <button type="button" class="icon" aria-label={t('common.dismiss')} onClick={() => (store.hint.value = false)}>
          <X size={16} />
        </button>
      </div>
    </div>
  );
}

function Uploads() {
  const { store, ctl } = useApp();
  return (
    <div id="uploads" class="overlay-uploads" data-ui role="region" aria-label={t('upload.list')}>
      {store.uploads.value.filter((u) => u.target === 'drop').map((u) => {
        const pct = u.total > 0 ? Math.round((u.loaded / u.total) * 100) : 0;
        return (
          <div key={u.id} class={`upload upload-${u.state}`} data-state={u.state}>
            <Upload size={16} aria-hidden="true" />
            <div class="upload-body">
              <span class="upload-name">
                {u.state === 'done'
                  ? t('upload.done', { name: u.name })
                  : u.state === 'failed'
                    ? `${t('upload.failed')}: ${u.error ?? ''}`
                    : t('upload.progress', { name: u.name })}
              </span>
              <progress max={100} value={u.state === 'done' ? 100 : pct} aria-label={u.name} />
            </div>
            {u.state === 'running' && (
              <button type="button" class="icon" aria-label={t('upload.cancel')} onClick={() => ctl.cancelUpload(u.id)}>
                <X size={14} />
              </button>
            )}
          </div>
        );
      })}
    </div>
  );
}

const ms = (v: number | null, digits = 0) => (v === null ? '–' : `${v.toFixed(digits)} ms`);

function bitrate(kbps: number | null): string {
  if (kbps === null) return '–';
  return kbps >= 1000 ? `${(kbps / 1000).toFixed(2)} Mbit/s` : `${kbps.toFixed(0)} kbit/s`;
}

/** The stream's numbers, refreshed once a second while shown (the controller samples the peer). */
function Stats() {
  const { store, ctl } = useApp();
  const s = store.stats.value;
  const video = store.video.value;
  const rows: Array<[id: string, label: string, value: string, title?: string]> = s
    ? [
        ['stream', t('stats.stream'), video ? `${video.id}${video.auto ? ' (auto)' : ''}` : '–'],
        ['resolution', t('stats.resolution'), s.width > 0 ? `${s.width}×${s.height}${s.codec ? ` ${s.codec}` : ''}` : '–'],
        ['fps', t('stats.fps'), s.fps === null ? '–' : `${s.fps.toFixed(0)} fps`],
        ['bitrate', t('stats.bitrate'), bitrate(s.bitrateKbps)],
        ['loss', t('stats.loss'), s.lossPercent === null ? '–' : `${s.lossPercent.toFixed(1)} %`],
        ['jitter', t('stats.jitter'), ms(s.jitterBufferMs)],
        ['decode', t('stats.decode'), ms(s.decodeMs, 1)],
        ['rtt', t('stats.rtt'), ms(s.roundTripMs)],
        ['latency', t('stats.latency'), s.latencyMs === null ? '–' : `≈ ${s.latencyMs.toFixed(0)} ms`, t('stats.latencyHelp')],
      ]
    : [];
  return (
    <div id="overlay-stats" class="overlay-stats" data-ui role="region" aria-label={t('stats.title')}>
      <div class="stats-head">
        <Activity size={14} aria-hidden="true" />
        <span>{t('stats.title')}</span>
        <button id="stats-close" type="button" class="icon" aria-label={t('stats.close')} title={t('stats.close')} onClick={() => ctl.toggleStats()}>
          <X size={14} />
        </button>
      </div>
      {s ? (
        <dl class="stats-list">
          {rows.map(([id, label, value, title]) => (
            <div key={id} class="stats-row" data-stat={id} title={title}>
              <dt>{label}</dt>
              <dd>{value}</dd>
            </div>
          ))}
        </dl>
      ) : (
        <p class="muted small">{t('stats.waiting')}</p>
      )}
    </div>
  );
}

export const OVERLAYS: OverlaySpec[] = [
  { id: 'starting', show: (s) => s.socket.value === 'open' && s.peer.value !== 'connected' && !s.blanked.value && s.me.value?.profile.can_watch !== false, component: StartingVideo },
  { id: 'private', show: (s) => s.socket.value === 'open' && s.blanked.value, component: PrivateMode },
  { id: 'nowatch', show: (s) => s.socket.value === 'open' && s.me.value?.profile.can_watch === false, component: NoWatch },
  { id: 'autoplay', show: (s) => s.playback.value === 'blocked' || s.playback.value === 'muted', component: Autoplay },
  { id: 'hint', show: (s) => s.hint.value && !s.isHost.value, component: Hint },
  { id: 'uploads', show: (s) => s.uploads.value.some((u) => u.target === 'drop'), component: Uploads },
  { id: 'stats', show: (s) => s.statsOpen.value, component: Stats },
  { id: 'connection', show: (s) => s.socket.value !== 'open', component: Connection },
];

export function Overlays() {
  const { store } = useApp();
  return (
    <>
      {OVERLAYS.filter((o) => o.show(store)).map(({ id, component: C }) => (
        <C key={id} />
      ))}
    </>
  );
}
