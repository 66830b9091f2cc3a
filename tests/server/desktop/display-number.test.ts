/**
 * Display number selection: what marks a number taken (an abstract socket in this network
 * namespace, though no lock file says so) and what does not (the lock of a dead server).
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, describe, it } from 'node:test';
import { XServer } from '../../../server/src/desktop/xserver.js';
import { silentLogger } from '../../../server/src/log.js';

const logger = silentLogger();

/** A display number with no lock and no socket file, away from the ones other tests use. */
function unusedDisplay(): number {
  for (;;) {
    const n = 5000 + Math.floor(Math.random() * 3000);
    if (!existsSync(`/tmp/.X${n}-lock`) && !existsSync(`/tmp/.X11-unix/X${n}`)) return n;
  }
}

/** Whether the abstract socket `@name` is bound in this network namespace. */
function abstractBound(name: string): boolean {
  return readFileSync('/proc/net/unix', 'latin1').split('\n').some((line) => line.endsWith(` @${name}`));
}

async function until(what: string, probe: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/**
 * An Xvfb as another container with host networking runs it: a /tmp of its own (a private
 * mount namespace), so its lock and socket files are invisible here, and the abstract socket
 * in the network namespace shared with us.
 */
async function xvfbInOwnTmp(n: number): Promise<ChildProcess> {
  const child = spawn('unshare', ['-m', 'sh', '-c', `mount -t tmpfs tmpfs /tmp && exec Xvfb :${n} -nolisten tcp`], {
    stdio: 'ignore',
  });
  await until(`Xvfb :${n} in its own /tmp`, () => abstractBound(`/tmp/.X11-unix/X${n}`));
  return child;
}

/** A zombie's pid: a child of `sh` that exits after sh became `sleep`, which never reaps it. */
async function zombie(): Promise<{ pid: number; release(): void }> {
  const parent = spawn('sh', ['-c', 'sleep 0.2 & echo $!; exec sleep 600'], { stdio: ['ignore', 'pipe', 'ignore'] });
  const pid = await new Promise<number>((resolve) => parent.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString().trim()))));
  await until('a zombie', () => {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  });
  return { pid, release: () => parent.kill('SIGKILL') };
}

describe('X display numbers', () => {
  const cleanups: Array<() => unknown> = [];
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  it('skips a number whose abstract socket is bound in this network namespace', async () => {
    const n = unusedDisplay();
    const other = await xvfbInOwnTmp(n);
    cleanups.push(() => other.kill('SIGKILL'));
    assert.ok(!existsSync(`/tmp/.X${n}-lock`), 'no lock file of the other server is visible');
    const server = await XServer.start({ kind: 'xvfb', width: 320, height: 240, logger, firstDisplay: n });
    cleanups.push(() => server.close());
    assert.notEqual(server.display, `:${n}`);
    assert.equal(server.state, 'running');
  });

  it('takes the number of a killed server whose lock names a zombie', async () => {
    const n = unusedDisplay();
    const dead = await zombie();
    cleanups.push(() => dead.release());
    writeFileSync(`/tmp/.X${n}-lock`, `${String(dead.pid).padStart(10)}\n`);
    cleanups.push(() => rmSync(`/tmp/.X${n}-lock`, { force: true }));
    const server = await XServer.start({ kind: 'xvfb', width: 320, height: 240, logger, firstDisplay: n });
    cleanups.push(() => server.close());
    assert.equal(server.display, `:${n}`);
  });
});
