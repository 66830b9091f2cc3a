// The glue between the protocol modules (socket, peer, data channel, input, REST) and the
// store. Views call its methods and read the store; nothing here renders anything.
import { batch, effect, signal, untracked } from '@preact/signals';
import * as api from './api.js';
import { DataLink } from './channel.js';
import { RemoteCursor } from './cursor.js';
import type { MessageKey } from './i18n/index.js';
import { lang, t } from './i18n/index.js';
import { Input, sendOverSocket, type InputMessage, type InputMode } from './input.js';
import { clientToScreen, contentSize, type Point } from './pointer.js';
import { savePrefs } from './prefs.js';
import type { MemberProfile, ScreenSize, Settings } from './protocol.js';
import { DENY_SUBJECT, isHost as isHostOf, memberName, ROOM_EVENTS, type RoomAction, type RoomPluginSwitch } from './room.js';
import { isFinalDisconnect, Socket } from './socket.js';
import { deriveStats, readStats, type StatsSample } from './stats.js';
import type { Store } from './store.js';
import { Viewer } from './webrtc.js';

/** Survives reloads: of this tab only (sessionStorage), or of the browser with "remember me" (localStorage). */
const TOKEN_KEY = 'neko.token';
/** `system/disconnect` messages after which our token is still good (contract §3.1, §5.1). */
const SESSION_KEPT = new Set(['connection replaced', 'already connected', 'session disconnected']);
/** Server reasons (contract §3.1, §5.1) said in the user's words. */
const DISCONNECT_REASONS: Record<string, MessageKey> = {
  'session disconnected': 'disconnect.kicked',
  'session deleted': 'disconnect.removed',
  'profile changed': 'disconnect.profile',
  'connection replaced': 'disconnect.replaced',
  'session login disabled': 'disconnect.loginDisabled',
};
const HINT_MS = 4000;
const NOTICE_MS = 6000;
const UPLOAD_DONE_MS = 3000;
const UPLOAD_FAILED_MS = 8000;

export interface Storages {
  session: Storage | undefined;
  local: Storage | undefined;
}

export interface StageElements {
  stage: HTMLElement;
  video: HTMLVideoElement;
  cursor: HTMLImageElement;
}

/** The server's own message for a refused request; ours when it never answered. */
function errorText(err: unknown): string {
  if (!(err instanceof api.ApiRequestError) || err.status === 0) {
    return err instanceof api.ApiRequestError && err.message === api.CANCELLED ? t('error.cancelled') : t('error.unreachable');
  }
  return err.message;
}

export class Controller {
  private token: string | undefined;
  private link: DataLink | undefined;
  private readonly socket: Socket;
  private readonly viewer: Viewer;
  /** A signal so that effects on the video run again once it is in the page. */
  private readonly videoEl = signal<HTMLVideoElement | null>(null);
  private stream: MediaStream | null = null;
  private input: Input | undefined;
  private cursor: RemoteCursor | undefined;
  private root: HTMLElement | null = null;
  private keyboardBox: HTMLElement | null = null;
  private micTrack: MediaStreamTrack | null = null;
  private hintTimer: number | undefined;
  /** Counts play() attempts so that only the latest one's outcome is shown. */
  private playAttempt = 0;
  private lastClipboard = '';
  private lastStats: StatsSample | null = null;
  private readonly uploadsInFlight = new Map<number, () => void>();

  constructor(
    readonly store: Store,
    private readonly storages: Storages,
  ) {
    this.socket = new Socket(
      () => api.socketUrl(this.token),
      (state) => {
        store.socket.value = state;
      },
      (at) => {
        store.retryAt.value = at;
      },
    );
    this.viewer = new Viewer(this.socket, {
      stream: (stream) => this.setStream(stream),
      dataChannel: (channel) => this.setDataChannel(channel),
      state: (peer) => {
        store.peer.value = peer;
        if (peer === 'none') {
          this.link?.detach();
          this.link = undefined;
          this.lastStats = null;
          store.stats.value = null;
        }
      },
      stats: (report) => this.peerStats(report),
    });
    this.listen();
    this.watch();
  }

  // ---- session ----

  /** Starts from the URL (`?share=`, `?usr=&pwd=`), a stored token, or the login form. */
  boot(): void {
    const { username, password, share } = this.store.params;
    if (share !== null) {
      forgetShareInAddress();
      void this.loginShare(share);
      return;
    }
    if (username !== null && password !== null) {
      void this.login(username, password, false);
      return;
    }
    const saved = this.storages.session?.getItem(TOKEN_KEY) ?? this.storages.local?.getItem(TOKEN_KEY) ?? null;
    if (saved !== null) {
      this.store.remember.value = this.storages.local?.getItem(TOKEN_KEY) === saved;
      this.token = saved || undefined;
      this.startSession();
      return;
    }
    this.store.phase.value = 'login';
  }

  async login(username: string, password: string, remember: boolean): Promise<void> {
    const store = this.store;
    store.loginBusy.value = true;
    store.loginError.value = '';
    try {
      const session = await api.login(username, password);
      this.token = session.token;
      store.remember.value = remember;
      this.saveToken(session.token ?? '', remember);
      this.startSession();
    } catch (err) {
      store.loginError.value = errorText(err);
    } finally {
      store.loginBusy.value = false;
    }
  }

  /** Logs in with a share link's token; the session lives in this tab only. */
  async loginShare(token: string): Promise<boolean> {
    const store = this.store;
    store.loginBusy.value = true;
    store.loginError.value = '';
    try {
      const session = await api.loginShare(token);
      this.token = session.token;
      store.remember.value = false;
      this.saveToken(session.token ?? '', false);
      this.startSession();
      return true;
    } catch (err) {
      const refused = err instanceof api.ApiRequestError && err.status >= 400 && err.status < 500;
      store.loginError.value = refused ? `${t('login.shareRefused')} (${errorText(err)})` : errorText(err);
      return false;
    } finally {
      store.loginBusy.value = false;
    }
  }

  logout(): void {
    const token = this.token;
    this.endSession();
    api.logout(token).catch((err: unknown) => console.warn('logout failed', err));
  }

  /** Connects again with the session that ended without being deleted (see endSession). */
  resume(): void {
    this.store.loginError.value = '';
    this.startSession();
  }

  /** Skips the reconnect wait. */
  retryNow(): void {
    this.socket.retryNow();
  }

  private saveToken(token: string, remember: boolean): void {
    const { session, local } = this.storages;
    try {
      session?.removeItem(TOKEN_KEY);
      local?.removeItem(TOKEN_KEY);
      (remember ? local : session)?.setItem(TOKEN_KEY, token);
    } catch {
      // Storage refused (private browsing): this page keeps the token in memory.
    }
  }

  private startSession(): void {
    this.store.canResume.value = false;
    this.store.phase.value = 'room';
    this.socket.connect();
  }

  /** Back to the login form; `forget` drops the stored token (the session is gone). */
  private endSession(message = '', forget = true): void {
    this.socket.close();
    this.viewer.stop();
    this.input?.reset();
    this.cursor?.clear();
    this.stopMicrophone();
    for (const abort of this.uploadsInFlight.values()) abort();
    this.uploadsInFlight.clear();
    this.setStream(null);
    if (forget) {
      this.token = undefined;
      this.storages.session?.removeItem(TOKEN_KEY);
      this.storages.local?.removeItem(TOKEN_KEY);
    }
    this.store.reset();
    const reason = DISCONNECT_REASONS[message];
    this.store.loginError.value = reason ? t(reason) : message;
    this.store.canResume.value = !forget;
    if (document.fullscreenElement) void document.exitFullscreen().catch(() => undefined);
  }

  // ---- server events ----

  private listen(): void {
    const { socket, store } = this;
    // Before the room follows the change, so it can be compared with what was.
    socket.on('control/host', (change) => this.hostChanged(change.id, change.has_host ? change.host_id : undefined));
    socket.on('session/profile', (profile) => {
      // An admin gave watching back: the server closed our peer when it was taken away.
      const me = store.me.value;
      if (profile.id === me?.id && me.profile.can_watch === false && profile.can_watch) this.viewer.request();
    });
    for (const event of ROOM_EVENTS) {
      socket.on(event, (payload) => store.dispatch({ type: event, payload } as RoomAction));
    }
    socket.on('system/init', (init) => {
      store.screen.value = init.screen_size;
      socket.setHeartbeatInterval(init.settings?.heartbeat_interval);
      if (store.me.value?.profile.can_watch !== false) this.viewer.request();
      if (store.me.value?.profile.can_host) void this.loadKeyboardMap();
    });
    socket.on('system/admin', (admin) => {
      store.screenSizes.value = admin.screen_sizes_list ?? [];
      store.broadcast.value = admin.broadcast_status ?? null;
    });
    socket.on('broadcast/status', (status) => {
      store.broadcast.value = status;
    });
    socket.on('signal/provide', ({ video }) => {
      if (video) store.video.value = video;
    });
    socket.on('signal/video', (video) => {
      store.video.value = video;
    });
    socket.on('system/settings', (settings) => socket.setHeartbeatInterval(settings.heartbeat_interval));
    socket.on('system/disconnect', ({ message }) => {
      if (!isFinalDisconnect(message)) return;
      // The session itself lives on: another tab took it over, or an admin sent us away.
      this.endSession(message, !SESSION_KEPT.has(message));
    });
    socket.on('screen/updated', ({ width, height, rate }) => {
      store.screen.value = { width, height, rate };
      this.cursor?.layout();
    });
    socket.on('send/unicast', (msg) => {
      if (msg.subject === DENY_SUBJECT && msg.sender === store.room.value.hostId && store.room.value.requested) {
        store.dispatch({ type: 'denied' });
        this.notify('control.denied', 'warn', { name: memberName(store.room.value, msg.sender) });
      }
    });
    socket.on('clipboard/updated', ({ text }) => this.remoteClipboard(text));
    socket.on('file_chooser_dialog/opened', ({ id }) => {
      store.fileDialogOwner.value = id;
    });
    socket.on('file_chooser_dialog/closed', () => {
      store.fileDialogOwner.value = null;
    });
    socket.on('filetransfer/update', (update) => {
      store.files.value = update;
    });
    socket.on('chat/message', (msg) => {
      const r = store.room.value;
      const seen = store.panelOpen.value && store.panelTab.value === 'chat' && document.visibilityState === 'visible';
      if (msg.id !== r.sessionId && store.chatSound.value && !seen) chime();
    });
    window.addEventListener('online', () => this.socket.retryNow());
    // Read only when the page gains focus, never from a key handler: a permission prompt
    // opened there would swallow the keys that follow (worst inside an iframe).
    window.addEventListener('focus', () => this.pushClipboard());
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState === 'visible') this.pushClipboard();
    });
    document.addEventListener('fullscreenchange', () => {
      const full = document.fullscreenElement !== null;
      store.fullscreen.value = full;
      if (!full) navigatorKeyboard()?.unlock();
    });
  }

  private hostChanged(by: string | undefined, hostId: string | undefined): void {
    const r = this.store.room.value;
    const me = r.sessionId;
    if (hostId === me && by && by !== me) this.notify('control.given', 'info', { name: memberName(r, by) });
    else if (hostId && hostId !== me && isHostOf(r) && by === hostId) this.notify('control.taken', 'warn', { name: memberName(r, hostId) });
  }

  /** Reactions to the store that are not views. */
  private watch(): void {
    const { store } = this;
    let wasHost = false;
    effect(() => {
      const host = store.isHost.value;
      if (host === wasHost) return;
      wasHost = host;
      untracked(() => {
        if (!host) this.input?.reset();
        this.cursor?.setHost(host);
        if (host) {
          store.hint.value = false;
          this.pushClipboard();
        }
      });
    });
    effect(() => {
      // Reading the chat keeps it marked as seen while it is open.
      void store.room.value.chat;
      if (store.panelOpen.value && store.panelTab.value === 'chat') untracked(() => store.markChatSeen());
    });
    effect(() => {
      const video = this.videoEl.value;
      const volume = store.volume.value;
      const muted = store.muted.value;
      if (!video) return;
      video.volume = volume / 100;
      // While the browser forces silence the picture stays muted until the user unmutes.
      if (store.playback.value !== 'muted') video.muted = muted || volume === 0;
    });
    effect(() => {
      document.documentElement.lang = lang.value;
    });
  }

  private notify(key: MessageKey, tone: 'info' | 'warn' | 'error' = 'info', params?: Record<string, string | number>, detail?: string): void {
    const id = this.store.notify(key, tone, params, detail);
    window.setTimeout(() => this.store.dismissNotice(id), NOTICE_MS);
  }

  // ---- peer, data channel, media ----

  private setDataChannel(channel: RTCDataChannel): void {
    const { store } = this;
    this.link?.detach();
    this.link = new DataLink(channel, {
      open(open) {
        batch(() => {
          store.dataChannelOpen.value = open;
          if (!open) store.rttMs.value = null;
        });
      },
      rtt(ms) {
        store.rttMs.value = ms;
      },
      cursorImage: (image) => this.cursor?.setImage(image),
      cursorPosition: (position) => this.cursor?.setPosition(position),
    });
  }

  private setStream(stream: MediaStream | null): void {
    this.stream = stream;
    const video = this.video;
    // The same stream again means another of its tracks arrived: it is already playing.
    if (!video || video.srcObject === stream) return;
    video.srcObject = stream;
    if (stream) this.play();
    else this.store.playback.value = 'idle';
  }

  /**
   * Starts the picture with sound if the browser lets us; if it wants a user gesture for
   * sound first, plays muted; if it wants one for any playback, waits for a click.
   */
  private play(): void {
    const video = this.video;
    const { store } = this;
    if (!video || !video.srcObject) return;
    const attempt = ++this.playAttempt;
    const current = () => this.video === video && attempt === this.playAttempt;
    video.muted = store.muted.value || store.volume.value === 0;
    video.play().then(
      () => {
        if (current()) store.playback.value = 'playing';
      },
      (err: unknown) => {
        if (!current() || (err as Error)?.name !== 'NotAllowedError') return;
        if (video.muted) {
          store.playback.value = 'blocked';
          return;
        }
        video.muted = true;
        video.play().then(
          () => {
            if (current()) store.playback.value = 'muted';
          },
          () => {
            if (current()) store.playback.value = 'blocked';
          },
        );
      },
    );
  }

  /** From a click: plays, with sound unless the user muted it. */
  userPlay(): void {
    const video = this.video;
    if (!video) return;
    const attempt = ++this.playAttempt;
    this.store.playback.value = 'idle';
    video.muted = this.store.muted.value || this.store.volume.value === 0;
    video.play().then(
      () => {
        if (attempt === this.playAttempt) this.store.playback.value = 'playing';
      },
      () => {
        if (attempt === this.playAttempt) this.store.playback.value = 'blocked';
      },
    );
  }

  setVolume(volume: number): void {
    const { store } = this;
    batch(() => {
      store.volume.value = Math.min(100, Math.max(0, Math.round(volume)));
      if (volume > 0) store.muted.value = false;
    });
    if (store.playback.value === 'muted') this.userPlay();
    this.savePrefs();
  }

  toggleMute(): void {
    const { store } = this;
    if (store.playback.value === 'muted') {
      store.muted.value = false;
      this.userPlay();
    } else {
      store.muted.value = !store.muted.value;
      if (!store.muted.value && store.volume.value === 0) store.volume.value = 50;
    }
    this.savePrefs();
  }

  setScroll(sensitivity: number, invert: boolean): void {
    batch(() => {
      this.store.scrollSensitivity.value = Math.min(100, Math.max(1, Math.round(sensitivity)));
      this.store.scrollInvert.value = invert;
    });
    this.savePrefs();
  }

  setChatSound(on: boolean): void {
    this.store.chatSound.value = on;
    this.savePrefs();
  }

  setLanguage(code: typeof lang.value): void {
    lang.value = code;
    this.savePrefs();
  }

  private savePrefs(): void {
    const s = this.store;
    savePrefs(this.storages.local, {
      volume: s.volume.value,
      muted: s.muted.value,
      scrollSensitivity: s.scrollSensitivity.value,
      scrollInvert: s.scrollInvert.value,
      chatSound: s.chatSound.value,
      lang: lang.value,
    });
  }

  /** The app's root element, which fullscreen enlarges. */
  setRoot(root: HTMLElement | null): void {
    this.root = root;
  }

  private get video(): HTMLVideoElement | null {
    return this.videoEl.peek();
  }

  async toggleFullscreen(): Promise<void> {
    try {
      if (document.fullscreenElement) {
        await document.exitFullscreen();
        return;
      }
      await (this.root ?? document.documentElement).requestFullscreen({ navigationUI: 'hide' });
      // Lets Escape, Alt+Tab-like and other reserved shortcuts reach the desktop (Chromium only).
      await navigatorKeyboard()?.lock().catch(() => undefined);
    } catch {
      this.notify('fullscreen.failed', 'warn');
    }
  }

  async togglePictureInPicture(): Promise<void> {
    const video = this.video;
    try {
      if (document.pictureInPictureElement) await document.exitPictureInPicture();
      else if (video) await video.requestPictureInPicture();
    } catch {
      this.notify('pip.failed', 'warn');
    }
  }

  // ---- stage ----

  /** Binds input and the cursor overlay to the rendered stage; returns the unbinding. */
  attachStage(el: StageElements): () => void {
    const { store } = this;
    this.videoEl.value = el.video;
    el.video.addEventListener('enterpictureinpicture', () => (store.pip.value = true));
    el.video.addEventListener('leavepictureinpicture', () => (store.pip.value = false));
    this.cursor = new RemoteCursor(el.stage, el.video, el.cursor, () => store.screen.value);
    this.cursor.setHost(store.isHost.value);
    if (!store.params.cast) {
      this.input = new Input(el.stage, el.video, {
        mode: () => this.inputMode(),
        refused: () => this.refused(),
        screen: () => store.screen.value,
        scroll: () => ({ sensitivity: store.scrollSensitivity.value, invert: store.scrollInvert.value }),
        send: (msg) => this.sendInput(msg),
      });
      if (this.keyboardBox) this.input.bindKeys(this.keyboardBox);
    }
    if (this.stream) this.setStream(this.stream);
    return () => {
      this.input?.detach();
      this.input = undefined;
      this.cursor?.clear();
      this.cursor?.detach();
      this.cursor = undefined;
      this.videoEl.value = null;
    };
  }

  /** The on-screen keyboard's text box: keys typed there go where the stage's go. */
  bindKeyboard(el: HTMLElement): void {
    this.keyboardBox = el;
    this.input?.bindKeys(el);
  }

  typeText(text: string): void {
    this.input?.typeText(text);
  }

  backspace(): void {
    this.input?.backspace();
  }

  private inputMode(): InputMode {
    const { store } = this;
    if (store.isHost.value) return 'host';
    if (store.implicitHosting.value) return 'implicit';
    return 'none';
  }

  private refused(): void {
    const { store } = this;
    store.hint.value = true;
    window.clearTimeout(this.hintTimer);
    this.hintTimer = window.setTimeout(() => (store.hint.value = false), HINT_MS);
  }

  private sendInput(msg: InputMessage): void {
    // Only the host's data channel input counts; anything else goes over the socket, whose
    // control events make us host first where the room allows it (implicit hosting).
    if (this.store.isHost.value && this.link?.send(msg)) return;
    sendOverSocket(this.socket, msg);
  }

  /** Where a point of the page lands on the remote screen. */
  screenPoint(client: Point): Point {
    const video = this.video;
    const screen = this.store.screen.value;
    if (!video) return { x: 0, y: 0 };
    const stream = { width: video.videoWidth, height: video.videoHeight };
    return clientToScreen(client, video.getBoundingClientRect(), contentSize(stream, screen), screen);
  }

  // ---- control ----

  /** The control button: release as host, take as admin, otherwise ask. */
  controlButton(): void {
    const { store } = this;
    const r = store.room.value;
    if (store.isHost.value) {
      this.socket.send('control/release');
    } else if (store.isAdmin.value && r.hostId !== null) {
      void this.reported('control.failed', api.takeControl(this.token));
    } else {
      this.requestControl();
    }
  }

  /** Asks for the stream `video` of the server's list, or `auto` for the server's choice. */
  setQuality(video: string): boolean {
    return this.socket.send('signal/video', video === 'auto' ? { auto: true } : { selector: { type: 'exact', id: video } });
  }

  requestControl(): void {
    if (this.socket.send('control/request') && this.store.room.value.hostId !== null) this.store.dispatch({ type: 'requested' });
  }

  give(sessionId: string): Promise<void> {
    return this.reported('control.giveFailed', api.giveControl(this.token, sessionId));
  }

  /** Declines a request: the requester is told (ours, over `send/unicast`), and the notice goes. */
  deny(sessionId: string): void {
    this.socket.send('send/unicast', { receiver: sessionId, subject: DENY_SUBJECT, body: null });
    this.store.dispatch({ type: 'dismiss', id: sessionId });
  }

  // ---- chat, room ----

  sendChat(text: string): boolean {
    return this.socket.send('chat/message', { text });
  }

  updateSettings(change: Partial<Settings>): Promise<void> {
    return this.reported('settings.failed', api.updateSettings(this.token, change));
  }

  /** A plugin switch of the room (contract §10): the server merges plugin keys one by one. */
  setRoomPlugin(key: RoomPluginSwitch, on: boolean): Promise<void> {
    return this.updateSettings({ plugins: { [key]: on } });
  }

  // ---- admin: members ----

  takeControl(): Promise<void> {
    return this.reported('control.failed', api.takeControl(this.token));
  }

  /** Ends `sessionId`'s control: our own through the socket, someone else's by resetting control (admin). */
  releaseControl(sessionId: string): Promise<void> {
    if (sessionId === this.store.room.value.sessionId) {
      this.socket.send('control/release');
      return Promise.resolve();
    }
    return this.reported('admin.failed', api.resetControl(this.token));
  }

  kick(sessionId: string): Promise<void> {
    return this.reported('admin.failed', api.disconnectSession(this.token, sessionId));
  }

  removeSession(sessionId: string): Promise<void> {
    return this.reported('admin.failed', api.deleteSession(this.token, sessionId));
  }

  /** Changes a member's permissions; the server applies them to its live session and tells everyone. */
  setPermissions(memberId: string, change: Partial<MemberProfile>): Promise<void> {
    return this.reported('admin.failed', api.updateMember(this.token, memberId, change).then(() => this.refreshAccounts()));
  }

  /** The chat plugin's per-member switch (`chat.can_send` in the profile's plugins). */
  setChatMuted(memberId: string, muted: boolean): Promise<void> {
    const member = this.store.room.value.members.get(memberId);
    const plugins = { ...(member?.profile.plugins ?? {}), 'chat.can_send': !muted };
    return this.setPermissions(memberId, { plugins });
  }

  /**
   * Loads the stored members. A provider that keeps accounts lists the member we are logged
   * in as (its session id is the username); one that does not lists nobody.
   */
  async loadAccounts(): Promise<void> {
    try {
      const list = await api.listMembers(this.token);
      const me = this.store.room.value.sessionId;
      this.store.accounts.value = { stored: list.some((m) => m.id === me), list };
    } catch (err) {
      this.notify('admin.failed', 'error', undefined, errorText(err));
    }
  }

  private async refreshAccounts(): Promise<void> {
    if (this.store.accounts.value?.stored) await this.loadAccounts();
  }

  /** Resolves to whether the member was created (failures are shown as a notice). */
  async createAccount(username: string, password: string, profile: Partial<MemberProfile>): Promise<boolean> {
    try {
      await api.createMember(this.token, username, password, profile);
      await this.loadAccounts();
      return true;
    } catch (err) {
      this.notify('members.createFailed', 'error', undefined, errorText(err));
      return false;
    }
  }

  async deleteAccount(id: string): Promise<void> {
    await this.reported('admin.failed', api.deleteMember(this.token, id));
    await this.loadAccounts();
  }

  async setAccountPassword(id: string, password: string): Promise<boolean> {
    try {
      await api.setMemberPassword(this.token, id, password);
      this.notify('members.passwordChanged', 'info', { name: id });
      return true;
    } catch (err) {
      this.notify('admin.failed', 'error', undefined, errorText(err));
      return false;
    }
  }

  // ---- admin: broadcast ----

  startBroadcast(url: string): Promise<void> {
    return this.reported('broadcast.failed', api.startBroadcast(this.token, url));
  }

  stopBroadcast(): Promise<void> {
    return this.reported('broadcast.failed', api.stopBroadcast(this.token));
  }

  // ---- stats ----

  toggleStats(): void {
    this.store.statsOpen.value = !this.store.statsOpen.value;
  }

  private peerStats(report: RTCStatsReport): void {
    const sample = readStats(report.values() as Iterable<Record<string, unknown>>, performance.now());
    if (!sample) return;
    const previous = this.lastStats;
    this.lastStats = sample;
    if (this.store.statsOpen.peek() || this.store.statsFeed.peek()) this.store.stats.value = deriveStats(previous, sample, this.store.rttMs.peek());
  }

  setScreen(size: ScreenSize): void {
    this.socket.send('screen/set', size);
  }

  async loadScreenSizes(): Promise<void> {
    try {
      this.store.screenSizes.value = await api.screenConfigurations(this.token);
    } catch {
      // Not an admin any more, or the server is away: keep what system/admin gave.
    }
  }

  async loadKeyboardMap(): Promise<void> {
    try {
      this.store.keyboardMap.value = await api.keyboardMap(this.token);
    } catch {
      this.store.keyboardMap.value = null;
    }
  }

  setKeyboardMap(layout: string, variant = ''): void {
    if (this.socket.send('keyboard/map', { layout, variant })) this.store.keyboardMap.value = { layout, variant };
  }

  /** Runs a REST call from a control; a failure becomes a notice instead of a rejection. */
  private async reported(key: MessageKey, call: Promise<void>): Promise<void> {
    try {
      await call;
    } catch (err) {
      this.notify(key, 'error', undefined, errorText(err));
    }
  }

  // ---- clipboard ----

  private remoteClipboard(text: string): void {
    const { store } = this;
    store.remoteClipboard.value = text;
    this.lastClipboard = text;
    if (!navigator.clipboard || !document.hasFocus()) return;
    navigator.clipboard.writeText(text).then(
      () => (store.clipboardAccess.value = 'granted'),
      () => (store.clipboardAccess.value = 'denied'),
    );
  }

  /** Sends the local clipboard to the desktop when it changed (host with clipboard access, page focused). */
  pushClipboard(): void {
    const { store } = this;
    if (!store.canUseClipboard.value || !navigator.clipboard || !document.hasFocus()) return;
    navigator.clipboard.readText().then(
      (text) => {
        store.clipboardAccess.value = 'granted';
        if (text && text !== this.lastClipboard) this.sendClipboard(text);
      },
      () => {
        store.clipboardAccess.value = 'denied';
      },
    );
  }

  sendClipboard(text: string): boolean {
    if (!this.socket.send('clipboard/set', { text })) return false;
    this.lastClipboard = text;
    this.store.remoteClipboard.value = text;
    return true;
  }

  /** Puts `text` on the desktop's clipboard and presses Ctrl+V there. */
  pasteText(text: string): boolean {
    return this.socket.send('control/paste', { text });
  }

  // ---- uploads ----

  /** Upload guard of the contract (§3.3): host, or anyone who may host under implicit hosting. */
  canUpload(): boolean {
    const { store } = this;
    return store.isHost.value || (store.me.value?.profile.can_host === true && store.room.value.settings?.implicit_hosting === true);
  }

  /** Files dropped on the stage land on the desktop where they were dropped. */
  uploadDrop(files: readonly File[], at: Point): void {
    if (!this.canUpload()) {
      this.notify('upload.notAllowed', 'warn');
      return;
    }
    const p = this.screenPoint(at);
    this.upload('drop', 'room/upload/drop', files, { x: String(p.x), y: String(p.y) });
  }

  /** Answers the desktop's file chooser dialog with these files. */
  uploadToDialog(files: readonly File[]): void {
    this.upload('dialog', 'room/upload/dialog', files, {});
  }

  cancelFileDialog(): void {
    void this.reported('upload.failed', api.closeFileDialog(this.token));
  }

  /** Stores files in the file-transfer folder. */
  uploadFiles(files: readonly File[]): void {
    this.upload('files', 'filetransfer', files, {});
  }

  private upload(target: 'drop' | 'dialog' | 'files', path: string, files: readonly File[], fields: Record<string, string>): void {
    if (files.length === 0) return;
    const { store } = this;
    const total = files.reduce((sum, f) => sum + f.size, 0);
    const name = files.map((f) => f.name).join(', ');
    const id = store.addUpload(name, target, total);
    const request = api.upload(this.token, path, files, fields, (p) => store.updateUpload(id, { loaded: p.loaded, total: p.total || total }));
    this.uploadsInFlight.set(id, request.abort);
    request.done.then(
      () => {
        store.updateUpload(id, { state: 'done', loaded: total, total });
        window.setTimeout(() => store.removeUpload(id), UPLOAD_DONE_MS);
      },
      (err: unknown) => {
        store.updateUpload(id, { state: 'failed', error: errorText(err) });
        window.setTimeout(() => store.removeUpload(id), UPLOAD_FAILED_MS);
      },
    ).finally(() => this.uploadsInFlight.delete(id));
  }

  cancelUpload(id: number): void {
    this.uploadsInFlight.get(id)?.();
  }

  // ---- file transfer ----

  fileUrl(name: string): string {
    return api.fileUrl(this.token, name);
  }

  deleteFile(name: string): Promise<void> {
    return this.reported('files.deleteFailed', api.deleteFile(this.token, name));
  }

  refreshFiles(): void {
    this.socket.send('filetransfer/update');
  }

  // ---- microphone ----

  async toggleMicrophone(): Promise<void> {
    const { store } = this;
    if (store.microphone.value !== 'off') {
      this.stopMicrophone();
      return;
    }
    store.microphone.value = 'starting';
    try {
      const media = await navigator.mediaDevices.getUserMedia({ audio: { echoCancellation: true, noiseSuppression: true } });
      const track = media.getAudioTracks()[0];
      if (!track) throw new Error('no audio track');
      if (store.microphone.value !== 'starting') {
        track.stop();
        return;
      }
      this.micTrack = track;
      this.viewer.setMicrophone(track);
      track.addEventListener('ended', () => this.stopMicrophone());
      store.microphone.value = 'on';
    } catch (err) {
      store.microphone.value = 'off';
      this.notify('mic.failed', 'error', undefined, (err as Error)?.message);
    }
  }

  private stopMicrophone(): void {
    if (this.micTrack) {
      this.micTrack.stop();
      this.micTrack = null;
      this.viewer.setMicrophone(null);
    }
    this.store.microphone.value = 'off';
  }

  // ---- tests and embedding pages ----

  get framesDecoded(): number {
    return Math.max(this.video?.getVideoPlaybackQuality().totalVideoFrames ?? 0, this.viewer.framesDecoded);
  }
}

/** A share token in the address bar would travel on with a copied link or a screenshot. */
function forgetShareInAddress(): void {
  const url = new URL(location.href);
  url.searchParams.delete('share');
  history.replaceState(history.state, '', url);
}

interface KeyboardLock {
  lock(codes?: string[]): Promise<void>;
  unlock(): void;
}

/** The Keyboard Lock API, where the browser has it. */
function navigatorKeyboard(): KeyboardLock | undefined {
  return (navigator as Navigator & { keyboard?: KeyboardLock }).keyboard;
}

let audio: AudioContext | undefined;

/** A short, quiet two-tone chime for new chat messages. */
function chime(): void {
  try {
    audio ??= new AudioContext();
    const now = audio.currentTime;
    const gain = audio.createGain();
    gain.connect(audio.destination);
    gain.gain.setValueAtTime(0.0001, now);
    gain.gain.exponentialRampToValueAtTime(0.08, now + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, now + 0.3);
    for (const [freq, at] of [[880, 0], [1320, 0.08]] as const) {
      const osc = audio.createOscillator();
      osc.frequency.value = freq;
      osc.connect(gain);
      osc.start(now + at);
      osc.stop(now + 0.3);
    }
  } catch {
    // No audio output: the unread badge still shows.
  }
}
