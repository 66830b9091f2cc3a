import { EventEmitter } from 'node:events';
import { homedir } from 'node:os';
import { join } from 'node:path';
import x11 from 'x11';
import type { Logger } from '../log.js';
import type { RunAs } from '../process/spawn.js';
import { BUILTIN_BROWSER, chromiumLaunch } from './chromium.js';
import { InputController, type Input } from './input.js';
import { PulseAudio } from './pulseaudio.js';
import { commandLine, SessionApps, type Launch } from './session-apps.js';
import type { X11Client } from './x11-client.js';
import { X11Link } from './x11-link.js';
import { XServer, xrandrSetSize, type XServerChoice } from './xserver.js';

export interface ScreenSize {
  width: number;
  height: number;
  rate: number;
}

export interface DesktopOptions {
  /**
   * Attach to this X display and start nothing (no X server, apps or PulseAudio). The caller
   * resolves the contract's `desktop.display` → `$DISPLAY` fallback.
   */
  display?: string;
  screen: ScreenSize;
  /**
   * X server to start when no display is given; Xorg (dummy driver) can be resized, `auto`
   * starts it where it can run and Xvfb elsewhere.
   */
  server: XServerChoice;
  /** Window manager command line, '' for none. */
  windowManager?: string;
  /** Application command line, `chromium` for the built-in browser set-up, '' for none. */
  app?: string;
  /** For the built-in browser: first page ('' = the bundled welcome page) and download folder. */
  browser?: { homePage?: string; downloadDir?: string };
  /** How long the app may take to map its window before /health reports `no_window` (default 30 s). */
  appWindowTimeoutMs?: number;
  /** Root window colour behind the windows, 0xRRGGBB (null: X's own black). */
  background?: number | null;
  /** Start PulseAudio (only with our own X server). */
  audio: boolean;
  /**
   * Unprivileged user the window manager and app run as, and who may use the display, audio
   * and upload folder (null: the server's own user).
   */
  user?: RunAs | null;
  logger: Logger;
  /** Contract: 10 s. Tests shorten it. */
  inputHoldTimeoutMs?: number;
  /** Lowest display number to use for our X server (default 99). */
  firstDisplay?: number;
  /** Xorg configuration file (default: the repository's xorg/xorg.conf). */
  xorgConfig?: string;
}

export interface DesktopEvents {
  /** Some component changed state; carries the new health() snapshot. */
  health: [Record<string, string>];
  /** The screen size changed (ours or someone's xrandr). */
  screen: [ScreenSize];
}

interface Parts {
  xserver: XServer | null;
  link: X11Link;
  input: InputController;
  pulse: PulseAudio | null;
  apps: SessionApps | null;
}

/**
 * The desktop the server streams: an X display (ours, supervised, or an existing one), the
 * input injected into it, and — with our own display — PulseAudio, a window manager and an
 * application. Survives X server restarts: input and screen tracking reconnect by themselves.
 */
export class Desktop extends EventEmitter<DesktopEvents> {
  readonly pulseServer: string | null;
  /** Who desktop programs run as (null: the server's own user). */
  readonly user: RunAs | null;
  readonly input: Input;
  private size: ScreenSize;
  private closing: Promise<void> | null = null;

  private constructor(
    readonly display: string,
    private readonly parts: Parts,
    size: ScreenSize,
    private readonly logger: Logger,
    user: RunAs | null,
    background: number | null,
  ) {
    super();
    this.user = user;
    this.input = parts.input;
    this.pulseServer = parts.pulse?.server ?? null;
    this.size = size;
    const changed = () => this.emit('health', this.health());
    for (const part of [parts.xserver, parts.pulse, parts.apps]) {
      part?.on('started', changed).on('exited', changed).on('failed', changed);
    }
    parts.apps?.on('window', changed);
    parts.link.on('disconnected', changed);
    parts.link.on('connected', (client) => {
      changed();
      // A restarted X server starts black.
      if (background !== null) {
        client.setRootBackground(background).catch((err: unknown) => logger.warn({ err }, 'background not restored'));
      }
      this.watchScreen(client).catch((err: unknown) => logger.warn({ err }, 'screen size unknown after reconnect'));
      parts.input.attach(client).catch((err: unknown) => logger.warn({ err }, 'input not re-attached'));
    });
    // The link would find the restarted server on its own; this just skips the backoff wait.
    parts.xserver?.on('started', () => parts.link.reconnectNow());
  }

  static async start(opts: DesktopOptions): Promise<Desktop> {
    const logger = opts.logger.child({ module: 'desktop' });
    const parts: Partial<Parts> = {};
    try {
      const own = !opts.display;
      parts.xserver = own
        ? await XServer.start({
            kind: opts.server,
            width: opts.screen.width,
            height: opts.screen.height,
            logger,
            firstDisplay: opts.firstDisplay,
            xorgConfig: opts.xorgConfig,
            users: opts.user ? [opts.user.name] : [],
          })
        : null;
      const display = parts.xserver?.display ?? opts.display!;
      parts.link = new X11Link({ display, logger });
      await parts.link.open();
      parts.input = new InputController({ logger, holdTimeoutMs: opts.inputHoldTimeoutMs });
      const client = parts.link.client!;
      await parts.input.attach(client);
      // Before the apps: the first frames, and those while an app restarts, show the background.
      const background = own ? (opts.background ?? null) : null;
      if (background !== null) await client.setRootBackground(background);
      parts.pulse = own && opts.audio ? await PulseAudio.start({ logger, clientGid: opts.user?.gid }) : null;
      parts.apps = own
        ? await SessionApps.start({
            display,
            windowManager: commandLine(opts.windowManager),
            app: await appLaunch(opts, display, logger),
            pulseServer: parts.pulse?.server,
            runAs: opts.user,
            windowTimeoutMs: opts.appWindowTimeoutMs,
            logger,
          })
        : null;
      const desktop = new Desktop(display, parts as Parts, { ...opts.screen }, logger, opts.user ?? null, background);
      await desktop.watchScreen(client);
      logger.info({ display, screen: desktop.size, pulseServer: desktop.pulseServer }, 'desktop ready');
      return desktop;
    } catch (err) {
      await closeParts(parts);
      throw err;
    }
  }

  screenSize(): ScreenSize {
    return { ...this.size };
  }

  /**
   * Switches the screen size (xrandr; Xorg with the dummy driver or an external server that
   * supports it). Xvfb cannot: it only accepts its current size (the rate may change, since
   * for us it is just the capture frame rate). Resolves with the size now in effect.
   */
  async setScreenSize(size: ScreenSize): Promise<ScreenSize> {
    const { xserver, link } = this.parts;
    const sameSize = size.width === this.size.width && size.height === this.size.height;
    if (!sameSize) {
      // The ConfigureNotify that reports the new size arrives while xrandr runs: it should
      // carry the new rate too, so listeners see one change, not a size and then a rate.
      const previousRate = this.size.rate;
      this.size = { ...this.size, rate: size.rate };
      try {
        if (xserver) await xserver.resize(size.width, size.height);
        else await xrandrSetSize(this.display, size.width, size.height);
      } catch (err) {
        this.size = { ...this.size, rate: previousRate };
        throw err;
      }
    }
    const actual = await link.client?.screenSize();
    this.update({ ...(actual ?? size), rate: size.rate });
    return this.screenSize();
  }

  /** Component → state, for /health ('running', 'restarting', 'failed', 'external', 'disabled', …). */
  health(): Record<string, string> {
    const { xserver, link, pulse, apps } = this.parts;
    const appStates: Record<string, string> = apps?.health() ?? {};
    return {
      'desktop.xserver': xserver?.state ?? 'external',
      'desktop.x11': { connecting: 'starting', connected: 'running', reconnecting: 'restarting', closed: 'stopped' }[
        link.state
      ],
      'desktop.pulseaudio': pulse?.state ?? 'disabled',
      'desktop.window_manager': appStates.window_manager ?? 'disabled',
      'desktop.app': appStates.app ?? 'disabled',
    };
  }

  /** Stops everything this desktop started (nothing of an attached display); idempotent. */
  close(): Promise<void> {
    this.closing ??= closeParts(this.parts).then(() => this.logger.info('desktop closed'));
    return this.closing;
  }

  /** Follows the root window's size: xrandr by anyone shows up as a ConfigureNotify. */
  private async watchScreen(client: X11Client): Promise<void> {
    client.selectInput(client.root, x11.eventMask.StructureNotify);
    client.on('event', (ev) => {
      // wid1 is the configured window; wid the one the event was selected on (both the root here).
      if (ev.name === 'ConfigureNotify' && (ev.wid1 ?? ev.wid) === client.root && ev.width && ev.height) {
        this.update({ width: ev.width, height: ev.height, rate: this.size.rate });
      }
    });
    const { width, height } = await client.screenSize();
    this.update({ width, height, rate: this.size.rate });
  }

  private update(size: ScreenSize): void {
    const old = this.size;
    this.size = size;
    if (old.width !== size.width || old.height !== size.height || old.rate !== size.rate) {
      this.logger.info({ screen: size }, 'screen size changed');
      this.emit('screen', this.screenSize());
    }
  }
}

/** What to run as the desktop's application: a command line, the built-in browser, or nothing. */
async function appLaunch(opts: DesktopOptions, display: string, logger: Logger): Promise<Launch | null> {
  if (opts.app?.trim() !== BUILTIN_BROWSER) return commandLine(opts.app);
  const home = opts.user?.home ?? homedir();
  return chromiumLaunch({
    runAs: opts.user ?? null,
    homePage: opts.browser?.homePage ?? '',
    downloadDir: opts.browser?.downloadDir || join(home, 'Downloads'),
    display,
    logger,
  });
}

/** Reverse start order: input lets go of keys while X is still there; X goes last. */
async function closeParts(parts: Partial<Parts>): Promise<void> {
  await parts.input?.close();
  await parts.apps?.close();
  await parts.link?.close();
  await parts.pulse?.close();
  await parts.xserver?.close();
}
