import { EventEmitter } from 'node:events';
import x11 from 'x11';
import type { Logger } from '../log.js';

export interface Point {
  x: number;
  y: number;
}

export interface Size {
  width: number;
  height: number;
}

/** The core keyboard mapping: `rows[k - minKeycode]` holds the keysyms of keycode `k`. */
export interface KeyboardMapping {
  minKeycode: number;
  keysymsPerKeycode: number;
  rows: number[][];
}

/** A 32-bit-per-pixel ZPixmap image, bytes B, G, R, X per pixel (little-endian server, depth 24). */
export interface Image {
  width: number;
  height: number;
  data: Buffer;
}


/** Atoms 1..68 are fixed by the protocol; every other id is the server's choice. */
const LAST_PREDEFINED_ATOM = 68;

function predefinedOnly(atoms: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(atoms).filter(([, id]) => id <= LAST_PREDEFINED_ATOM));
}

export interface X11ClientEvents {
  /** Every X event received (the connection gets MappingNotify without asking). */
  event: [x11.XEvent];
  /** The connection is gone (closed by us or lost). */
  close: [];
}

export interface ConnectOptions {
  /** Gives up on a server that accepts the socket but never answers the handshake. */
  timeoutMs?: number;
  logger?: Logger;
}

/** Promise wrapper for one X connection plus XTEST. */
export class X11Client extends EventEmitter<X11ClientEvents> {
  private _connected = true;
  private closing: Promise<void> | null = null;
  /** Rejecters of requests awaiting a reply, which never comes once the socket is gone. */
  private readonly pending = new Set<(err: Error) => void>();
  private xkbReady: Promise<x11.Xkb> | null = null;
  private fixesReady: Promise<x11.XFixes> | null = null;

  private constructor(
    readonly display: string,
    /** The package's client, for requests this wrapper does not cover. */
    readonly raw: x11.Client,
    private readonly xtest: x11.XTest,
    private readonly logger: Logger | undefined,
  ) {
    super();
    // The package caches interned atoms in one object shared by all its connections: without
    // a cache of our own, a connection would reuse the ids another X server (or this one
    // before a restart) gave out, and ask for properties under the wrong names.
    raw.atoms = predefinedOnly(raw.atoms);
    raw.atom_names = Object.fromEntries(Object.entries(raw.atoms).map(([name, id]) => [id, name]));
    raw.on('event', (ev: x11.XEvent) => this.emit('event', ev));
    raw.stream?.once('close', () => this.markClosed());
  }

  static connect(display: string, opts: ConnectOptions = {}): Promise<X11Client> {
    const timeoutMs = opts.timeoutMs ?? 5000;
    return new Promise((resolve, reject) => {
      let settled = false;
      const fail = (err: Error) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        raw.stream?.destroy();
        reject(err);
      };
      const timer = setTimeout(() => fail(new Error(`X display ${display}: no answer in ${timeoutMs} ms`)), timeoutMs);
      // shm: false keeps to a plain socket; MIT-SHM's fd passing is of no use for input.
      const raw = x11.createClient({ display, shm: false }, (err) => {
        if (err) return fail(err);
        raw.require('xtest', (xerr, xtest) => {
          if (xerr) return fail(xerr);
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          resolve(new X11Client(display, raw, xtest, opts.logger));
        });
      });
      // Without a listener an unanswered protocol error or a socket error would throw.
      raw.on('error', (err: Error) => {
        if (!settled) return fail(err);
        if ('error' in err) {
          opts.logger?.warn({ err, display }, 'X protocol error');
        } else {
          opts.logger?.warn({ err, display }, 'X connection error');
          raw.stream?.destroy();
        }
      });
    });
  }

  get connected(): boolean {
    return this._connected;
  }

  get root(): number {
    return this.raw.display.screen[0].root;
  }

  get minKeycode(): number {
    return this.raw.display.min_keycode;
  }

  get maxKeycode(): number {
    return this.raw.display.max_keycode;
  }

  /** Absolute pointer motion on the root window. */
  fakeMotion(x: number, y: number): void {
    if (!this._connected) return;
    this.xtest.FakeInput(this.xtest.MotionNotify, 0, 0, this.root, x, y);
  }

  fakeButton(button: number, press: boolean): void {
    if (!this._connected) return;
    this.xtest.FakeInput(press ? this.xtest.ButtonPress : this.xtest.ButtonRelease, button, 0, 0, 0, 0);
  }

  fakeKey(keycode: number, press: boolean): void {
    if (!this._connected) return;
    this.xtest.FakeInput(press ? this.xtest.KeyPress : this.xtest.KeyRelease, keycode, 0, 0, 0, 0);
  }

  async queryPointer(): Promise<Point> {
    const r = await this.request<x11.QueryPointerReply>((cb) => this.raw.QueryPointer(this.root, cb));
    return { x: r.rootX, y: r.rootY };
  }

  /** Current root window size; follows RANDR changes, unlike the connection-setup values. */
  async screenSize(): Promise<Size> {
    const g = await this.request<x11.Geometry>((cb) => this.raw.GetGeometry(this.root, cb));
    return { width: g.width, height: g.height };
  }

  async keyboardMapping(): Promise<KeyboardMapping> {
    const count = this.maxKeycode - this.minKeycode + 1;
    const rows = await this.request<number[][]>((cb) => this.raw.GetKeyboardMapping(this.minKeycode, count, cb));
    return { minKeycode: this.minKeycode, keysymsPerKeycode: rows[0]?.length ?? 0, rows };
  }

  /** Sets every level of one keycode; `keysyms.length` is the keysyms-per-keycode. */
  changeKeyboardMapping(keycode: number, keysyms: number[]): void {
    if (!this._connected) return;
    this.raw.ChangeKeyboardMapping(keycode, keysyms.length, keysyms);
  }

  /** Asks for events on a window (e.g. StructureNotify on the root to hear of resizes). */
  selectInput(wid: number, eventMask: number): void {
    if (!this._connected) return;
    this.raw.ChangeWindowAttributes(wid, { eventMask });
  }

  setInputFocus(wid: number): void {
    if (!this._connected) return;
    this.raw.SetInputFocus(wid, 2);
  }

  async internAtom(name: string): Promise<number> {
    return this.request<number>((cb) => this.raw.InternAtom(false, name, cb));
  }

  /** Up to `maxBytes` of a property; `type` 0 accepts any type. A missing property has type 0. */
  async getProperty(wid: number, atom: number, type = 0, maxBytes = 4096): Promise<x11.Property> {
    return this.request<x11.Property>((cb) => this.raw.GetProperty(0, wid, atom, type, 0, Math.ceil(maxBytes / 4), cb));
  }

  /** The child of `wid` that contains the root point (x, y), 0 if none. */
  async childAt(wid: number, x: number, y: number): Promise<number> {
    const r = await this.request<x11.TranslateCoordinatesReply>((cb) => this.raw.TranslateCoordinates(this.root, wid, x, y, cb));
    return r.child;
  }

  async children(wid: number): Promise<number[]> {
    const tree = await this.request<x11.Tree>((cb) => this.raw.QueryTree(wid, cb));
    return tree.children;
  }

  /** Whether `wid` is viewable (mapped, and its ancestors too) and bypasses the window manager. */
  async windowAttributes(wid: number): Promise<{ viewable: boolean; overrideRedirect: boolean }> {
    const a = await this.request<x11.WindowAttributes>((cb) => this.raw.GetWindowAttributes(wid, cb));
    return { viewable: a.mapState === 2, overrideRedirect: a.overrideRedirect !== 0 };
  }

  /**
   * Paints the root window's background a solid colour (0xRRGGBB on the TrueColor visual of
   * depth 24 every server here has). It stays after this connection closes: it is an
   * attribute of the window, not a resource of the client.
   */
  async setRootBackground(rgb: number): Promise<void> {
    this.assertConnected();
    this.raw.ChangeWindowAttributes(this.root, { backgroundPixel: rgb });
    this.raw.ClearArea(this.root, 0, 0, 0, 0, 0);
    await this.sync();
  }

  /** Where `wid` is on the screen and how big it is (its border left out). */
  async rectOnScreen(wid: number): Promise<Point & Size> {
    const g = await this.request<x11.Geometry>((cb) => this.raw.GetGeometry(wid, cb));
    const at = await this.request<x11.TranslateCoordinatesReply>((cb) => this.raw.TranslateCoordinates(wid, this.root, 0, 0, cb));
    return { x: at.destX, y: at.destY, width: g.width, height: g.height };
  }

  /** Pixels of a rectangle of the screen, 4 bytes each (B, G, R, unused), row after row. */
  async screenArea(x: number, y: number, width: number, height: number): Promise<Buffer> {
    const ZPIXMAP = 2;
    const image = await this.request<x11.Image>((cb) => this.raw.GetImage(ZPIXMAP, this.root, x, y, width, height, 0xffffffff, cb));
    return image.data;
  }

  /** The whole root window as pixels (one GetImage round trip). */
  async rootImage(): Promise<Image> {
    const { width, height } = await this.screenSize();
    const ZPIXMAP = 2;
    const image = await this.request<x11.Image>((cb) =>
      this.raw.GetImage(ZPIXMAP, this.root, 0, 0, width, height, 0xffffffff, cb),
    );
    // Depth 24 is stored as 32 bits per pixel by every server we run; anything else (a
    // 16-bit external display) would need a converter we do not have.
    if (image.depth !== 24 || image.data.length < width * height * 4) {
      throw new Error(`unsupported root image format: depth ${image.depth}, ${image.data.length} bytes for ${width}x${height}`);
    }
    return { width, height, data: image.data };
  }

  /** Modifiers in effect on the core keyboard (pressed, latched or locked), as a core state mask (XKB). */
  async modifiers(): Promise<number> {
    const xkb = await this.xkb();
    const state = await this.request<x11.XkbState>((cb) => xkb.GetState(xkb.UseCoreKbd, cb));
    return state.mods;
  }

  /**
   * Locks the modifiers in `affect` whose bit is set in `locked` and unlocks the others, as a
   * lock key would (Caps Lock locks `Lock`); the keyboard LEDs follow.
   */
  async lockModifiers(affect: number, locked: number): Promise<void> {
    const xkb = await this.xkb();
    xkb.LatchLockState(xkb.UseCoreKbd, affect, locked & affect, false, 0, 0, 0, false, 0);
    await this.sync();
  }

  /**
   * Asks for XFIXES SelectionNotify events whenever `selection` changes owner; they arrive
   * as `event`s named 'SelectionNotify' with `type` = the returned event code.
   */
  async watchSelection(selection: number): Promise<number> {
    const fixes = await this.fixes();
    const m = fixes.SelectionEventMask;
    fixes.SelectSelectionInput(this.root, selection, m.SetSelectionOwner | m.SelectionWindowDestroy | m.SelectionClientClose);
    await this.sync();
    return fixes.firstEvent;
  }

  /** Resolves once the server has processed every request sent so far. */
  async sync(): Promise<void> {
    this.assertConnected();
    await this.raw.sync();
  }

  /** Idempotent; resolves once the socket is closed. */
  close(): Promise<void> {
    if (this.closing) return this.closing;
    if (!this._connected) return (this.closing = Promise.resolve());
    this.closing = new Promise<void>((resolve) => {
      // A dead server never answers close()'s round trip: cut the socket after a grace.
      const timer = setTimeout(() => this.raw.stream?.destroy(), 1000);
      this.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      this.raw.close();
    });
    return this.closing;
  }

  private markClosed(): void {
    if (!this._connected) return;
    this._connected = false;
    this.logger?.debug({ display: this.display }, 'X connection closed');
    const gone = new Error(`X display ${this.display}: connection closed`);
    for (const reject of this.pending) reject(gone);
    this.pending.clear();
    this.emit('close');
  }

  private xkb(): Promise<x11.Xkb> {
    this.xkbReady ??= (async () => {
      const xkb = await this.request<x11.Xkb>((cb) => this.raw.require('xkb', cb));
      // XKB refuses every other request from a client that has not negotiated first.
      const use = await this.request<{ supported: number }>((cb) => xkb.UseExtension(1, 0, cb));
      if (!use.supported) throw new Error('XKB 1.0 not supported by the X server');
      return xkb;
    })().catch((err: unknown) => {
      this.xkbReady = null;
      throw err;
    });
    return this.xkbReady;
  }

  private fixes(): Promise<x11.XFixes> {
    this.fixesReady ??= this.request<x11.XFixes>((cb) => this.raw.require('fixes', cb)).catch((err: unknown) => {
      this.fixesReady = null;
      throw err;
    });
    return this.fixesReady;
  }

  private assertConnected(): void {
    if (!this._connected) throw new Error(`X display ${this.display}: not connected`);
  }

  private request<T>(send: (cb: (err: Error | null | undefined, result: T) => unknown) => void): Promise<T> {
    this.assertConnected();
    return new Promise<T>((resolve, reject) => {
      this.pending.add(reject);
      const settle = (err: Error | null | undefined, result?: T) => {
        this.pending.delete(reject);
        if (err) reject(err);
        else resolve(result as T);
        // Tells the package the error (if any) was handled here.
        return true;
      };
      try {
        send(settle);
      } catch (err) {
        settle(err as Error); // e.g. the package refuses requests once closing
      }
    });
  }
}
