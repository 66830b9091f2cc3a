import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { waitForAppWindow } from '../../../server/src/desktop/app-window.js';
import { X11Client } from '../../../server/src/desktop/x11-client.js';
import type { App } from '../../../server/src/main.js';
import { api } from '../../helpers/api.js';
import { startApp } from '../../helpers/app.js';
import { startXvfb } from '../../helpers/xvfb.js';
import { onDisplay, waitFor } from '../../helpers/x11.js';

const desktopUid = Number(execFileSync('id', ['-u', 'neko'], { encoding: 'utf8' }).trim());

function uidOf(pid: number): number {
  return Number(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
}

/** Ids of the visible xterm windows (none: []). */
async function xterms(display: string): Promise<string[]> {
  const out = await onDisplay(display, 'xdotool', ['search', '--onlyvisible', '--class', 'xterm']).catch(() => '');
  return out.split('\n').filter(Boolean);
}

async function health(app: App): Promise<{ status: number; app: string }> {
  const res = await api(app.url).get('/health');
  return { status: res.status, app: res.body.components['desktop.app'] };
}

/** A top-level window of one colour, mapped; returns a function that paints a second colour into it. */
async function blankWindow(client: X11Client, netWmPid: number | null): Promise<{ wid: number; paint: () => Promise<void> }> {
  const raw = client.raw;
  const wid = raw.AllocID();
  raw.CreateWindow(wid, client.root, 0, 0, 400, 300, 0, 0, 0, 0, { backgroundPixel: 0x808080 });
  if (netWmPid !== null) {
    const atom = await client.internAtom('_NET_WM_PID');
    const CARDINAL = 6;
    raw.ChangeProperty(0, wid, atom, CARDINAL, 32, [netWmPid]);
  }
  raw.MapWindow(wid);
  await client.sync();
  return {
    wid,
    paint: async () => {
      const child = raw.AllocID();
      raw.CreateWindow(child, wid, 50, 50, 100, 100, 0, 0, 0, 0, { backgroundPixel: 0xff0000 });
      raw.MapWindow(child);
      await client.sync();
    },
  };
}

describe('the app window: /health waits for it', () => {
  test('an app is shown only once its window is mapped and painted, and not a foreign one', async () => {
    const xvfb = await startXvfb({ width: 640, height: 480 });
    const client = await X11Client.connect(xvfb.display);
    try {
      // A window another process claims is not the app's: the wait runs late.
      await blankWindow(client, 1);
      let late = false;
      const found = waitForAppWindow({ display: xvfb.display, pid: process.pid, timeoutMs: 300, onLate: () => (late = true) });
      await waitFor('the wait to run late', () => late);

      // Ours, mapped blank: found only after it is painted.
      const ours = await blankWindow(client, process.pid);
      let painted = false;
      const paint = setTimeout(() => void ours.paint().then(() => (painted = true)), 1500);
      try {
        assert.equal(await found, ours.wid);
        assert.ok(painted, 'the window was painted before it counted as shown');
      } finally {
        clearTimeout(paint);
      }

      // Aborting ends a wait that would find nothing.
      const controller = new AbortController();
      const none = waitForAppWindow({ display: xvfb.display, pid: 2, timeoutMs: 60_000, signal: controller.signal });
      controller.abort();
      assert.equal(await none, null);
    } finally {
      await client.close();
      await xvfb.close();
    }
  });

  test('xterm by configuration: run as the desktop user, its window there when the server is ready', async () => {
    const app = await startApp(['--desktop.app', 'xterm', '--desktop.window_manager', 'openbox', '--desktop.audio=false']);
    try {
      assert.deepEqual(await health(app), { status: 200, app: 'running' });
      const [id] = await xterms(app.desktop.display);
      assert.ok(id, 'xterm window visible');
      const pid = Number((await onDisplay(app.desktop.display, 'xdotool', ['getwindowpid', id])).trim());
      assert.equal(uidOf(pid), desktopUid);
    } finally {
      await app.close();
    }
  });

  test('/health is 503 (waiting) until the app window is back after a restart', async () => {
    // The window comes a second after each start of the app.
    const app = await startApp([
      '--desktop.app', "sh -c 'sleep 1; exec xterm'",
      '--desktop.window_manager', 'openbox',
      '--desktop.audio=false',
    ]);
    try {
      assert.deepEqual(await health(app), { status: 200, app: 'running' });
      const [id] = await xterms(app.desktop.display);
      assert.ok(id, 'the window is there as soon as the server is');

      const waiting = new Promise<void>((resolve) => {
        app.desktop.on('health', (h) => h['desktop.app'] === 'waiting' && resolve());
      });
      const pid = Number((await onDisplay(app.desktop.display, 'xdotool', ['getwindowpid', id!])).trim());
      process.kill(pid, 'SIGKILL');
      await waiting;
      assert.deepEqual(await health(app), { status: 503, app: 'waiting' });
      await waitFor('/health ready again', async () => (await health(app)).status === 200, 20_000);
      assert.equal((await xterms(app.desktop.display)).length, 1, 'ready again only with the window back');
    } finally {
      await app.close();
    }
  });

  test('an app slower than desktop.app_window_timeout: start goes on, /health says no_window until the window comes', async () => {
    const app = await startApp([
      '--desktop.app', "sh -c 'sleep 5; exec xterm'",
      '--desktop.app_window_timeout', '1s',
      '--desktop.audio=false',
    ]);
    try {
      assert.deepEqual(await health(app), { status: 503, app: 'no_window' });
      assert.deepEqual(await xterms(app.desktop.display), []);
      await waitFor('the window, late', async () => (await health(app)).status === 200, 20_000);
      assert.equal((await health(app)).app, 'running');
      assert.equal((await xterms(app.desktop.display)).length, 1);
    } finally {
      await app.close();
    }
  });
});
