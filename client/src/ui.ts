import type { SocketState } from './socket.js';
import type { PeerState } from './webrtc.js';

function byId<T extends HTMLElement>(id: string, type: { new (): T; prototype: T }): T {
  const el = document.getElementById(id);
  if (!(el instanceof type)) throw new Error(`index.html lacks #${id}`);
  return el;
}

export const dom = {
  loginView: byId('login-view', HTMLElement),
  loginForm: byId('login-form', HTMLFormElement),
  username: byId('username', HTMLInputElement),
  password: byId('password', HTMLInputElement),
  login: byId('login', HTMLButtonElement),
  loginError: byId('login-error', HTMLElement),
  appView: byId('app-view', HTMLElement),
  status: byId('status', HTMLElement),
  rtt: byId('rtt', HTMLElement),
  host: byId('host', HTMLElement),
  notice: byId('notice', HTMLElement),
  control: byId('control', HTMLButtonElement),
  unmute: byId('unmute', HTMLButtonElement),
  panelToggle: byId('panel-toggle', HTMLButtonElement),
  logout: byId('logout', HTMLButtonElement),
  handover: byId('handover', HTMLElement),
  panel: byId('panel', HTMLElement),
  stage: byId('stage', HTMLElement),
  video: byId('video', HTMLVideoElement),
  cursor: byId('cursor', HTMLImageElement),
};

export function showLogin(error = ''): void {
  dom.appView.hidden = true;
  dom.loginView.hidden = false;
  dom.loginError.textContent = error;
  dom.login.disabled = false;
  (dom.username.value ? dom.password : dom.username).focus();
}

export function showApp(): void {
  dom.loginView.hidden = true;
  dom.appView.hidden = false;
  dom.stage.focus({ preventScroll: true });
}

export interface StatusView {
  socket: SocketState;
  peer: PeerState;
  dataChannelOpen: boolean;
  rttMs: number | null;
  isHost: boolean;
  /** Waiting for the host to answer our control request. */
  requested: boolean;
  hostName: string | null;
  /** Why the control button cannot be used, or null. */
  controlBlocked: string | null;
  muted: boolean;
}

function describe(v: StatusView): [text: string, tone: 'ok' | 'busy' | 'bad'] {
  if (v.socket === 'connecting') return ['Connecting…', 'busy'];
  if (v.socket === 'reconnecting') return ['Reconnecting…', 'bad'];
  if (v.socket === 'closed') return ['Offline', 'bad'];
  switch (v.peer) {
    case 'connected': return [v.dataChannelOpen ? 'Live' : 'Live (no input channel)', 'ok'];
    case 'disconnected': return ['Video stalled', 'bad'];
    case 'failed': return ['Video failed, retrying…', 'bad'];
    default: return ['Starting video…', 'busy'];
  }
}

export function renderStatus(v: StatusView): void {
  const [text, tone] = describe(v);
  dom.status.textContent = text;
  dom.status.dataset.tone = tone;
  dom.rtt.textContent = v.rttMs === null || !v.dataChannelOpen ? '' : `${Math.round(v.rttMs)} ms`;
  dom.host.textContent = v.isHost ? 'You have control' : v.hostName ? `Host: ${v.hostName}` : 'No host';
  dom.control.textContent = v.isHost ? 'Release control' : v.requested ? 'Control requested' : 'Request control';
  dom.control.disabled = v.socket !== 'open' || v.controlBlocked !== null;
  dom.control.title = v.controlBlocked ?? '';
  dom.control.classList.toggle('active', v.isHost);
  dom.unmute.textContent = v.muted ? 'Unmute' : 'Mute';
  dom.stage.classList.toggle('hosting', v.isHost);
}

let noticeTimer: number | undefined;

/** A short-lived message in the top bar, e.g. someone asking for control. */
export function notify(text: string, ms = 6000): void {
  window.clearTimeout(noticeTimer);
  dom.notice.textContent = text;
  noticeTimer = window.setTimeout(() => (dom.notice.textContent = ''), ms);
}
