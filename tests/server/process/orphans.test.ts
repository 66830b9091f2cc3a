/**
 * A server killed with SIGKILL (no exit hook of ours runs) takes every child with it, and the
 * next start gets the same display number back.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, describe, it } from 'node:test';
import { login, Viewer } from '../../helpers/viewer.js';

const ROOT = new URL('../../../', import.meta.url).pathname;

interface Proc {
  pid: number;
  /** Start time in clock ticks: tells a pid from a later process that got the same number. */
  start: string;
  state: string;
  comm: string;
}

function readStat(pid: number): (Proc & { ppid: number }) | null {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return null;
  }
  const close = stat.lastIndexOf(')');
  const fields = stat.slice(close + 2).split(' ');
  // After the command: state(3) ppid(4) … starttime(22).
  return { pid, comm: stat.slice(stat.indexOf('(') + 1, close), state: fields[0]!, ppid: Number(fields[1]), start: fields[19]! };
}

/** Every process below `root`, from a walk of the /proc ppid tree. */
function descendants(root: number): Proc[] {
  const children = new Map<number, Array<Proc & { ppid: number }>>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const p = readStat(Number(entry));
    if (!p) continue;
    children.set(p.ppid, [...(children.get(p.ppid) ?? []), p]);
  }
  const out: Proc[] = [];
  const walk = (pid: number) => {
    for (const child of children.get(pid) ?? []) {
      out.push(child);
      walk(child.pid);
    }
  };
  walk(root);
  return out;
}

/** Still running: the same process (start time), and not a zombie (this machine's PID 1 never reaps). */
function running(p: Proc): boolean {
  const now = readStat(p.pid);
  return now !== null && now.start === p.start && now.state !== 'Z' && now.state !== 'X';
}

function cmdline(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0').filter(Boolean);
  } catch {
    return [];
  }
}

async function waitFor<T>(what: string, probe: () => T | null | undefined | false | Promise<T | null | undefined | false>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

interface Server {
  child: ChildProcess;
  url: string;
  exited: Promise<void>;
}

const started: Server[] = [];
const seen: Proc[] = [];

/** Starts `server/src/main.ts` as its own process and waits until /health reports it ready. */
async function startServer(flags: string[]): Promise<Server> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/src/main.ts', '--server.bind', '127.0.0.1:0', ...flags], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const server = { child, url: '', exited };
  started.push(server);
  let stderr = '';
  server.url = await new Promise<string>((resolve, reject) => {
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
      const match = /open (http:\/\/[\d.:]+)\//.exec(stderr);
      if (match) resolve(match[1]!);
    });
    child.once('exit', (code) => reject(new Error(`server exited (${code}): ${stderr}`)));
  });
  await waitFor('/health ok', async () => (await fetch(`${server.url}/health`)).status === 200, 30_000);
  return server;
}

function displayOf(server: Server): string {
  const xvfb = descendants(server.child.pid!).find((p) => p.comm === 'Xvfb');
  assert.ok(xvfb, 'Xvfb runs below the server');
  const display = cmdline(xvfb.pid).find((a) => /^:\d+$/.test(a));
  assert.ok(display, 'Xvfb has a display argument');
  return display;
}

describe('process: no orphans', () => {
  const dir = mkdtempSync(join(tmpdir(), 'neko-orphans-'));
  chmodSync(dir, 0o755);
  // The open-in-app command: stays running, like a browser would.
  const opener = join(dir, 'opener.sh');
  writeFileSync(opener, '#!/bin/sh\nexec sleep 86399\n', { mode: 0o755 });
  // Away from the numbers other tests and servers on this machine start from.
  const firstDisplay = 2000 + Math.floor(Math.random() * 3000);
  const flags = [
    '--desktop.server', 'xvfb',
    '--desktop.window_manager', 'openbox',
    '--desktop.app', 'xterm',
    '--desktop.first_display', String(firstDisplay),
    '--openinapp.enabled',
    '--openinapp.open_command', opener,
    '--session.implicit_hosting',
    '--webrtc.iceservers.frontend', '[{"urls":["stun:127.0.0.1:3478"]}]',
  ];
  const viewers: Viewer[] = [];

  after(async () => {
    viewers.forEach((v) => v.close());
    for (const s of started) s.child.kill('SIGKILL');
    await Promise.all(started.map((s) => s.exited));
    for (const p of seen) if (running(p)) process.kill(p.pid, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('kills every child within 2 s of a SIGKILL, and the next start reuses the display', async () => {
    const first = await startServer(flags);
    const display = displayOf(first);

    // Encoders, the microphone pipeline and an open-in-app command run only on demand.
    const viewer = await Viewer.connect(first.url, 'admin', 'admin');
    viewers.push(viewer);
    await viewer.waitForFrame();
    await viewer.addMicrophone();
    const { token } = await login(first.url, 'admin', 'admin');
    const opened = await fetch(`${first.url}/api/openinapp/openlink`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ text: 'http://example.invalid/' }),
    });
    assert.equal(opened.status, 200);

    const expected = ['Xvfb', 'pulseaudio', 'openbox', 'xterm', 'sleep'];
    const tree = await waitFor(
      'every kind of child running',
      () => {
        const procs = descendants(first.child.pid!);
        const encoders = procs.filter((p) => p.comm === 'gst-launch-1.0').length;
        // Video and audio encoders and the microphone pipeline.
        return encoders >= 3 && expected.every((name) => procs.some((p) => p.comm === name)) ? procs : null;
      },
      30_000,
    );
    seen.push(...tree);

    first.child.kill('SIGKILL');
    await first.exited;
    const killedAt = Date.now();
    viewer.close();
    const survivors = await waitFor(
      'children gone',
      () => {
        const left = tree.filter(running);
        return left.length === 0 || Date.now() - killedAt > 2000 ? left : null;
      },
      5000,
    );
    assert.deepEqual(
      survivors.map((p) => `${p.pid} ${p.comm}`),
      [],
      `children alive 2 s after the server was killed (of ${tree.map((p) => p.comm).join(', ')})`,
    );

    const second = await startServer(flags);
    seen.push(...descendants(second.child.pid!));
    assert.equal(displayOf(second), display, 'the display of the killed server is taken again');
    second.child.kill('SIGTERM');
    await second.exited;
  });
});
