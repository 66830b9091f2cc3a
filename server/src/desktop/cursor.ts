import { EventEmitter } from 'node:events';
import sharp from 'sharp';
import type x11 from 'x11';
import type { Logger } from '../log.js';
import type { Point, X11Client } from './x11-client.js';
import { X11Link } from './x11-link.js';

export interface CursorImage {
  width: number;
  height: number;
  xhot: number;
  yhot: number;
  /** XFIXES cursor serial: changes whenever the displayed cursor does. */
  serial: number;
  png: Buffer;
}

export interface CursorWatcherEvents {
  /** The displayed cursor changed. */
  image: [CursorImage];
  /** The pointer moved (seen by polling while watched). */
  position: [Point];
}

export interface CursorWatcherOptions {
  display: string;
  logger: Logger;
  /** Pointer polling period while the pointer moves (default 16 ms ≈ 60 Hz). */
  pollMs?: number;
  /** Polling period once it has not moved for a second (default 250 ms). */
  idlePollMs?: number;
}

/** Still for this long: the pointer is polled at the idle period. */
const IDLE_AFTER_MS = 1000;

/** X cursors are small; anything beyond this is not a cursor we want to ship per viewer. */
const MAX_CURSOR_SIDE = 512;

/**
 * The desktop's cursor as viewers draw it: its image (XFIXES GetCursorImage, re-read on
 * every XFIXES CursorNotify) and the pointer position (QueryPointer polling, only while
 * someone watches). Uses its own X connection, so cursor traffic never queues behind input.
 * Polling slows down while the pointer stands still: each query wakes this process and the
 * X server, 2–3 % of a core at 60 Hz on a 2-core VM, and the host's own moves reach the
 * viewers from the input path anyway; polling only catches moves made by applications.
 */
export class CursorWatcher extends EventEmitter<CursorWatcherEvents> {
  private readonly link: X11Link;
  private readonly log: Logger;
  private fixes: x11.XFixes | null = null;
  private client: X11Client | null = null;
  private current: Promise<CursorImage | null> | null = null;
  private announced = -1;
  private last: Point | null = null;
  private holds = 0;
  private timer: NodeJS.Timeout | null = null;
  private polling = false;
  private lastMoveAt = 0;
  private closing: Promise<void> | null = null;

  private constructor(private readonly opts: CursorWatcherOptions) {
    super();
    this.log = opts.logger.child({ module: 'cursor' });
    this.link = new X11Link({ display: opts.display, logger: this.log });
    this.link.on('connected', (client) => {
      this.adopt(client).catch((err: unknown) => this.log.warn({ err }, 'cursor tracking not re-armed'));
    });
    this.link.on('disconnected', () => {
      this.client = null;
      this.fixes = null;
    });
  }

  static async start(opts: CursorWatcherOptions): Promise<CursorWatcher> {
    const watcher = new CursorWatcher(opts);
    try {
      await watcher.link.open();
      await watcher.adopt(watcher.link.client!);
    } catch (err) {
      await watcher.close();
      throw err;
    }
    return watcher;
  }

  /** The cursor now displayed; null when the X server cannot tell. */
  image(): Promise<CursorImage | null> {
    this.current ??= this.readImage();
    return this.current;
  }

  /** Last known pointer position, asking the X server when nothing was polled yet. */
  async position(): Promise<Point | null> {
    if (this.last) return this.last;
    try {
      this.last = (await this.client?.queryPointer()) ?? null;
    } catch (err) {
      this.log.debug({ err }, 'pointer position unknown');
    }
    return this.last;
  }

  /** Polls the pointer until the returned function is called (reference counted). */
  watch(): () => void {
    this.holds++;
    if (!this.timer && !this.closing) this.schedule();
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (--this.holds > 0 || !this.timer) return;
      clearTimeout(this.timer);
      this.timer = null;
    };
  }

  private schedule(): void {
    const fast = this.opts.pollMs ?? 16;
    const moving = performance.now() - this.lastMoveAt < IDLE_AFTER_MS;
    const timer = setTimeout(() => {
      void this.poll().finally(() => {
        if (this.timer === timer && this.holds > 0 && !this.closing) this.schedule();
      });
    }, moving ? fast : Math.max(fast, this.opts.idlePollMs ?? 250));
    timer.unref?.();
    this.timer = timer;
  }

  close(): Promise<void> {
    if (this.closing) return this.closing;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.closing = this.link.close();
    return this.closing;
  }

  private async adopt(client: X11Client): Promise<void> {
    const fixes = await new Promise<x11.XFixes>((resolve, reject) =>
      client.raw.require('fixes', (err, ext) => (err ? reject(err) : resolve(ext))),
    );
    this.client = client;
    this.fixes = fixes;
    client.on('event', (ev) => {
      if (ev.name !== 'CursorNotify' || this.client !== client) return;
      this.current = this.readImage();
      void this.current.then((image) => {
        // X reports some changes more than once.
        if (!image || image.serial === this.announced) return;
        this.announced = image.serial;
        this.emit('image', image);
      });
    });
    fixes.SelectCursorInput(client.root, fixes.CursorNotifyMask.DisplayCursor);
    // The cursor may have changed while we were not connected.
    this.current = this.readImage();
  }

  private async readImage(): Promise<CursorImage | null> {
    const fixes = this.fixes;
    if (!fixes) return null;
    try {
      const reply = await new Promise<x11.CursorImageReply>((resolve, reject) =>
        fixes.GetCursorImage((err, r) => {
          if (err) reject(err);
          else resolve(r);
          return true;
        }),
      );
      const { width, height } = reply;
      if (width === 0 || height === 0 || width > MAX_CURSOR_SIDE || height > MAX_CURSOR_SIDE) {
        this.log.debug({ width, height }, 'cursor image ignored');
        return null;
      }
      const png = await sharp(straightRgba(reply.cursorImage, width * height), { raw: { width, height, channels: 4 } })
        .png()
        .toBuffer();
      return { width, height, xhot: reply.xhot, yhot: reply.yhot, serial: reply.cursorSerial, png };
    } catch (err) {
      // BadAccess is what X answers for a cursor whose creator has exited (e.g. xsetroot).
      this.log.debug({ err }, 'cursor image unavailable');
      return null;
    }
  }

  private async poll(): Promise<void> {
    const client = this.client;
    // One request at a time: a slow X server must not pile up queries.
    if (!client || this.polling) return;
    this.polling = true;
    try {
      const p = await client.queryPointer();
      if (this.last?.x === p.x && this.last.y === p.y) return;
      this.lastMoveAt = performance.now();
      this.last = p;
      this.emit('position', p);
    } catch (err) {
      this.log.debug({ err }, 'pointer poll failed');
    } finally {
      this.polling = false;
    }
  }
}

/** XFIXES pixels are premultiplied ARGB32 words in the client's (little-endian) order: B,G,R,A bytes. */
function straightRgba(argb: Buffer, pixels: number): Buffer {
  const out = Buffer.alloc(pixels * 4);
  for (let i = 0; i < pixels; i++) {
    const o = i * 4;
    const a = argb[o + 3]!;
    const unmultiply = (c: number) => (a === 0 ? 0 : Math.min(255, Math.round((c * 255) / a)));
    out[o] = unmultiply(argb[o + 2]!);
    out[o + 1] = unmultiply(argb[o + 1]!);
    out[o + 2] = unmultiply(argb[o]!);
    out[o + 3] = a;
  }
  return out;
}
