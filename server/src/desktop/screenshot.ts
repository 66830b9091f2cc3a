import sharp from 'sharp';
import type { Logger } from '../log.js';
import type { Image, X11Client } from './x11-client.js';

/** JPEG of the whole screen; `quality` 0–100 (0 is taken as 1, the lowest sharp accepts). */
export async function screenshotJpeg(client: X11Client, quality: number): Promise<Buffer> {
  return encodeJpeg(await client.rootImage(), quality);
}

async function encodeJpeg(image: Image, quality: number): Promise<Buffer> {
  const { width, height, data } = image;
  // GetImage gives B, G, R, X per pixel; swapping B and R in place makes it RGBX, and the X
  // byte (whatever the server left there) is dropped as if it were alpha.
  for (let i = 0; i < width * height * 4; i += 4) {
    const b = data[i]!;
    data[i] = data[i + 2]!;
    data[i + 2] = b;
  }
  const q = Math.min(Math.max(Math.round(quality), 1), 100);
  return sharp(data, { raw: { width, height, channels: 4 } }).removeAlpha().jpeg({ quality: q }).toBuffer();
}

const FRAME_TIMEOUT_MS = 5000;

/** `capture.screencast.rate` (`n/d` frames per second) → milliseconds between frames. */
export function frameIntervalMs(rate: string): number {
  const m = /^(\d+)\/(\d+)$/.exec(rate.trim());
  const fps = m ? Number(m[1]) / Number(m[2]) : Number(rate);
  if (!Number.isFinite(fps) || fps <= 0) throw new Error(`invalid screencast rate ${rate}`);
  // Faster than 30 fps only burns CPU: the JPEGs are polled over HTTP.
  return Math.max(1000 / fps, 1000 / 30);
}

export interface ScreencastOptions {
  /** Takes one JPEG frame. */
  grab(): Promise<Buffer>;
  intervalMs: number;
  /** Frames stop after this long without a request (contract: roughly 5–10 s; default 8 s). */
  idleStopMs?: number;
  logger: Logger;
}

/**
 * The on-demand JPEG screencast behind `cast.jpg`: the first request starts grabbing frames
 * at the configured rate, every request gets the latest frame, and grabbing stops once
 * nobody asked for a while.
 */
export class Screencast {
  private latest: Buffer | null = null;
  private lastRequest = 0;
  private timer: NodeJS.Timeout | null = null;
  private running = false;
  /** Tells a grab that finished after a stop (and maybe a restart) that its loop is over. */
  private generation = 0;
  private waiters: Array<{ resolve: (frame: Buffer) => void; reject: (err: Error) => void }> = [];
  private closed = false;

  constructor(private readonly opts: ScreencastOptions) {}

  /** The latest frame; the first request after a pause waits for a fresh one. */
  image(): Promise<Buffer> {
    if (this.closed) return Promise.reject(new Error('screencast closed'));
    this.lastRequest = Date.now();
    if (!this.running) this.startLoop();
    if (this.latest) return Promise.resolve(this.latest);
    return new Promise((resolve, reject) => {
      // A grab stuck in a hung X server must not hold the HTTP request forever.
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error('no screencast frame in time'));
      }, FRAME_TIMEOUT_MS);
      const waiter = {
        resolve: (frame: Buffer) => {
          clearTimeout(timer);
          resolve(frame);
        },
        reject: (err: Error) => {
          clearTimeout(timer);
          reject(err);
        },
      };
      this.waiters.push(waiter);
    });
  }

  get active(): boolean {
    return this.running;
  }

  close(): void {
    this.closed = true;
    this.stop();
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w.reject(new Error('screencast closed'));
  }

  private startLoop(): void {
    this.running = true;
    this.opts.logger.debug('screencast started');
    void this.tick(++this.generation);
  }

  private stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.running) this.opts.logger.debug('screencast stopped');
    this.running = false;
    this.generation++;
    this.latest = null;
  }

  private async tick(generation: number): Promise<void> {
    this.timer = null;
    const current = () => this.running && generation === this.generation;
    if (!current()) return;
    const started = Date.now();
    try {
      const frame = await this.opts.grab();
      if (!current()) return;
      this.latest = frame;
      const waiters = this.waiters;
      this.waiters = [];
      for (const w of waiters) w.resolve(frame);
    } catch (err) {
      if (!current()) return;
      this.opts.logger.warn({ err }, 'screencast frame failed');
      const waiters = this.waiters;
      this.waiters = [];
      for (const w of waiters) w.reject(err as Error);
    }
    if (!current()) return;
    if (Date.now() - this.lastRequest > (this.opts.idleStopMs ?? 8000)) {
      this.stop();
      return;
    }
    const delay = Math.max(this.opts.intervalMs - (Date.now() - started), 0);
    this.timer = setTimeout(() => void this.tick(generation), delay);
  }
}
