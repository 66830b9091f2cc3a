// embed.js: what a host page loads to put the viewer in an iframe and drive it.
// No framework; built as a classic script that defines `window.NekoEmbed`.
import { parseViewerMessage, type Command, type EmbedEvents, type EventType } from './embed-protocol.js';

/** What the iframe may use: the clipboard, fullscreen, sound without a click, the microphone. */
export const ALLOW = 'clipboard-read; clipboard-write; fullscreen; autoplay; microphone';
const REPLY_TIMEOUT_MS = 15_000;

export interface MountOptions {
  /** The server's address, e.g. `https://neko.example.com/`. */
  url: string;
  /** A share link's token: logs in without a password. */
  share?: string;
  usr?: string;
  pwd?: string;
  /** More viewer parameters (`embed`, `cast`, `volume`, `show_side`, `mute_chat`, `lang`, `scroll`). */
  params?: Record<string, string | number | boolean>;
  /** Attributes for the iframe, e.g. `{ title: 'Remote desktop' }`. */
  attributes?: Record<string, string>;
}

type Listener<K extends EventType> = (data: EmbedEvents[K]) => void;
type Args<T extends Command['type']> = Omit<Extract<Command, { type: T }>, 'type'>;

export class Player {
  readonly iframe: HTMLIFrameElement;
  readonly origin: string;
  readonly ready: Promise<void>;
  private readonly listeners = new Map<string, Set<(data: never) => void>>();
  private readonly pending = new Map<string, { resolve(): void; reject(err: Error): void; timer: number }>();
  private nextId = 1;
  private markReady!: () => void;
  private readonly onMessage = (ev: MessageEvent) => this.receive(ev);

  constructor(el: HTMLElement, opts: MountOptions) {
    const src = new URL(opts.url, location.href);
    for (const [k, v] of Object.entries(opts.params ?? {})) src.searchParams.set(k, typeof v === 'boolean' ? (v ? '1' : '0') : String(v));
    if (opts.usr !== undefined) src.searchParams.set('usr', opts.usr);
    if (opts.pwd !== undefined) src.searchParams.set('pwd', opts.pwd);
    if (opts.share !== undefined) src.searchParams.set('share', opts.share);
    this.origin = src.origin;
    this.ready = new Promise((resolve) => (this.markReady = resolve));
    window.addEventListener('message', this.onMessage);
    const iframe = document.createElement('iframe');
    iframe.src = src.toString();
    iframe.allow = ALLOW;
    iframe.setAttribute('allowfullscreen', '');
    iframe.style.border = '0';
    iframe.style.width = '100%';
    iframe.style.height = '100%';
    for (const [k, v] of Object.entries(opts.attributes ?? {})) iframe.setAttribute(k, v);
    this.iframe = iframe;
    el.appendChild(iframe);
  }

  on<K extends EventType>(type: K, fn: Listener<K>): () => void {
    let set = this.listeners.get(type);
    if (!set) this.listeners.set(type, (set = new Set()));
    set.add(fn as (data: never) => void);
    return () => set.delete(fn as (data: never) => void);
  }

  login(username: string, password: string): Promise<void> {
    return this.send('login', { username, password });
  }

  loginShare(share: string): Promise<void> {
    return this.send('login', { share });
  }

  logout(): Promise<void> {
    return this.send('logout', {});
  }

  requestControl(): Promise<void> {
    return this.send('control.request', {});
  }

  releaseControl(): Promise<void> {
    return this.send('control.release', {});
  }

  setVolume(volume: number): Promise<void> {
    return this.send('volume', { volume });
  }

  setMuted(muted: boolean): Promise<void> {
    return this.send('volume', { muted });
  }

  /** Call from a click handler: the click's permission to go fullscreen is passed on to the player. */
  fullscreen(on?: boolean): Promise<void> {
    return this.send('fullscreen', { on }, 'fullscreen');
  }

  sendChat(text: string): Promise<void> {
    return this.send('chat.send', { text });
  }

  /** A video stream id the server offers (e.g. `hd`), or `auto`. */
  setQuality(video: string): Promise<void> {
    return this.send('quality', { video });
  }

  /** Shows or hides the side panel, the bar and panel (`controls`), the chat sound. */
  setUi(ui: Args<'ui'>): Promise<void> {
    return this.send('ui', ui);
  }

  /** Any command of the protocol; resolves on the player's ok, rejects with its error. */
  async send<T extends Command['type']>(type: T, args: Args<T>, delegate?: 'fullscreen'): Promise<void> {
    await this.ready;
    const win = this.iframe.contentWindow;
    if (!win) throw new Error('the player is not in the page');
    const id = String(this.nextId++);
    return new Promise<void>((resolve, reject) => {
      const timer = window.setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`no answer to ${type}`));
      }, REPLY_TIMEOUT_MS);
      this.pending.set(id, { resolve, reject, timer });
      const message = { ...args, neko: 1, type, id };
      // Capability delegation lets the player use this click's activation (Chromium).
      if (delegate) win.postMessage(message, { targetOrigin: this.origin, delegate } as WindowPostMessageOptions);
      else win.postMessage(message, this.origin);
    });
  }

  private receive(ev: MessageEvent): void {
    if (ev.source !== this.iframe.contentWindow || ev.origin !== this.origin) return;
    const msg = parseViewerMessage(ev.data);
    if (!msg) return;
    if (msg.type === 'reply') {
      const call = this.pending.get(msg.id);
      if (!call) return;
      this.pending.delete(msg.id);
      window.clearTimeout(call.timer);
      if (msg.ok) call.resolve();
      else call.reject(new Error(msg.error));
      return;
    }
    if (msg.type === 'ready') this.markReady();
    const { neko: _v, type, ...data } = msg;
    for (const fn of this.listeners.get(type) ?? []) {
      try {
        (fn as (d: unknown) => void)(data);
      } catch (err) {
        console.error('NekoEmbed listener failed', err);
      }
    }
  }

  /** Removes the iframe; pending commands fail. */
  destroy(): void {
    window.removeEventListener('message', this.onMessage);
    for (const call of this.pending.values()) {
      window.clearTimeout(call.timer);
      call.reject(new Error('player destroyed'));
    }
    this.pending.clear();
    this.iframe.remove();
  }
}

export function mount(el: HTMLElement, opts: MountOptions): Player {
  return new Player(el, opts);
}
