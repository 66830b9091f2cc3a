// All of the viewer's state, as signals. Protocol code writes it, views read it; a view
// that reads a signal during render re-renders when that signal changes. No DOM here, so
// the store and its derived values are testable in Node.
import { batch, computed, signal } from '@preact/signals';
import type { MessageKey } from './i18n/index.js';
import type { ViewerParams } from './params.js';
import type { Prefs } from './prefs.js';
import type { BroadcastStatus, FileTransferUpdate, KeyboardMap, MemberData, PeerVideo, ScreenSize } from './protocol.js';
import {
  blankedByPrivateMode, canReceiveChat, canSendChat, controlBlocked, implicitHosting, initialRoom, isHost, reduceRoom, self, unread,
  type RoomAction,
} from './room.js';
import type { SocketState } from './socket.js';
import type { StatsView } from './stats.js';
import type { PeerState } from './webrtc.js';

export type Phase = 'login' | 'room';

/** How the picture plays: `muted` = it plays, but only because the browser made us mute it. */
export type Playback = 'idle' | 'playing' | 'muted' | 'blocked';

export interface Notice {
  id: number;
  key: MessageKey;
  params?: Record<string, string | number>;
  /** Text from elsewhere (a server error message), shown after the catalogue text. */
  detail?: string;
  tone: 'info' | 'warn' | 'error';
}

export interface Upload {
  id: number;
  name: string;
  /** Where the files go: onto the desktop at the pointer, a file chooser dialog, or the file-transfer folder. */
  target: 'drop' | 'dialog' | 'files';
  loaded: number;
  total: number;
  state: 'running' | 'done' | 'failed';
  error?: string;
}

export type MicState = 'off' | 'starting' | 'on';

/** Whether the async Clipboard API works here; `denied` shows the manual paste box. */
export type ClipboardAccess = 'unknown' | 'granted' | 'denied';

/**
 * The members admins manage: `stored` when the provider keeps accounts (file, object) and
 * `list` holds them; otherwise members are the live sessions only (multiuser, noauth).
 */
export interface MemberAccounts {
  stored: boolean;
  list: MemberData[];
}

export type Store = ReturnType<typeof createStore>;

export function createStore(params: ViewerParams, prefs: Prefs, touch = false) {
  const room = signal(initialRoom());
  const volume = signal(params.volume ?? prefs.volume);
  const s = {
    params,
    /** A coarse pointer: the phone/tablet controls are shown. */
    touch,

    phase: signal<Phase>('login'),
    loginBusy: signal(false),
    /** Why we are back at the login form (server message or catalogue text). */
    loginError: signal(''),
    remember: signal(false),
    /** The session ended but is still valid (replaced by another tab, sent away by an admin). */
    canResume: signal(false),

    socket: signal<SocketState>('closed'),
    /** When the next reconnect attempt is due (epoch ms), null when none is waiting. */
    retryAt: signal<number | null>(null),
    peer: signal<PeerState>('none'),
    dataChannelOpen: signal(false),
    rttMs: signal<number | null>(null),
    screen: signal<ScreenSize>({ width: 0, height: 0, rate: 0 }),
    /** Sizes the server offers (admins only, from `system/admin`). */
    screenSizes: signal<ScreenSize[]>([]),

    room,

    playback: signal<Playback>('idle'),
    volume,
    muted: signal(params.volume === 0 ? true : prefs.muted),
    fullscreen: signal(false),
    pip: signal(false),

    scrollSensitivity: signal(params.scroll ?? prefs.scrollSensitivity),
    scrollInvert: signal(prefs.scrollInvert),
    chatSound: signal(params.muteChat === null ? prefs.chatSound : !params.muteChat),

    panelOpen: signal(params.showSide ?? false),
    /** The bar and side panel are shown: off with `?embed=1`/`?cast=1`, switchable by the embedding page. */
    controls: signal(!params.embed && !params.cast),
    /** The embedding page listens for stats: they are computed even with the overlay closed. */
    statsFeed: signal(false),
    panelTab: signal('people'),
    /** Last chat line seen with the chat tab open. */
    seenChatSeq: signal(0),

    notices: signal<Notice[]>([]),
    /** Shown over the stage when someone without control tries to use it. */
    hint: signal<boolean>(false),

    keyboardMap: signal<KeyboardMap | null>(null),
    /** The desktop's clipboard as last reported to us (host only). */
    remoteClipboard: signal(''),
    clipboardAccess: signal<ClipboardAccess>('unknown'),
    files: signal<FileTransferUpdate | null>(null),
    uploads: signal<Upload[]>([]),
    /** Session holding an open file chooser dialog on the desktop. */
    fileDialogOwner: signal<string | null>(null),
    microphone: signal<MicState>('off'),
    /** The on-screen keyboard's text box has focus. */
    keyboardOpen: signal(false),

    /** The stats overlay is shown, and what it shows (null until the peer reports). */
    statsOpen: signal(false),
    stats: signal<StatsView | null>(null),
    /** The video stream this peer receives (contract §9.2), as the server last said. */
    video: signal<PeerVideo | null>(null),
    /** Admins only: the RTMP broadcast. */
    broadcast: signal<BroadcastStatus | null>(null),
    /** Admins only, loaded on demand. */
    accounts: signal<MemberAccounts | null>(null),
  };

  const derived = {
    isHost: computed(() => isHost(room.value)),
    me: computed(() => self(room.value)),
    isAdmin: computed(() => self(room.value)?.profile.is_admin === true),
    controlBlocked: computed(() => controlBlocked(room.value)),
    implicitHosting: computed(() => implicitHosting(room.value)),
    blanked: computed(() => blankedByPrivateMode(room.value)),
    canSendChat: computed(() => canSendChat(room.value)),
    canReceiveChat: computed(() => canReceiveChat(room.value)),
    /** Chat lines from others not yet seen with the chat open. */
    unread: computed(() => unread(room.value, s.seenChatSeq.value)),
    canShareMedia: computed(() => self(room.value)?.profile.can_share_media === true),
    canUseClipboard: computed(() => self(room.value)?.profile.can_access_clipboard === true && isHost(room.value)),
    /** Connected, video flowing: the desktop is on screen. */
    live: computed(() => s.socket.value === 'open' && s.peer.value === 'connected'),
  };

  let nextId = 1;

  const actions = {
    dispatch(action: RoomAction): void {
      room.value = reduceRoom(room.value, { ...action, at: action.at ?? new Date().toISOString() });
    },
    notify(key: MessageKey, tone: Notice['tone'] = 'info', params?: Notice['params'], detail?: string): number {
      const id = nextId++;
      s.notices.value = [...s.notices.value.slice(-4), { id, key, params, detail, tone }];
      return id;
    },
    dismissNotice(id: number): void {
      s.notices.value = s.notices.value.filter((n) => n.id !== id);
    },
    addUpload(name: string, target: Upload['target'], total: number): number {
      const id = nextId++;
      s.uploads.value = [...s.uploads.value, { id, name, target, loaded: 0, total, state: 'running' }];
      return id;
    },
    updateUpload(id: number, change: Partial<Upload>): void {
      s.uploads.value = s.uploads.value.map((u) => (u.id === id ? { ...u, ...change } : u));
    },
    removeUpload(id: number): void {
      s.uploads.value = s.uploads.value.filter((u) => u.id !== id);
    },
    /** Opening the chat (panel open on the chat tab) marks everything in it as seen. */
    markChatSeen(): void {
      s.seenChatSeq.value = room.value.chat.at(-1)?.seq ?? 0;
    },
    /** Back to the state of a fresh page at the login form. */
    reset(): void {
      batch(() => {
        room.value = initialRoom();
        s.phase.value = 'login';
        s.peer.value = 'none';
        s.dataChannelOpen.value = false;
        s.rttMs.value = null;
        s.retryAt.value = null;
        s.playback.value = 'idle';
        s.screenSizes.value = [];
        s.hint.value = false;
        s.keyboardMap.value = null;
        s.remoteClipboard.value = '';
        s.files.value = null;
        s.uploads.value = [];
        s.fileDialogOwner.value = null;
        s.microphone.value = 'off';
        s.seenChatSeq.value = 0;
        s.stats.value = null;
        s.video.value = null;
        s.broadcast.value = null;
        s.accounts.value = null;
        s.panelOpen.value = params.showSide ?? false;
      });
    },
  };

  return { ...s, ...derived, ...actions };
}
