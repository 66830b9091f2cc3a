import { ApiRequestError, login, logout, socketUrl } from './api.js';
import { DataLink } from './channel.js';
import { RemoteCursor } from './cursor.js';
import { Input, sendOverSocket } from './input.js';
import type { ControlHost, MemberProfile, ScreenSize } from './protocol.js';
import { Socket, type SocketState } from './socket.js';
import { dom, notify, renderStatus, showApp, showLogin } from './ui.js';
import { Viewer, type PeerState } from './webrtc.js';

// Survives reloads of this tab only. An empty value means the server uses a cookie.
const TOKEN_KEY = 'neko.token';

const state = {
  sessionId: null as string | null,
  hostId: null as string | null,
  socket: 'closed' as SocketState,
  peer: 'none' as PeerState,
  dataChannelOpen: false,
  lastRttMs: null as number | null,
  screen: { width: 0, height: 0, rate: 0 } as ScreenSize,
  profiles: new Map<string, MemberProfile>(),
};
let token: string | undefined;
let link: DataLink | undefined;

const isHost = (): boolean => state.sessionId !== null && state.hostId === state.sessionId;

function render(): void {
  const me = state.sessionId ? state.profiles.get(state.sessionId) : undefined;
  renderStatus({
    socket: state.socket,
    peer: state.peer,
    dataChannelOpen: state.dataChannelOpen,
    rttMs: state.lastRttMs,
    isHost: isHost(),
    hostName: state.hostId ? (state.profiles.get(state.hostId)?.name ?? state.hostId) : null,
    canHost: me?.can_host ?? true,
    muted: dom.video.muted,
  });
}

const socket = new Socket(
  () => socketUrl(token),
  (s) => {
    state.socket = s;
    render();
  },
);

const cursor = new RemoteCursor(dom.stage, dom.video, dom.cursor, () => state.screen);

const viewer = new Viewer(socket, {
  stream(stream) {
    if (dom.video.srcObject === stream) return;
    dom.video.srcObject = stream;
    play();
  },
  dataChannel(channel) {
    link?.detach();
    link = new DataLink(channel, {
      open(open) {
        state.dataChannelOpen = open;
        if (!open) state.lastRttMs = null;
        render();
      },
      rtt(ms) {
        state.lastRttMs = ms;
        render();
      },
      cursorImage: (image) => cursor.setImage(image),
      cursorPosition: (position) => cursor.setPosition(position),
    });
  },
  state(peer) {
    state.peer = peer;
    if (peer === 'none') {
      link?.detach();
      link = undefined;
    }
    render();
  },
});

const input = new Input(dom.stage, dom.video, {
  isHost,
  screen: () => state.screen,
  send(msg) {
    if (!link?.send(msg)) sendOverSocket(socket, msg);
  },
});

function setHost(control: ControlHost): void {
  const wasHost = isHost();
  state.hostId = control.has_host && control.host_id ? control.host_id : null;
  if (wasHost && !isHost()) input.reset();
  cursor.setHost(isHost());
  render();
}

socket.on('system/init', (init) => {
  state.sessionId = init.session_id;
  state.profiles = new Map(Object.entries(init.sessions).map(([id, s]) => [id, s.profile]));
  state.screen = init.screen_size;
  socket.setHeartbeatInterval(init.settings.heartbeat_interval);
  setHost(init.control_host);
  viewer.request();
});
socket.on('system/settings', (settings) => socket.setHeartbeatInterval(settings.heartbeat_interval));
socket.on('system/disconnect', ({ message }) => endSession(message));
socket.on('session/created', (s) => {
  state.profiles.set(s.id, s.profile);
  render();
});
socket.on('session/deleted', ({ id }) => {
  state.profiles.delete(id);
  render();
});
socket.on('session/profile', ({ id, ...profile }) => {
  state.profiles.set(id, profile);
  render();
});
socket.on('control/host', setHost);
socket.on('control/request', ({ id }) => notify(`${state.profiles.get(id)?.name ?? id} asks for control`));
socket.on('screen/updated', ({ width, height, rate }) => {
  state.screen = { width, height, rate };
  cursor.layout();
});

function play(): void {
  // Rejected when the browser wants a user gesture first; the next click on the stage retries.
  dom.video.play().catch(() => undefined);
}

function startSession(): void {
  showApp();
  socket.connect();
}

function endSession(message = ''): void {
  socket.close();
  viewer.stop();
  input.reset();
  cursor.clear();
  dom.video.srcObject = null;
  token = undefined;
  sessionStorage.removeItem(TOKEN_KEY);
  state.sessionId = null;
  state.hostId = null;
  state.lastRttMs = null;
  state.profiles.clear();
  showLogin(message);
  render();
}

async function submitLogin(): Promise<void> {
  dom.login.disabled = true;
  dom.loginError.textContent = '';
  try {
    const session = await login(dom.username.value, dom.password.value);
    token = session.token;
    sessionStorage.setItem(TOKEN_KEY, session.token ?? '');
    dom.password.value = '';
    startSession();
  } catch (err) {
    const message = err instanceof ApiRequestError ? err.message : 'Server unreachable';
    showLogin(message);
  }
}

dom.loginForm.addEventListener('submit', (ev) => {
  ev.preventDefault();
  void submitLogin();
});

dom.control.addEventListener('click', () => {
  if (isHost()) socket.send('control/release');
  else socket.send('control/request');
});

dom.unmute.addEventListener('click', () => {
  dom.video.muted = !dom.video.muted;
  if (dom.video.paused) play();
  render();
});

// Typing right after using the bar should reach the desktop, not re-press the button.
for (const button of [dom.control, dom.unmute]) {
  button.addEventListener('click', () => dom.stage.focus({ preventScroll: true }));
}

dom.logout.addEventListener('click', () => {
  const current = token;
  endSession();
  logout(current).catch((err: unknown) => console.warn('logout failed', err));
});

dom.stage.addEventListener('click', () => {
  if (dom.video.paused && dom.video.srcObject) play();
});

// Read-only hook for end-to-end tests and embedding pages.
Object.defineProperty(window, '__neko', {
  value: Object.freeze({
    state: () => ({
      sessionId: state.sessionId,
      isHost: isHost(),
      hostId: state.hostId,
      connected: state.socket === 'open',
      peerState: state.peer,
      dataChannelOpen: state.dataChannelOpen,
      lastRttMs: state.lastRttMs,
      screen: { ...state.screen },
    }),
    framesDecoded: () => Math.max(dom.video.getVideoPlaybackQuality().totalVideoFrames, viewer.framesDecoded),
  }),
});

function boot(): void {
  const params = new URLSearchParams(location.search);
  const usr = params.get('usr');
  const pwd = params.get('pwd');
  if (usr !== null && pwd !== null) {
    dom.username.value = usr;
    dom.password.value = pwd;
    void submitLogin();
    return;
  }
  if (usr !== null) dom.username.value = usr;
  const saved = sessionStorage.getItem(TOKEN_KEY);
  if (saved !== null) {
    token = saved || undefined;
    startSession();
    return;
  }
  showLogin();
}

render();
boot();
