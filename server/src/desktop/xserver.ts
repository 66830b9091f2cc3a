import { execFile, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Logger } from '../log.js';
import { SupervisedProcess, type ProcessState } from '../process/supervisor.js';
import { X11Client } from './x11-client.js';

const execFileP = promisify(execFile);

export type XServerKind = 'xvfb' | 'xorg';

export interface XServerOptions {
  kind: XServerKind;
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
    const logger = opts.logger;
    const workDir = mkdtempSync(join(tmpdir(), 'neko-x-'));
    let from = opts.firstDisplay ?? 99;
    try {
      for (let attempt = 0; attempt < DISPLAY_ATTEMPTS; attempt++) {
        const n = firstFreeDisplay(from);
        const proc = new SupervisedProcess({
          name: opts.kind,
          logger,
          ...command(opts, n, workDir),
          ready: async (child) => {
            await waitForServer(n, child, opts.startTimeoutMs ?? 15_000);
            await server.restoreSize();
          },
        });
        const server = new XServer(opts.kind, `:${n}`, proc, workDir, { width: opts.width, height: opts.height });
        try {
          await proc.start();
          return server;
        } catch (err) {
          const pid = proc.pid;
          await proc.close();
          if (!takenByOther(n, pid)) throw err;
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

function command(opts: XServerOptions, n: number, workDir: string): { command: string; args: string[] } {
  // -noreset: a server that resets when its last client leaves would drop our keyboard
  // remaps and make reconnecting clients race the reset.
  const common = [`:${n}`, '-nolisten', 'tcp', '-noreset'];
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

function lockPid(n: number): number | null {
  try {
    const pid = Number.parseInt(readFileSync(`/tmp/.X${n}-lock`, 'latin1').trim(), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * A display is free when no live process holds its lock and no socket exists without a
 * lock. A lock of a dead process is stale (a killed server): X servers replace those.
 */
function isFree(n: number): boolean {
  const pid = lockPid(n);
  if (pid !== null) return !alive(pid);
  return !existsSync(`/tmp/.X${n}-lock`) && !existsSync(`/tmp/.X11-unix/X${n}`);
}

function firstFreeDisplay(from: number): number {
  for (let n = from; n < from + 1000; n++) if (isFree(n)) return n;
  throw new Error(`no free X display number from :${from}`);
}

function takenByOther(n: number, ownPid: number | undefined): boolean {
  const pid = lockPid(n);
  return pid !== null && pid !== ownPid && alive(pid);
}

/**
 * Ready when our server holds the display's lock and answers an X connection; a concurrent
 * server that won the same number fails the check instead of being mistaken for ours.
 */
async function waitForServer(n: number, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  // Stop polling once the child is gone: the supervisor has already failed the start.
  while (child.exitCode === null && child.signalCode === null) {
    const pid = lockPid(n);
    if (pid !== null && pid !== child.pid && alive(pid)) throw new Error(`display :${n} is held by pid ${pid}`);
    if (pid === child.pid && existsSync(`/tmp/.X11-unix/X${n}`)) {
      try {
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
