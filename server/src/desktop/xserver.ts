import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Logger } from '../log.js';
import { execFile } from '../process/spawn.js';
import { SupervisedProcess, type ProcessState } from '../process/supervisor.js';
import { X11Client } from './x11-client.js';

const execFileP = promisify(execFile);

export type XServerKind = 'xvfb' | 'xorg';
/** `auto`: Xorg where it can run, else Xvfb (fixed size). */
export type XServerChoice = XServerKind | 'auto';

export interface XServerOptions {
  kind: XServerChoice;
  /** Initial screen size. Xvfb keeps it for life; Xorg can be resized with xrandr. */
  width: number;
  height: number;
  logger: Logger;
  /** Lowest display number to consider (default 99). */
  firstDisplay?: number;
  /** Xorg configuration; defaults to the repository's `xorg/xorg.conf`. */
  xorgConfig?: string;
  /** How long one start may take before it counts as failed (default 15 s). */
  startTimeoutMs?: number;
  /** Local users besides the server's own that may connect (the desktop programs' user). */
  users?: string[];
}

/** Size of the first mode in xorg/xorg.conf: what Xorg comes up with before we resize it. */
const XORG_START_SIZE = { width: 1280, height: 720 };
/** Display numbers tried after one turns out to be taken by a concurrent start. */
const DISPLAY_ATTEMPTS = 10;

/**
 * Runs a private X server (Xvfb, or Xorg with the dummy driver when the screen must be
 * resizable) on a free display number, supervised: it is restarted at the same display and
 * size when it dies.
 */
export class XServer {
  /** Last size set, re-applied when Xorg is restarted. */
  private size: { width: number; height: number };
  private closing: Promise<void> | null = null;

  private constructor(
    readonly kind: XServerKind,
    readonly display: string,
    private readonly proc: SupervisedProcess,
    private readonly workDir: string,
    size: { width: number; height: number },
  ) {
    this.size = size;
  }

  static async start(opts: XServerOptions): Promise<XServer> {
    if (opts.kind !== 'auto') return XServer.startKind({ ...opts, kind: opts.kind });
    // Xorg drives (dummy) video hardware, which takes root; Xvfb is the fallback that runs anywhere.
    if (process.getuid?.() !== 0) {
      opts.logger.warn('Xorg needs root: using Xvfb, whose screen size cannot change at runtime');
      return XServer.startKind({ ...opts, kind: 'xvfb' });
    }
    // The attempt is quiet: a failure is reported once, below, as the reason for the fallback.
    const attempt = opts.logger.child({});
    attempt.level = 'silent';
    try {
      const server = await XServer.startKind({ ...opts, kind: 'xorg', logger: attempt });
      attempt.level = opts.logger.level;
      return server;
    } catch (err) {
      const { stderr } = err as { stderr?: string };
      opts.logger.warn({ err, stderr }, 'Xorg did not start: using Xvfb, whose screen size cannot change at runtime');
      return XServer.startKind({ ...opts, kind: 'xvfb' });
    }
  }

  private static async startKind(opts: XServerOptions & { kind: XServerKind }): Promise<XServer> {
    const logger = opts.logger;
    const workDir = mkdtempSync(join(tmpdir(), 'neko-x-'));
    let from = opts.firstDisplay ?? 99;
    try {
      const access = accessControl(workDir, opts.users ?? []);
      for (let attempt = 0; attempt < DISPLAY_ATTEMPTS; attempt++) {
        const n = firstFreeDisplay(from);
        removeStaleLock(n);
        const proc = new SupervisedProcess({
          name: opts.kind,
          logger,
          ...command(opts, n, workDir, access?.cookieFile),
          ready: async (child) => {
            await waitForServer(n, child, opts.startTimeoutMs ?? 15_000, access);
            await server.restoreSize();
          },
        });
        const server = new XServer(opts.kind, `:${n}`, proc, workDir, { width: opts.width, height: opts.height });
        try {
          await proc.start();
          return server;
        } catch (err) {
          const pid = proc.pid;
          const stderr = proc.stderr.trim().slice(-1000);
          await proc.close();
          if (!takenByOther(n, pid)) throw Object.assign(err as Error, { stderr });
          logger.info({ display: n }, 'display number taken concurrently; trying the next one');
          from = n + 1;
        }
      }
      throw new Error(`no free X display found from :${opts.firstDisplay ?? 99}`);
    } catch (err) {
      rmSync(workDir, { recursive: true, force: true });
      throw err;
    }
  }

  get state(): ProcessState {
    return this.proc.state;
  }

  /**
   * `started`: up again after a restart (and accepting clients); `exited`: died, a restart
   * follows unless restarts are exhausted, which `failed` reports.
   */
  on(event: 'started' | 'exited' | 'failed', listener: () => void): this {
    this.proc.on(event, () => listener());
    return this;
  }

  /** Switches the screen size with xrandr; only Xorg (dummy driver) can. */
  async resize(width: number, height: number): Promise<void> {
    if (this.kind !== 'xorg') throw new Error(`${this.kind} cannot change its screen size`);
    await xrandrSetSize(this.display, width, height);
    this.size = { width, height };
  }

  close(): Promise<void> {
    this.closing ??= this.proc.close().finally(() => rmSync(this.workDir, { recursive: true, force: true }));
    return this.closing;
  }

  /** Brings a freshly (re)started Xorg from its first mode to the last size set. */
  private async restoreSize(): Promise<void> {
    if (this.kind !== 'xorg') return;
    if (this.size.width === XORG_START_SIZE.width && this.size.height === XORG_START_SIZE.height) return;
    await xrandrSetSize(this.display, this.size.width, this.size.height);
  }
}

/** `xrandr -s WxH`; rejects with xrandr's message when the size is not a known mode. */
export async function xrandrSetSize(display: string, width: number, height: number): Promise<void> {
  try {
    await execFileP('xrandr', ['-s', `${width}x${height}`], {
      env: { ...process.env, DISPLAY: display },
      timeout: 10_000,
    });
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr?.trim();
    throw new Error(`xrandr -s ${width}x${height} on ${display} failed${stderr ? `: ${stderr}` : ''}`);
  }
}

function command(
  opts: XServerOptions & { kind: XServerKind },
  n: number,
  workDir: string,
  cookieFile: string | undefined,
): { command: string; args: string[] } {
  // -noreset: a server that resets when its last client leaves would drop our keyboard
  // remaps and make reconnecting clients race the reset.
  const common = [`:${n}`, '-nolisten', 'tcp', '-noreset', ...(cookieFile ? ['-auth', cookieFile] : [])];
  if (opts.kind === 'xvfb') {
    return {
      command: 'Xvfb',
      // -s 0: no screen saver, which would otherwise blank the stream after 10 minutes.
      args: [
        ...common,
        '-screen',
        '0',
        `${opts.width}x${opts.height}x24`,
        '-s',
        '0',
        '+extension',
        'XTEST',
        '+extension',
        'RANDR',
      ],
    };
  }
  return {
    command: 'Xorg',
    args: [
      ...common,
      '-config',
      opts.xorgConfig ?? defaultXorgConfig(),
      // Keep off the machine's virtual terminals: there is no console to switch to, and
      // parallel servers would otherwise fight over one.
      '-novtswitch',
      '-sharevts',
      '-logfile',
      join(workDir, `Xorg.${n}.log`),
    ],
  };
}

/** `xorg/xorg.conf` at the repository root, found from this file (source or build tree). */
function defaultXorgConfig(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); dir !== dirname(dir); dir = dirname(dir)) {
    const candidate = join(dir, 'xorg', 'xorg.conf');
    if (existsSync(candidate)) return candidate;
  }
  throw new Error('xorg/xorg.conf not found; set the Xorg config path');
}

/**
 * Who may connect. Without `-auth` an X server lets in every local user of the host. With a
 * cookie file only holders of the cookie may, and the server's own user and the desktop user
 * are then let in by user id (`xhost +SI:localuser:…`), so neither our modules nor the apps
 * need the cookie. The cookie stays private to the server: it is only used to run xhost.
 */
interface AccessControl {
  cookieFile: string;
  users: string[];
}

function accessControl(workDir: string, users: string[]): AccessControl | null {
  let self: string;
  try {
    self = userInfo().username;
  } catch {
    // A uid without a passwd entry (some containers) has no name X could check against.
    return null;
  }
  const cookieFile = join(workDir, 'Xauthority');
  const field = (b: Buffer) => Buffer.concat([u16(b.length), b]);
  const none = Buffer.alloc(0);
  // One entry of family Wild, no address and no display number: it matches any display, so
  // the file stays valid whichever number the server ends up on.
  const entry = [u16(0xffff), field(none), field(none), field(Buffer.from('MIT-MAGIC-COOKIE-1')), field(randomBytes(16))];
  writeFileSync(cookieFile, Buffer.concat(entry), { mode: 0o600 });
  return { cookieFile, users: [...new Set([self, ...users])] };
}

function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}

/** Lets the allowed users in; fails while the server does not accept connections yet. */
async function allowUsers(n: number, access: AccessControl): Promise<void> {
  await execFileP('xhost', access.users.map((u) => `+SI:localuser:${u}`), {
    env: { ...process.env, DISPLAY: `:${n}`, XAUTHORITY: access.cookieFile },
    timeout: 5000,
  });
}

function lockPid(n: number): number | null {
  try {
    const pid = Number.parseInt(readFileSync(`/tmp/.X${n}-lock`, 'latin1').trim(), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

/**
 * Whether `pid` is a running process. A zombie is not: a killed X server nobody reaped (where
 * PID 1 does not reap orphans) keeps its pid but holds neither its display nor its sockets.
 */
function running(pid: number): boolean {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    try {
      process.kill(pid, 0);
      return true;
    } catch (killErr) {
      return (killErr as NodeJS.ErrnoException).code === 'EPERM';
    }
  }
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  return state !== 'Z' && state !== 'X';
}

/**
 * Display numbers whose abstract socket (`@/tmp/.X11-unix/X<n>`) is bound in this network
 * namespace. X servers listen there as well as on the file in /tmp, and the abstract name
 * is shared by everything in the namespace, also by containers that each have their own /tmp
 * and so see no lock file of the other's server.
 */
function abstractDisplays(): Set<number> {
  const taken = new Set<number>();
  let table: string;
  try {
    table = readFileSync('/proc/net/unix', 'latin1');
  } catch {
    return taken;
  }
  for (const match of table.matchAll(/ @\/tmp\/\.X11-unix\/X(\d+)$/gm)) taken.add(Number(match[1]));
  return taken;
}

/**
 * A display is free when no running process holds its lock, no socket exists without a lock
 * and its abstract socket is unbound. A lock of a dead process is stale (a killed server).
 */
function isFree(n: number, abstract: Set<number>): boolean {
  if (abstract.has(n)) return false;
  const pid = lockPid(n);
  if (pid !== null) return !running(pid);
  return !existsSync(`/tmp/.X${n}-lock`) && !existsSync(`/tmp/.X11-unix/X${n}`);
}

function firstFreeDisplay(from: number): number {
  const abstract = abstractDisplays();
  for (let n = from; n < from + 1000; n++) if (isFree(n, abstract)) return n;
  throw new Error(`no free X display number from :${from}`);
}

/**
 * X servers remove a stale lock only when its pid is gone, and take a zombie's pid for a
 * live server: the lock of a killed server that was never reaped would make the display
 * unusable. Re-read right before removing, so a lock just taken by another server stays.
 */
function removeStaleLock(n: number): void {
  const path = `/tmp/.X${n}-lock`;
  const pid = lockPid(n);
  if (pid === null || running(pid) || lockPid(n) !== pid) return;
  try {
    unlinkSync(path);
  } catch {
    // gone already, or not ours to remove: the X server will say
  }
}

function takenByOther(n: number, ownPid: number | undefined): boolean {
  const pid = lockPid(n);
  return (pid !== null && pid !== ownPid && running(pid)) || abstractDisplays().has(n);
}

/**
 * Ready when our server holds the display's lock, has let the allowed users in and answers
 * an X connection; a concurrent server that won the same number fails the check instead of
 * being mistaken for ours.
 */
async function waitForServer(n: number, child: ChildProcess, timeoutMs: number, access: AccessControl | null): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  // Stop polling once the child is gone: the supervisor has already failed the start.
  while (child.exitCode === null && child.signalCode === null) {
    const pid = lockPid(n);
    if (pid !== null && pid !== child.pid && running(pid)) throw new Error(`display :${n} is held by pid ${pid}`);
    if (pid === child.pid && existsSync(`/tmp/.X11-unix/X${n}`)) {
      try {
        if (access) await allowUsers(n, access);
        const probe = await X11Client.connect(`:${n}`, { timeoutMs: Math.max(deadline - Date.now(), 100) });
        await probe.close();
        return;
      } catch {
        // not accepting yet
      }
    }
    if (Date.now() > deadline) throw new Error(`X server :${n} not ready after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`X server :${n} exited while starting`);
}
