/**
 * Tiny test helper: starts an Xvfb on a free display in its own process group and kills the
 * group on close(). Not the product's X server module.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

export interface XvfbHandle {
  /** e.g. `:123` */
  display: string;
  pid: number;
  close(): Promise<void>;
}

function displayFree(n: number): boolean {
  return !existsSync(`/tmp/.X11-unix/X${n}`) && !existsSync(`/tmp/.X${n}-lock`);
}

export async function startXvfb(opts: { width?: number; height?: number } = {}): Promise<XvfbHandle> {
  const size = `${opts.width ?? 1280}x${opts.height ?? 720}x24`;
  // Random start so parallel test files rarely race for the same number.
  const base = 200 + Math.floor(Math.random() * 400);
  for (let n = base; n < base + 50; n++) {
    if (!displayFree(n)) continue;
    const child = spawn('Xvfb', [`:${n}`, '-screen', '0', size, '-nolisten', 'tcp', '-noreset'], {
      detached: true,
      stdio: 'ignore',
    });
    let exited = false;
    const exit = new Promise<void>((resolve) => child.once('exit', () => ((exited = true), resolve())));
    child.once('error', () => undefined);
    const killGroup = (sig: NodeJS.Signals): void => {
      try {
        process.kill(-child.pid!, sig);
      } catch {
        // gone
      }
    };
    const deadline = Date.now() + 5000;
    while (!exited && Date.now() < deadline && !existsSync(`/tmp/.X11-unix/X${n}`)) await sleep(20);
    if (exited || child.pid === undefined) continue; // lost a race for this display
    if (!existsSync(`/tmp/.X11-unix/X${n}`)) {
      killGroup('SIGKILL');
      await exit;
      throw new Error('Xvfb did not come up');
    }
    let closing: Promise<void> | null = null;
    return {
      display: `:${n}`,
      pid: child.pid,
      close: () => {
        closing ??= (async () => {
          if (exited) return;
          killGroup('SIGTERM');
          const t = setTimeout(() => killGroup('SIGKILL'), 2000);
          await exit;
          clearTimeout(t);
        })();
        return closing;
      },
    };
  }
  throw new Error('no free X display found');
}
