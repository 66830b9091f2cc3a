import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { describe, it } from 'node:test';
import { Desktop, type ScreenSize } from '../../../server/src/desktop/desktop.js';
import { silentLogger } from '../../../server/src/log.js';
import { lockPid, onDisplay, pgrep, waitFor } from '../../helpers/x11.js';

const logger = silentLogger();

async function dimensions(display: string): Promise<string> {
  return /dimensions:\s+(\d+x\d+)/.exec(await onDisplay(display, 'xdpyinfo', []))![1];
}

describe('Xorg with the dummy driver', () => {
  it('starts at the configured size, follows xrandr, resizes on request and after a restart', async () => {
    const desktop = await Desktop.start({
      screen: { width: 1920, height: 1080, rate: 30 },
      server: 'xorg',
      windowManager: '',
      app: '',
      audio: false,
      logger,
    });
    const sizes: ScreenSize[] = [];
    const pids = [lockPid(desktop.display)];
    desktop.on('screen', (s) => sizes.push(s));
    try {
      assert.deepEqual(await pgrep(`Xorg ${desktop.display} `), pids);
      assert.deepEqual(desktop.screenSize(), { width: 1920, height: 1080, rate: 30 });
      assert.equal(await dimensions(desktop.display), '1920x1080');

      // Anyone's xrandr is noticed.
      await onDisplay(desktop.display, 'xrandr', ['-s', '1024x768']);
      await waitFor('size event', () => desktop.screenSize().width === 1024);
      assert.deepEqual(desktop.screenSize(), { width: 1024, height: 768, rate: 30 });
      assert.equal(await dimensions(desktop.display), '1024x768');
      assert.deepEqual(sizes.at(-1), { width: 1024, height: 768, rate: 30 });

      // Our own resize; the modes of xorg/xorg.conf include the common sizes.
      for (const [width, height] of [
        [1600, 900],
        [1368, 768],
        [800, 600],
        [1280, 720],
      ]) {
        assert.deepEqual(await desktop.setScreenSize({ width, height, rate: 60 }), { width, height, rate: 60 });
        assert.equal(await dimensions(desktop.display), `${width}x${height}`);
      }
      await assert.rejects(desktop.setScreenSize({ width: 1000, height: 500, rate: 30 }), /xrandr -s 1000x500/);
      assert.deepEqual(desktop.screenSize(), { width: 1280, height: 720, rate: 60 });

      // Input works on Xorg too.
      desktop.input.move(1000, 700);
      assert.deepEqual(await desktop.input.pointer(), { x: 1000, y: 700 });

      // A restarted Xorg comes back at the last size set.
      await desktop.setScreenSize({ width: 1600, height: 900, rate: 30 });
      process.kill(lockPid(desktop.display), 'SIGKILL');
      await waitFor('restart noticed', () => desktop.health()['desktop.xserver'] === 'restarting');
      await waitFor(
        'running again',
        () => desktop.health()['desktop.xserver'] === 'running' && desktop.health()['desktop.x11'] === 'running',
        10_000,
      );
      pids.push(lockPid(desktop.display));
      assert.equal(await dimensions(desktop.display), '1600x900');
      assert.deepEqual(desktop.screenSize(), { width: 1600, height: 900, rate: 30 });
    } finally {
      await desktop.close();
    }
    assert.ok(!existsSync(`/tmp/.X${desktop.display.slice(1)}-lock`));
    for (const pid of pids) assert.throws(() => process.kill(pid, 0), `Xorg ${pid} left over`);
  });

  it('refuses a start size that is not among the modes', async () => {
    await assert.rejects(
      Desktop.start({ screen: { width: 1001, height: 501, rate: 30 }, server: 'xorg', audio: false, logger }),
      /1001x501/,
    );
  });

  it('Xvfb refuses to resize', async () => {
    const screen = { width: 800, height: 600, rate: 30 };
    const desktop = await Desktop.start({ screen, server: 'xvfb', audio: false, logger });
    try {
      await assert.rejects(desktop.setScreenSize({ width: 1024, height: 768, rate: 30 }), /cannot change/);
      // Same size, other rate: fine (the rate is the capture frame rate).
      assert.deepEqual(await desktop.setScreenSize({ ...screen, rate: 25 }), { ...screen, rate: 25 });
    } finally {
      await desktop.close();
    }
  });
});
