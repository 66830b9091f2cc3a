import { ApiRequestError, giveControl, login, logout, socketUrl, updateSettings } from './api.js';
import { DataLink } from './channel.js';
import { RemoteCursor } from './cursor.js';
import { HandoverView } from './handover-view.js';
import { Input, sendOverSocket } from './input.js';
import { SidePanel } from './panel.js';
import type { ScreenSize } from './protocol.js';
import {
  controlBlocked, initialRoom, isHost as isHostOf, memberName, reduceRoom, roster, ROOM_EVENTS, self, type RoomAction,
  type RoomState,
} from './room.js';
import { Socket, type SocketState } from './socket.js';
import { Store } from './store.js';
import { dom, notify, renderStatus, showApp, showLogin } from './ui.js';
import { Viewer, type PeerState } from './webrtc.js';

// Survives reloads of this tab only. An empty value means the server uses a cookie.
const TOKEN_KEY = 'neko.token';

const state = {
  socket: 'closed' as SocketState,
  peer: 'none' as PeerState,
  dataChannelOpen: false,
  lastRttMs: null as number | null,
  screen: { width: 0, height: 0, rate: 0 } as ScreenSize,
};
const room = new Store<RoomState, RoomAction>(reduceRoom, initialRoom());
let token: string | undefined;
let link: DataLink | undefined;

const isHost = (): boolean => isHostOf(room.get());

function render(): void {
  const r = room.get();
  renderStatus({
    socket: state.socket,
    peer: state.peer,
    dataChannelOpen: state.dataChannelOpen,
    rttMs: state.lastRttMs,
    isHost: isHostOf(r),
    requested: r.requested,
    hostName: r.hostId ? memberName(r, r.hostId) : null,
    controlBlocked: controlBlocked(r),
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

/** Runs a REST call from a button; a failure becomes a notice instead of a rejection. */
async function reported(what: string, call: Promise<void>): Promise<void> {
  try {
    await call;
  } catch (err) {
    notify(`${what}: ${err instanceof ApiRequestError ? err.message : 'server unreachable'}`);
  }
}

const panel = new SidePanel(dom.panel, dom.panelToggle, {
  sendChat: (text) => socket.send('chat/message', { text }),
  updateSettings: (change) => reported('Settings not changed', updateSettings(token, change)),
});

const handover = new HandoverView(dom.handover, {
  give: (id) => reported('Could not give control', giveControl(token, id)),
  release: () => socket.send('control/release'),
  dismiss: (id) => room.dispatch({ type: 'dismiss', id }),
});

room.subscribe((next, prev) => {
  if (isHostOf(prev) !== isHostOf(next)) {
    if (!isHostOf(next)) input.reset();
    cursor.setHost(isHostOf(next));
  }
  panel.render(next);
  handover.render(next);
  render();
});
panel.render(room.get());
handover.render(room.get());

for (const event of ROOM_EVENTS) {
  socket.on(event, (payload) => room.dispatch({ type: event, payload } as RoomAction));
}

socket.on('system/init', (init) => {
  state.screen = init.screen_size;
  socket.setHeartbeatInterval(init.settings.heartbeat_interval);
  viewer.request();
});
socket.on('system/settings', (settings) => socket.setHeartbeatInterval(settings.heartbeat_interval));
socket.on('system/disconnect', ({ message }) => endSession(message));
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
  state.lastRttMs = null;
  room.dispatch({ type: 'reset' });
  panel.setOpen(false);
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
  if (isHost()) {
    socket.send('control/release');
  } else if (socket.send('control/request')) {
    room.dispatch({ type: 'requested' });
  }
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
    state: () => {
      const r = room.get();
      return {
        sessionId: r.sessionId,
        isHost: isHostOf(r),
        hostId: r.hostId,
        isAdmin: self(r)?.profile.is_admin ?? false,
        controlRequested: r.requested,
        controlRequests: [...r.requests],
        members: roster(r),
        chatEnabled: r.chatEnabled,
        chat: r.chat.map((line) => ({ ...line, name: memberName(r, line.from) })),
        settings: r.settings && { ...r.settings },
        connected: state.socket === 'open',
        peerState: state.peer,
        dataChannelOpen: state.dataChannelOpen,
        lastRttMs: state.lastRttMs,
        screen: { ...state.screen },
      };
    },
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
