import { EventEmitter } from 'node:events';
import type x11 from 'x11';
import type { Logger } from '../log.js';
import type { X11Client } from './x11-client.js';
import { X11Link } from './x11-link.js';

/** The parts of the `x11` package's DAMAGE extension (lib/ext/damage.js) used here. */
interface DamageExt {
  ReportLevel: { NonEmpty: number };
  Create(damage: number, drawable: number, level: number): void;
  /** `repair` and `parts` 0 (None): empties the damage, so the next drawing reports again. */
  Subtract(damage: number, repair: number, parts: number): void;
}

type RequireDamage = (this: x11.Client, extension: 'damage', callback: (err: Error | null | undefined, ext: DamageExt) => void) => void;

/** Root window property whose every change asks server/native's screen source for a grab. */
export const WAKE_PROPERTY = '_NEKO_CAPTURE_WAKE';
const PROP_MODE_REPLACE = 0;
const XA_STRING = 31;

export interface DamageWatcherEvents {
  /**
   * Something may have changed on the screen: drawing was reported, or reporting (re)started
   * or stopped, so nothing can be assumed about what happened meanwhile.
   */
  damage: [];
}

export interface DamageWatcherOptions {
  display: string;
  logger: Logger;
  /**
   * Re-arms this long after a report (default 0: at once), so a screen that keeps moving
   * costs a few reports a second instead of one per frame drawn: each report wakes this
   * process and sends the X server a request. Drawing in between is not reported.
   */
  coalesceMs?: number;
}

/**
 * Reports drawing anywhere on the screen (X DAMAGE on the root window, which covers every
 * window on it). The report level is NonEmpty: one event when the damaged region stops being
 * empty, re-armed by emptying it again, so a busy screen costs one event per change noticed
 * (drawing that lands before the re-arm is part of it), not one per rectangle drawn. Uses
 * its own X connection, re-armed after X reconnects.
 */
export class DamageWatcher extends EventEmitter<DamageWatcherEvents> {
  private readonly link: X11Link;
  private readonly log: Logger;
  private armed: { client: X11Client; damage: number; wakeAtom: number } | null = null;
  /** The connection being armed (the first one by start() and by `connected` alike). */
  private arming: { client: X11Client; done: Promise<void> } | null = null;
  private rearmTimer: NodeJS.Timeout | null = null;
  private reportIntervalMs: number | null = null;
  private closing: Promise<void> | null = null;

  private constructor(private readonly opts: DamageWatcherOptions) {
    super();
    this.log = opts.logger.child({ module: 'damage' });
    this.link = new X11Link({ display: opts.display, logger: this.log });
    this.link.on('connected', (client) => {
      this.arm(client)
        .then(() => this.emit('damage'))
        .catch((err: unknown) => this.log.warn({ err }, 'screen damage not reported after reconnect'));
    });
    this.link.on('disconnected', () => {
      this.armed = null;
      this.emit('damage');
    });
  }

  /** Rejects when the display cannot be reached or has no DAMAGE extension. */
  static async start(opts: DamageWatcherOptions): Promise<DamageWatcher> {
    const watcher = new DamageWatcher(opts);
    try {
      await watcher.link.open();
      await watcher.arm(watcher.link.client!);
    } catch (err) {
      await watcher.close();
      throw err;
    }
    return watcher;
  }

  /** True while drawing is being reported: when false, the screen may change unseen. */
  get watching(): boolean {
    return this.armed !== null && !this.closing;
  }

  /**
   * Whether the X server answers a round trip within `timeoutMs`: it does not while another
   * client holds a server grab (or while it is gone or swamped).
   */
  async responsive(timeoutMs: number): Promise<boolean> {
    const client = this.armed?.client;
    if (!client?.connected) return false;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
    try {
      return await Promise.race([client.sync().then(() => true, () => false), late]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Asks the damage-driven screen source (server/native) for a grab: it watches this root
   * window property as it watches drawing. False while not connected.
   */
  requestFrame(): boolean {
    const armed = this.armed;
    if (!armed?.client.connected) return false;
    armed.client.raw.ChangeProperty(PROP_MODE_REPLACE, armed.client.root, armed.wakeAtom, XA_STRING, 8, 'w');
    return true;
  }

  /**
   * Re-arms this long after a report instead of `coalesceMs` (null: back to it). While
   * server/native's screen source captures, it watches drawing itself; this process then
   * only needs to notice a change that source left unanswered, and at one report per frame
   * the X events and timers here were about half of the server's CPU at one viewer.
   */
  setReportInterval(ms: number | null): void {
    this.reportIntervalMs = ms;
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.armed = null;
      if (this.rearmTimer) clearTimeout(this.rearmTimer);
      this.rearmTimer = null;
      await this.link.close();
    })();
    return this.closing;
  }

  private arm(client: X11Client): Promise<void> {
    if (this.arming?.client !== client) this.arming = { client, done: this.armOnce(client) };
    return this.arming.done;
  }

  private async armOnce(client: X11Client): Promise<void> {
    const ext = await new Promise<DamageExt>((resolve, reject) => {
      const requireExt = client.raw.require as unknown as RequireDamage;
      requireExt.call(client.raw, 'damage', (err, e) => (err ? reject(err) : resolve(e)));
    });
    const wakeAtom = await client.internAtom(WAKE_PROPERTY);
    if (this.link.client !== client || this.closing) return;
    const damage = client.raw.AllocID();
    const rearm = () => {
      this.rearmTimer = null;
      if (this.armed?.damage === damage) ext.Subtract(damage, 0, 0);
    };
    client.on('event', (ev: x11.XEvent) => {
      if (ev.name !== 'DamageNotify' || this.armed?.damage !== damage) return;
      this.emit('damage');
      const delay = this.reportIntervalMs ?? this.opts.coalesceMs ?? 0;
      if (delay <= 0) rearm();
      else if (!this.rearmTimer) {
        this.rearmTimer = setTimeout(rearm, delay);
        this.rearmTimer.unref?.();
      }
    });
    ext.Create(damage, client.root, ext.ReportLevel.NonEmpty);
    this.armed = { client, damage, wakeAtom };
    await client.sync();
  }
}
