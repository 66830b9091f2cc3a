// The viewer's side of the postMessage API: commands from the embedding page go to the
// controller, the store's changes go back as events. Only pages from the allowed origins
// (GET /api/embed; our own origin always) are listened to or told anything.
import { effect } from '@preact/signals';
import * as api from './api.js';
import type { Controller } from './controller.js';
import {
  EMBED_VERSION, originAllowed, parseCommand, targetOrigin, type Command, type EmbedEvents, type EventType,
} from './embed-protocol.js';
import { memberName } from './room.js';

/** Commands that arrive before the origin list is known wait, up to this many. */
const QUEUE_MAX = 32;

class CommandError extends Error {}

export class EmbedBridge {
  private allowed: readonly string[] | null = null;
  private parentOrigin: string | null;
  private readonly queue: MessageEvent[] = [];
  private readonly disposers: (() => void)[] = [];

  private constructor(
    private readonly ctl: Controller,
    private readonly parent: Window,
  ) {
    // Known before any message in Chromium and Safari; elsewhere the first command tells.
    this.parentOrigin = location.ancestorOrigins?.[0] ?? null;
  }

  /** Starts listening when the viewer runs inside a frame; returns undefined at top level. */
  static start(ctl: Controller): EmbedBridge | undefined {
    if (window.parent === window) return undefined;
    const bridge = new EmbedBridge(ctl, window.parent);
    bridge.listen();
    void bridge.loadPolicy();
    return bridge;
  }

  private async loadPolicy(): Promise<void> {
    try {
      const { origins } = await api.embedPolicy();
      this.allowed = Array.isArray(origins) ? origins.filter((o) => typeof o === 'string') : [];
    } catch {
      // No policy from the server: our own origin only.
      this.allowed = [];
    }
    this.emit('ready', { version: EMBED_VERSION });
    for (const ev of this.queue.splice(0)) this.receive(ev);
  }

  private listen(): void {
    const onMessage = (ev: MessageEvent) => {
      if (ev.source !== this.parent) return;
      if (this.allowed === null) {
        if (this.queue.length < QUEUE_MAX) this.queue.push(ev);
        return;
      }
      this.receive(ev);
    };
    window.addEventListener('message', onMessage);
    this.disposers.push(() => window.removeEventListener('message', onMessage));
    this.watch();
  }

  private receive(ev: MessageEvent): void {
    const allowed = this.allowed ?? [];
    // A page outside the list gets no answer at all, not even an error.
    if (!originAllowed(ev.origin, allowed, location.origin)) return;
    const parsed = parseCommand(ev.data);
    if (parsed === null) return;
    if (ev.origin !== 'null') this.parentOrigin = ev.origin;
    if (!parsed.ok) {
      this.reply(parsed.id, parsed.error);
      return;
    }
    this.run(parsed.command).then(
      () => this.reply(parsed.id),
      (err: unknown) => this.reply(parsed.id, err instanceof Error ? err.message : String(err)),
    );
  }

  private reply(id: string | undefined, error?: string): void {
    if (id === undefined) return;
    this.post(error === undefined ? { type: 'reply', id, ok: true } : { type: 'reply', id, ok: false, error });
  }

  private emit<K extends EventType>(type: K, data: EmbedEvents[K]): void {
    this.post({ ...data, type });
  }

  private post(message: Record<string, unknown>): void {
    if (this.allowed === null) return;
    const target = targetOrigin(this.parentOrigin, this.allowed, location.origin);
    if (target !== null) this.parent.postMessage({ neko: EMBED_VERSION, ...message }, target);
  }

  private async run(cmd: Command): Promise<void> {
    const { ctl } = this;
    const { store } = ctl;
    const inRoom = () => {
      if (store.phase.value !== 'room') throw new CommandError('not logged in');
    };
    const sent = (ok: boolean) => {
      if (!ok) throw new CommandError('not connected');
    };
    switch (cmd.type) {
      case 'login': {
        if ('share' in cmd) {
          if (!(await ctl.loginShare(cmd.share))) throw new CommandError(store.loginError.value);
        } else {
          await ctl.login(cmd.username, cmd.password, false);
          if (store.phase.value !== 'room') throw new CommandError(store.loginError.value);
        }
        return;
      }
      case 'logout':
        inRoom();
        ctl.logout();
        return;
      case 'control.request':
        inRoom();
        if (store.isHost.value) return;
        if (store.me.value?.profile.can_host === false) throw new CommandError('not allowed to take control');
        sent(store.socket.value === 'open');
        ctl.requestControl();
        return;
      case 'control.release':
        inRoom();
        if (!store.isHost.value) return;
        await ctl.releaseControl(store.room.value.sessionId!);
        return;
      case 'volume':
        if (cmd.volume !== undefined) ctl.setVolume(cmd.volume);
        if (cmd.muted !== undefined && cmd.muted !== store.muted.value) ctl.toggleMute();
        return;
      case 'fullscreen': {
        const want = cmd.on ?? document.fullscreenElement === null;
        if (want === (document.fullscreenElement !== null)) return;
        await ctl.toggleFullscreen();
        if (want !== (document.fullscreenElement !== null)) throw new CommandError('fullscreen refused by the browser (it needs a click)');
        return;
      }
      case 'chat.send':
        inRoom();
        if (!store.canSendChat.value) throw new CommandError('chat not allowed');
        sent(ctl.sendChat(cmd.text));
        return;
      case 'quality':
        inRoom();
        sent(ctl.setQuality(cmd.video));
        return;
      case 'ui':
        if (cmd.side !== undefined) store.panelOpen.value = cmd.side;
        if (cmd.controls !== undefined) store.controls.value = cmd.controls && !store.params.cast;
        if (cmd.muteChat !== undefined) ctl.setChatSound(!cmd.muteChat);
        return;
    }
  }

  /** Turns store changes into events. */
  private watch(): void {
    const { store } = this.ctl;
    let connected = false;
    let hostId: string | null | undefined;
    let chatSeq = 0;
    let members = new Map<string, string>();
    store.statsFeed.value = true;

    this.disposers.push(
      effect(() => {
        // Connected once the server said who we are (system/init), not at the socket's open.
        const sessionId = store.room.value.sessionId;
        const open = store.socket.value === 'open' && store.phase.value === 'room' && sessionId !== null;
        if (open === connected) return;
        connected = open;
        if (open) {
          this.emit('connected', { sessionId });
          return;
        }
        // The session ends in several steps; the reason is known once they are done.
        queueMicrotask(() => {
          const reason = store.phase.peek() === 'login' ? store.loginError.peek() || 'logged out' : 'connection lost';
          this.emit('disconnected', { reason });
        });
      }),
      effect(() => {
        const r = store.room.value;
        if (r.hostId !== hostId && r.sessionId !== null) {
          hostId = r.hostId;
          this.emit('host', { hostId: r.hostId, isHost: r.hostId !== null && r.hostId === r.sessionId });
        }
        for (const line of r.chat) {
          if (line.seq <= chatSeq || line.kind !== 'message') continue;
          this.emit('chat', { id: line.from, name: memberName(r, line.from), text: line.text, created: line.created });
        }
        chatSeq = r.chat.at(-1)?.seq ?? 0;
        if (r.sessionId === null) {
          // Logged out: the room is gone, nobody left it.
          members = new Map();
          return;
        }
        const now = new Map([...r.members.values()].filter((m) => m.state.is_connected).map((m) => [m.id, m.profile.name || m.id]));
        for (const [id, name] of now) if (!members.has(id)) this.emit('member.joined', { id, name });
        for (const [id, name] of members) if (!now.has(id)) this.emit('member.left', { id, name });
        members = now;
      }),
      effect(() => {
        const s = store.stats.value;
        if (s) this.emit('stats', { fps: s.fps, bitrateKbps: s.bitrateKbps, latencyMs: s.latencyMs });
      }),
    );
  }

  close(): void {
    for (const dispose of this.disposers.splice(0)) dispose();
  }
}
