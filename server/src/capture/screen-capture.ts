/**
 * The shared screen capture: one supervised `gst-launch-1.0` grabs the X screen, converts it
 * to I420 and hands every frame to the encoders through shared memory (pipelines.ts
 * `screenCapturePipeline`), so N qualities cost one capture and one conversion, not N.
 *
 * - Reference counted: it runs while at least one encoder holds it (`acquire`/`release`).
 * - `ready()` resolves once the capture's control socket exists: encoders spawned before
 *   that would fail at once and burn their restart budget.
 * - When the process goes away (crash, or `restart()` for a new screen mode) `lost` is
 *   emitted: its encoders died with it and must be restarted; they wait in `acquire()` until
 *   the new process is ready.
 * - The grabber is server/native's nekodamagesrc when it is built (build/gst) and the screen's
 *   damage is watched: it grabs when the screen changes, at most at the frame rate, and a
 *   change that follows a key or button press at once; a still screen costs nothing. A new
 *   encoder or viewer needs a picture of a still screen: frames are asked for through a root
 *   window property (DamageWatcher.requestFrame) until one arrives. With `idleAfterMs` 0 it
 *   grabs every frame period. Otherwise ximagesrc grabs every frame period, and:
 * - Idle screens cost nothing: after `idleAfterMs` without X damage the process is stopped
 *   (SIGSTOP), which leaves its encoders blocked in `shmsrc`; the next damage, new encoder or
 *   new viewer continues it (SIGCONT). ximagesrc is then behind its clock and grabs a frame at
 *   once. A stopped process acts on no signal but SIGKILL, so it is continued before anything
 *   else is sent to it.
 * - ximagesrc (1.22) holds a server grab (XGrabServer) around every frame it grabs. Stopped
 *   inside it, it would freeze every X client, and with them the damage that would continue
 *   it (measured at 1080p: one pause in ten to twenty when stopped at a random time). So the
 *   stop is sent when an encoder has just finished a frame (`frameEncoded`): the capture is
 *   then waiting for its next frame time, holding nothing. The pause still only stands once
 *   the X server answers a round trip on another connection, and is checked while it lasts.
 * - A short idle time pays: a paused capture grabs at the very damage that continues it, while
 *   a running one makes that change wait for its next frame time (half a frame on average).
 *   Typing on a still page is served by the first; only continuous motion by the second.
 * - A hung encoder (one that stops taking frames) would fill the shared memory and block the
 *   capture, and with it every other quality. While ximagesrc runs, some encoder finishes a
 *   frame every frame period; nekodamagesrc answers every frame asked for. After `STALL_MS`
 *   without that frame the capture is restarted, and with it its encoders.
 * - Everything lives in a private 0700 directory, removed on close; shared memory segments a
 *   killed capture could not unlink are removed after it.
 */
import { execFile } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { mkdtempSync, readdirSync, rmSync, statfsSync, statSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../log.js';
import { SupervisedProcess } from '../process/supervisor.js';
import { i420FrameBytes, screenCapturePipeline, splitLaunchArgs, type ScreenSize } from './pipelines.js';

/** What tells the capture that the screen changed (desktop/damage.ts). */
export interface DamageSource {
  /** False while changes may go unreported: the capture then never pauses. */
  readonly watching: boolean;
  /** Whether the X server answers a round trip in time (no other client holds a grab). */
  responsive(timeoutMs: number): Promise<boolean>;
  on(event: 'damage', listener: () => void): unknown;
  off(event: 'damage', listener: () => void): unknown;
  /** Asks nekodamagesrc for a grab; false when it cannot be asked now. */
  requestFrame?(): boolean;
  /** Reports at most once per `ms` (null: as configured). */
  setReportInterval?(ms: number | null): void;
}

export type ScreenCaptureState = 'idle' | 'starting' | 'running' | 'restarting' | 'failed';

export interface ScreenCaptureOptions {
  /** X display, e.g. `:99`. */
  display: string;
  /** The screen mode at every (re)start. */
  screen: () => ScreenSize;
  env?: NodeJS.ProcessEnv;
  logger: Logger;
  /** Quiet time before the capture pauses (0: never pause). */
  idleAfterMs: number;
  /** Screen changes; without it the capture never pauses. */
  damage?: DamageSource | null;
  /** Where the shared memory lives (default /dev/shm), to size it to what is free. */
  shmDir?: string;
  /** `ximagesrc` even when nekodamagesrc is available (default `auto`). */
  grabber?: 'auto' | 'ximagesrc';
}

/** Frames of shared memory: what the encoders' queues and encoders hold, plus room to write. */
const SHM_FRAMES = 8;
/** Fewer and the capture stalls waiting for its encoders to hand frames back. */
const SHM_MIN_FRAMES = 3;
const SOCKET_WAIT_MS = 5000;
/** A running capture whose encoders finish no frame for this long is stuck (see above). */
const STALL_MS = 5000;
const STALL_CHECK_MS = 1000;
/** Frames are asked for this often until one arrives (nekodamagesrc). */
const REQUEST_EVERY_MS = 100;
/** A change reported without a frame after it this long is answered by asking for one. */
const DAMAGE_ANSWER_MS = 1000;
/** How often changes are reported here while nekodamagesrc (which sees them itself) runs. */
const DAMAGE_GRABBER_REPORT_MS = 250;
/** server/native's plugin, built by scripts/build-native.sh. */
const NATIVE_PLUGINS = fileURLToPath(new URL('../../../build/gst', import.meta.url));
/** A pause waits this long at most for an encoder to finish a frame (`frameEncoded`). */
const FRAME_WAIT_MS = 250;
/** Time for the X server to act on whatever the capture sent before it was stopped. */
const PAUSE_SETTLE_MS = 20;
/** An idle X server answers in well under a millisecond; a grabbed one never does. */
const PROBE_TIMEOUT_MS = 200;
/** Retry after a pause that had to be undone. */
const PAUSE_RETRY_MS = 100;
/** How often a lasting pause checks that the X server still answers. */
const WATCHDOG_MS = 1000;
const SOCKET_POLL_MS = 10;
const GST_LAUNCH = 'gst-launch-1.0';

/** shmsink names its segments `shmpipe.<pid, %5d>.<n, %5d>` (gst shmpipe.c). */
const SHM_SEGMENT = /^shmpipe\.\s*(\d+)\.\s*\d+$/;

/**
 * Removes the shared memory segments of `pids`, capture processes that are gone: shmsink
 * unlinks its segments only when its pipeline shuts down, which a killed gst-launch (SIGTERM
 * included) never does.
 */
export function removeShmSegments(pids: ReadonlySet<number>, dir = '/dev/shm'): void {
  if (pids.size === 0) return;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    const m = SHM_SEGMENT.exec(name);
    if (m && pids.has(Number(m[1]))) rmSync(join(dir, name), { force: true });
  }
}

let shmAvailable: Promise<boolean> | null = null;

/** Whether shmsink and shmsrc are installed (gstreamer1.0-plugins-bad); asked once. */
export function sharedCaptureAvailable(env: NodeJS.ProcessEnv = process.env): Promise<boolean> {
  shmAvailable ??= Promise.all(
    ['shmsink', 'shmsrc'].map(
      (name) => new Promise<boolean>((resolve) => execFile('gst-inspect-1.0', ['--exists', name], { env }, (err) => resolve(!err))),
    ),
  ).then((found) => found.every(Boolean));
  return shmAvailable;
}

let damageGrabberAvailable: Promise<boolean> | null = null;

/** GST_PLUGIN_PATH with server/native's plugins first. */
export function withNativePlugins(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return { ...env, GST_PLUGIN_PATH: [NATIVE_PLUGINS, env.GST_PLUGIN_PATH].filter(Boolean).join(':') };
}

/** Whether server/native's nekodamagesrc is built and loads; asked once. */
export function damageSourceAvailable(env: NodeJS.ProcessEnv = process.env): Promise<boolean> {
  damageGrabberAvailable ??= new Promise<boolean>((resolve) =>
    execFile('gst-inspect-1.0', ['--exists', 'nekodamagesrc'], { env: withNativePlugins(env) }, (err) => resolve(!err)),
  );
  return damageGrabberAvailable;
}

interface Deferred {
  promise: Promise<void>;
  resolve(): void;
  reject(err: Error): void;
  settled: boolean;
}

function deferred(): Deferred {
  const d = { settled: false } as Deferred;
  d.promise = new Promise<void>((resolve, reject) => {
    d.resolve = () => {
      d.settled = true;
      resolve();
    };
    d.reject = (err) => {
      d.settled = true;
      reject(err);
    };
  });
  // Nobody may be waiting when it fails.
  d.promise.catch(() => {});
  return d;
}

/** Captures not closed yet: what they left is removed by the exit hook when close() never ran. */
const live = new Set<ScreenCapture>();
process.once('exit', () => {
  for (const capture of live) capture.removeLeftovers();
});

export class ScreenCapture extends EventEmitter<{ lost: [] }> {
  /** The control socket encoders connect to. */
  readonly socket: string;

  private readonly log: Logger;
  private readonly dir: string;
  private readonly users = new Set<string>();
  private proc: SupervisedProcess | null = null;
  private pid: number | null = null;
  private _state: ScreenCaptureState = 'idle';
  private ready = deferred();
  /** A restart is queued: the process now starting is not the one encoders should wait for. */
  private stale = false;
  private queue: Promise<void> = Promise.resolve();
  private closing: Promise<void> | null = null;
  /** Segments of capture processes that are gone, to remove. */
  private readonly deadPids = new Set<number>();

  private _paused = false;
  /** Idle long enough: the pause is sent with the next finished frame. */
  private pauseWanted = false;
  private lastActivity = 0;
  /** Last finished frame, or the last resume if later: what the stall check measures. */
  private lastProgress = 0;
  /** The current process delivered a frame: a first start may be slow (plugin registry scan). */
  private deliveredSinceStart = false;
  private stallCheck: NodeJS.Timeout | null = null;
  private idleTimer: NodeJS.Timeout | null = null;
  private watchdog: NodeJS.Timeout | null = null;
  private _grabber: 'damage' | 'ximagesrc' | null = null;
  /** Encoders that have not finished a frame since they acquired the capture. */
  private readonly firstFrameDue = new Set<string>();
  /** Since when frames are being asked for (nekodamagesrc), or null. */
  private requestingSince: number | null = null;
  private requestTimer: NodeJS.Timeout | null = null;
  /** The first change reported since the last finished frame (0: none since). */
  private unansweredDamageSince = 0;
  private readonly onDamage = () => {
    const now = performance.now();
    if (this.unansweredDamageSince <= this.lastProgress) this.unansweredDamageSince = now;
    this.activity('damage');
  };

  constructor(private readonly opts: ScreenCaptureOptions) {
    super();
    this.log = opts.logger.child({ module: 'capture', stream: 'screen' });
    this.dir = mkdtempSync(join(tmpdir(), 'neko-capture-'));
    live.add(this);
    this.socket = join(this.dir, 'screen');
    opts.damage?.on('damage', this.onDamage);
  }

  get state(): ScreenCaptureState {
    return this._state;
  }

  /** True while the process is stopped for an idle screen. */
  get paused(): boolean {
    return this._paused;
  }

  /** What grabs the screen in the current process: server/native's source or ximagesrc. */
  get grabber(): 'damage' | 'ximagesrc' | null {
    return this._grabber;
  }

  /** The capture process, while one runs. */
  get processId(): number | null {
    return this.pid;
  }

  /** Holds the capture for `user` (idempotent); resolves once it runs. */
  acquire(user: string): Promise<void> {
    if (this.closing) return Promise.reject(new Error('screen capture closed'));
    this.users.add(user);
    this.firstFrameWanted(user);
    if (!this.proc || this.proc.state === 'failed') {
      if (this.ready.settled) this.ready = deferred();
      void this.enqueue(() => this.start());
    }
    return this.ready.promise;
  }

  /** `user` no longer needs the capture (idempotent); it stops with its last user. */
  release(user: string): void {
    this.firstFrameDue.delete(user);
    if (!this.users.delete(user) || this.users.size > 0 || this.closing) return;
    void this.enqueue(async () => {
      if (this.users.size > 0 || !this.proc) return;
      this.log.info('no encoder left; stopping screen capture');
      await this.stop();
      this.setState('idle');
    });
  }

  /** `user`'s encoder (re)starts and needs a first frame, even of a still screen. */
  firstFrameWanted(user: string): void {
    if (!this.users.has(user)) return;
    this.firstFrameDue.add(user);
    this.activity('encoder');
    this.requestFrames();
  }

  /** Someone needs frames now (a viewer joined): runs the capture for at least idleAfterMs. */
  wake(): void {
    this.activity('viewer');
    this.requestFrames();
  }

  /** `user`'s encoder sent the end of a frame: the capture is between grabs. */
  frameEncoded(user: string): void {
    this.lastProgress = performance.now();
    this.deliveredSinceStart = true;
    this.firstFrameDue.delete(user);
    if (this.firstFrameDue.size === 0) this.stopRequests();
    if (!this.pauseWanted) return;
    this.pauseWanted = false;
    void this.pauseNow();
  }

  /**
   * Starts a new capture process (e.g. at a new screen mode). `lost` is emitted at once, so
   * encoders restarted from it wait for the new process.
   */
  restart(): Promise<void> {
    if (!this.proc || this.closing) return Promise.resolve();
    this.stale = true;
    if (this.ready.settled) this.ready = deferred();
    this.emit('lost');
    return this.enqueue(async () => {
      this.stale = false;
      if (!this.proc) return;
      await this.stop();
      this.setState('restarting');
      if (this.users.size > 0) await this.start();
      else this.setState('idle');
    });
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.opts.damage?.off('damage', this.onDamage);
      this.users.clear();
      if (!this.ready.settled) this.ready.reject(new Error('screen capture closed'));
      await this.enqueue(() => this.stop());
      this.setState('idle');
      this.removeLeftovers();
      live.delete(this);
    })();
    return this.closing;
  }

  /** Removes the directory and the shared memory of the current process (it is gone or going). */
  removeLeftovers(): void {
    if (this.pid !== null) this.deadPids.add(this.pid);
    this.removeSegments();
    rmSync(this.dir, { recursive: true, force: true });
  }

  // ---------------------------------------------------------------------------------------

  private enqueue(fn: () => Promise<void>): Promise<void> {
    const run = this.queue.then(fn);
    this.queue = run.catch((err: unknown) => this.log.error({ err }, 'screen capture operation failed'));
    return run;
  }

  private setState(s: ScreenCaptureState): void {
    if (s === this._state) return;
    this._state = s;
    this.log.debug({ state: s }, 'screen capture state');
  }

  /** Shared memory for SHM_FRAMES frames, or what /dev/shm has room for (Docker: 64 MB). */
  private shmSize(screen: ScreenSize): number {
    const frame = i420FrameBytes(screen.width, screen.height);
    let size = frame * SHM_FRAMES;
    try {
      const fs = statfsSync(this.opts.shmDir ?? '/dev/shm');
      const free = Math.floor(fs.bavail * fs.bsize * 0.75);
      if (free < size) {
        size = Math.max(free, frame * SHM_MIN_FRAMES);
        this.log.warn({ free: fs.bavail * fs.bsize, frames: Math.floor(size / frame) }, 'little shared memory free (/dev/shm): the shared capture may stall; give the container more (shm_size)');
      }
    } catch {
      // no /dev/shm to ask: keep the default
    }
    return size;
  }

  private async start(): Promise<void> {
    if (this.closing || this.users.size === 0) return;
    if (this.proc) {
      if (this.proc.state !== 'failed') return;
      await this.stop();
    }
    if (this.ready.settled) this.ready = deferred();
    const screen = this.opts.screen();
    const base = this.opts.env ?? process.env;
    const grabber = (await this.damageGrabberUsable(base)) ? 'damage' : 'ximagesrc';
    if (this.closing || this.users.size === 0) return;
    // ximagesrc is resumed on a report, so it needs them all.
    this.opts.damage?.setReportInterval?.(grabber === 'damage' ? DAMAGE_GRABBER_REPORT_MS : null);
    const desc = screenCapturePipeline({
      display: this.opts.display,
      screen,
      socket: this.socket,
      shmSize: this.shmSize(screen),
      grabber,
      always: this.opts.idleAfterMs <= 0,
    });
    this.unlinkSocket();
    const proc = new SupervisedProcess({
      name: 'gst-video-screen',
      command: GST_LAUNCH,
      args: splitLaunchArgs(desc),
      env: { ...(grabber === 'damage' ? withNativePlugins(base) : base), DISPLAY: this.opts.display },
      logger: this.log,
      ready: () => this.socketCreated(),
    });
    proc.on('started', (pid) => {
      if (this.proc !== proc) return;
      this.pid = pid;
      this._paused = false;
      this.setState('running');
      this.activity('start');
      this.watchForStalls(proc);
      // Its first grab went nowhere: no encoder was connected yet.
      this.requestFrames();
      if (!this.stale) this.ready.resolve();
    });
    proc.on('exited', () => {
      if (this.proc !== proc) return;
      // Before the supervisor's restart: the new process must not find the old socket (it
      // would listen on `screen.0` instead) nor leave the old segments behind.
      this.processGone();
      this.setState('restarting');
      if (this.ready.settled) this.ready = deferred();
      this.log.warn('screen capture exited; restarting it and its encoders');
      this.emit('lost');
    });
    proc.on('failed', (reason) => {
      if (this.proc !== proc) return;
      this.setState('failed');
      this.ready.reject(new Error(`screen capture failed: ${reason}`));
    });
    this.proc = proc;
    this._grabber = grabber;
    this.setState('starting');
    this.log.info({ pipeline: desc }, 'starting screen capture');
    try {
      await proc.start();
    } catch (err) {
      if (this.proc !== proc) return;
      this.processGone();
      this.setState('failed');
      this.ready.reject(err instanceof Error ? err : new Error(String(err)));
    }
  }

  private async stop(): Promise<void> {
    const proc = this.proc;
    this.proc = null;
    this.clearIdleTimer();
    if (!proc) return;
    // A stopped process would only act on SIGTERM once continued.
    if (this._paused) proc.kill('SIGCONT');
    this._paused = false;
    await proc.close();
    this.processGone();
  }

  /** The process is gone: forget it and remove what it could not. */
  private processGone(): void {
    this.stopRequests();
    this.clearIdleTimer();
    if (this.stallCheck) clearInterval(this.stallCheck);
    this.stallCheck = null;
    this._paused = false;
    if (this.pid !== null) this.deadPids.add(this.pid);
    this.pid = null;
    this.unlinkSocket();
    this.removeSegments();
  }

  private unlinkSocket(): void {
    try {
      unlinkSync(this.socket);
    } catch {
      // not there
    }
  }

  private removeSegments(): void {
    removeShmSegments(this.deadPids, this.opts.shmDir);
    this.deadPids.clear();
  }

  /** Resolves once shmsink listens (it creates the socket while going to PAUSED). */
  private async socketCreated(): Promise<void> {
    const deadline = performance.now() + SOCKET_WAIT_MS;
    for (;;) {
      try {
        if (statSync(this.socket).isSocket()) return;
      } catch {
        // not yet
      }
      if (performance.now() > deadline) throw new Error(`screen capture: no socket after ${SOCKET_WAIT_MS} ms`);
      await sleep(SOCKET_POLL_MS);
    }
  }

  // --- pausing on an idle screen ----------------------------------------------------------

  private activity(reason: string): void {
    this.lastActivity = performance.now();
    this.pauseWanted = false;
    if (this._paused) this.resume(reason);
    this.armIdleTimer();
  }

  private resume(reason: string): void {
    this.clearWatchdog();
    if (!this._paused) return;
    this._paused = false;
    this.lastProgress = performance.now();
    if (this.proc && this.pid !== null) this.proc.kill('SIGCONT');
    this.log.debug({ reason }, 'screen capture resumed');
  }

  private armIdleTimer(delayMs?: number): void {
    if (this.opts.idleAfterMs <= 0 || this.idleTimer || this._state !== 'running') return;
    const wait = delayMs ?? Math.max(0, this.lastActivity + this.opts.idleAfterMs - performance.now());
    this.idleTimer = setTimeout(() => {
      this.idleTimer = null;
      this.pauseIfIdle();
    }, wait);
    this.idleTimer.unref?.();
  }

  private clearIdleTimer(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
    this.pauseWanted = false;
    this.clearWatchdog();
  }

  private clearWatchdog(): void {
    if (this.watchdog) clearInterval(this.watchdog);
    this.watchdog = null;
  }

  private pausable(): SupervisedProcess | null {
    const proc = this.proc;
    // nekodamagesrc grabs nothing on a still screen by itself.
    if (this._grabber !== 'ximagesrc') return null;
    if (this._paused || !proc || proc.state !== 'running' || this._state !== 'running' || this.closing) return null;
    return this.opts.damage?.watching ? proc : null;
  }

  private pauseIfIdle(): void {
    if (!this.pausable()) return;
    if (performance.now() - this.lastActivity < this.opts.idleAfterMs) {
      this.armIdleTimer();
      return;
    }
    this.pauseWanted = true;
    // No frame in time (an encoder stalled): pause anyway; the round trip below catches a grab.
    this.idleTimer = setTimeout(() => {
      this.idleTimer = null;
      if (!this.pauseWanted) return;
      this.pauseWanted = false;
      void this.pauseNow();
    }, FRAME_WAIT_MS);
    this.idleTimer.unref?.();
  }

  private async pauseNow(): Promise<void> {
    const proc = this.pausable();
    const damage = this.opts.damage;
    if (!proc || !damage || performance.now() - this.lastActivity < this.opts.idleAfterMs) return;
    this.clearIdleTimer();
    proc.kill('SIGSTOP');
    this._paused = true;
    await sleep(PAUSE_SETTLE_MS);
    if (!this._paused || this.proc !== proc) return;
    if (!(await damage.responsive(PROBE_TIMEOUT_MS))) {
      // Stopped while holding its grab: continue it and try again in a moment.
      if (this._paused && this.proc === proc) this.resume('x server grabbed');
      this.log.debug('screen capture stopped inside its grab; resumed');
      this.armIdleTimer(PAUSE_RETRY_MS);
      return;
    }
    if (!this._paused || this.proc !== proc) return;
    this.log.debug('screen idle; screen capture paused');
    this.watchdog = setInterval(() => void this.checkPaused(proc), WATCHDOG_MS);
    this.watchdog.unref?.();
  }

  /** nekodamagesrc: asks for a grab now and every REQUEST_EVERY_MS until a frame arrives. */
  private requestFrames(): void {
    if (this._grabber !== 'damage' || !this.proc || this.closing) return;
    this.requestingSince ??= performance.now();
    this.opts.damage?.requestFrame?.();
    if (this.requestTimer) return;
    this.requestTimer = setInterval(() => {
      // Frames flow, just not from an encoder that never starts: its own supervisor's concern.
      if (this.requestingSince !== null && this.lastProgress > this.requestingSince && performance.now() - this.requestingSince > STALL_MS) {
        this.stopRequests();
        return;
      }
      this.opts.damage?.requestFrame?.();
    }, REQUEST_EVERY_MS);
    this.requestTimer.unref?.();
  }

  private stopRequests(): void {
    if (this.requestTimer) clearInterval(this.requestTimer);
    this.requestTimer = null;
    this.requestingSince = null;
  }

  /** Whether the capture grabs every frame period (else only when the screen changes). */
  private get clockDriven(): boolean {
    return this._grabber !== 'damage' || this.opts.idleAfterMs <= 0;
  }

  private async damageGrabberUsable(env: NodeJS.ProcessEnv): Promise<boolean> {
    if (this.opts.grabber === 'ximagesrc') return false;
    const damage = this.opts.damage;
    if (!damage?.watching || !damage.requestFrame) return false;
    return damageSourceAvailable(env);
  }

  private watchForStalls(proc: SupervisedProcess): void {
    if (this.stallCheck) clearInterval(this.stallCheck);
    this.deliveredSinceStart = false;
    this.stallCheck = setInterval(() => {
      if (this.proc !== proc || this._paused || this._state !== 'running' || this.closing || this.stale || !this.deliveredSinceStart) return;
      const now = performance.now();
      if (!this.clockDriven) {
        // A still screen sends nothing: only a frame asked for and not sent tells a stall. On a
        // screen that keeps changing, the oldest change without a frame since is what counts.
        const unanswered = this.unansweredDamageSince > this.lastProgress;
        if (this.requestingSince === null && unanswered && now - this.unansweredDamageSince > DAMAGE_ANSWER_MS) this.requestFrames();
        if (this.requestingSince === null || now - Math.max(this.requestingSince, this.lastProgress) < STALL_MS) return;
      } else if (now - this.lastProgress < STALL_MS) {
        return;
      }
      this.log.warn({ ms: Math.round(now - this.lastProgress) }, 'screen capture stalled: no encoder finished a frame; restarting it and its encoders');
      this.lastProgress = now;
      this.stopRequests();
      void this.restart();
    }, STALL_CHECK_MS);
    this.stallCheck.unref?.();
  }

  /** A pause that froze the X server after all (a grab that landed late) is undone. */
  private async checkPaused(proc: SupervisedProcess): Promise<void> {
    if (!this._paused || this.proc !== proc) return;
    if (await this.opts.damage?.responsive(PROBE_TIMEOUT_MS)) return;
    if (!this._paused || this.proc !== proc) return;
    this.log.warn('X server held by the paused screen capture; resuming it');
    this.lastActivity = performance.now();
    this.resume('x server grabbed');
    this.armIdleTimer();
  }
}
