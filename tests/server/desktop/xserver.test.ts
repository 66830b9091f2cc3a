import assert from 'node:assert/strict';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { Desktop } from '../../../server/src/desktop/desktop.js';
import { X11Client } from '../../../server/src/desktop/x11-client.js';
import { XServer } from '../../../server/src/desktop/xserver.js';
import { silentLogger } from '../../../server/src/log.js';
import { lockPid, onDisplay, pgrep, pgrepOnDisplay, waitFor } from '../../helpers/x11.js';

const logger = silentLogger();
const screen = { width: 1024, height: 768, rate: 30 };

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('X server', () => {
  /** Every X server pid seen; none may survive the tests. */
  const serverPids = new Set<number>();
  const track = (display: string): number => {
    const pid = lockPid(display);
    serverPids.add(pid);
    return pid;
  };

  after(() => {
    for (const pid of serverPids) assert.ok(!alive(pid), `X server ${pid} left over`);
  });

  it('skips taken display numbers and gives concurrent starts distinct ones', async () => {
    const first = 300 + Math.floor(Math.random() * 500);
    // A live process holds `first`: it must be skipped.
    writeFileSync(`/tmp/.X${first}-lock`, `${String(process.pid).padStart(10)}\n`);
    try {
      const servers = await Promise.all(
        [0, 1, 2].map(() => XServer.start({ kind: 'xvfb', width: 640, height: 480, logger, firstDisplay: first })),
      );
      try {
        const names = servers.map((s) => s.display);
        names.forEach((d) => track(d));
        assert.equal(new Set(names).size, 3, `displays ${names}`);
        assert.ok(!names.includes(`:${first}`));
        for (const s of servers) {
          assert.equal(s.state, 'running');
          assert.equal(lockPid(s.display) > 0, true);
        }
      } finally {
        await Promise.all(servers.map((s) => s.close()));
      }
      for (const s of servers) {
        const n = s.display.slice(1);
        assert.ok(!existsSync(`/tmp/.X${n}-lock`), `lock of ${s.display} removed`);
      }
    } finally {
      rmSync(`/tmp/.X${first}-lock`, { force: true });
    }
  });

  it('rejects a start that cannot succeed and leaves nothing running', async () => {
    await assert.rejects(
      XServer.start({
        kind: 'xorg',
        width: 640,
        height: 480,
        logger,
        xorgConfig: '/nonexistent/xorg.conf',
        startTimeoutMs: 5000,
      }),
    );
    assert.deepEqual(await pgrep('Xorg .*-config /nonexistent/xorg.conf'), []);
  });

  it('restarts a killed X server; input and health follow', async () => {
    const desktop = await Desktop.start({ screen, server: 'xvfb', windowManager: '', app: '', audio: false, logger });
    track(desktop.display);
    try {
      const states: string[] = [];
      desktop.on('health', (h) => states.push(h['desktop.xserver']));
      const before = lockPid(desktop.display);
      process.kill(before, 'SIGKILL');
      await waitFor('restart noticed', () => desktop.health()['desktop.xserver'] === 'restarting');
      await waitFor('x11 reconnected', () => {
        const h = desktop.health();
        return h['desktop.xserver'] === 'running' && h['desktop.x11'] === 'running';
      });
      assert.notEqual(track(desktop.display), before);
      assert.ok(states.includes('restarting') && states.at(-1) === 'running', `health events ${states}`);
      // Input goes to the new server.
      desktop.input.move(321, 123);
      assert.deepEqual(await desktop.input.pointer(), { x: 321, y: 123 });
      assert.match(await onDisplay(desktop.display, 'xdotool', ['getmouselocation', '--shell']), /^X=321\nY=123\n/);
      assert.deepEqual(desktop.screenSize(), screen);
    } finally {
      await desktop.close();
    }
    assert.ok(!existsSync(`/tmp/.X${desktop.display.slice(1)}-lock`));
  });

  it('attaches to an existing display without starting or stopping anything', async () => {
    const external = await XServer.start({ kind: 'xvfb', width: 800, height: 600, logger });
    track(external.display);
    try {
      const desktop = await Desktop.start({
        display: external.display,
        screen: { width: 1280, height: 720, rate: 25 },
        server: 'xvfb',
        windowManager: 'openbox',
        app: 'xterm',
        audio: true,
        logger,
      });
      try {
        assert.equal(desktop.display, external.display);
        assert.equal(desktop.pulseServer, null);
        // The display's real size wins over the configured one.
        assert.deepEqual(desktop.screenSize(), { width: 800, height: 600, rate: 25 });
        assert.deepEqual(desktop.health(), {
          'desktop.xserver': 'external',
          'desktop.x11': 'running',
          'desktop.pulseaudio': 'disabled',
          'desktop.window_manager': 'disabled',
          'desktop.app': 'disabled',
        });
        desktop.input.move(10, 20);
        assert.deepEqual(await desktop.input.pointer(), { x: 10, y: 20 });
        await assert.rejects(desktop.setScreenSize({ width: 640, height: 480, rate: 30 }), /xrandr/);
      } finally {
        await desktop.close();
      }
      assert.equal(external.state, 'running');
      const probe = await X11Client.connect(external.display);
      assert.deepEqual(await probe.queryPointer(), { x: 10, y: 20 });
      await probe.close();
    } finally {
      await external.close();
    }
  });

  it('rejects attaching to a display that is not there', async () => {
    await assert.rejects(
      Desktop.start({ display: ':4321', screen, server: 'xvfb', audio: false, logger }),
      /ENOENT|ECONNREFUSED|closed/,
    );
  });

  it('runs the window manager and the app, and stops them on close', async () => {
    const desktop = await Desktop.start({
      screen,
      server: 'xvfb',
      windowManager: 'openbox',
      app: 'xterm -title neko-test',
      audio: false,
      logger,
    });
    track(desktop.display);
    let pids: number[] = [];
    try {
      const health = desktop.health();
      assert.equal(health['desktop.window_manager'], 'running');
      assert.equal(health['desktop.app'], 'running');
      await waitFor('openbox managing the screen', async () => {
        const prop = await onDisplay(desktop.display, 'xprop', ['-root', '_NET_SUPPORTING_WM_CHECK']).catch(() => '');
        return /window id #/.test(prop);
      });
      await waitFor('xterm window', async () =>
        (await onDisplay(desktop.display, 'xdotool', ['search', '--name', 'neko-test']).catch(() => '')).trim(),
      );
      // They die with the X server and come back after it.
      process.kill(lockPid(desktop.display), 'SIGKILL');
      await waitFor('app noticed the X crash', () => desktop.health()['desktop.app'] !== 'running');
      await waitFor(
        'everything running again',
        () => Object.values(desktop.health()).every((s) => s === 'running' || s === 'disabled'),
        10_000,
      );
      track(desktop.display);
      await waitFor('xterm window again', async () =>
        (await onDisplay(desktop.display, 'xdotool', ['search', '--name', 'neko-test']).catch(() => '')).trim(),
      );
      pids = [
        ...(await pgrepOnDisplay('^openbox', desktop.display)),
        ...(await pgrepOnDisplay('^xterm -title neko-test', desktop.display)),
      ];
    } finally {
      await desktop.close();
    }
    assert.equal(pids.length, 2);
    await waitFor('apps gone', () => pids.every((pid) => !alive(pid)));
  });
});
