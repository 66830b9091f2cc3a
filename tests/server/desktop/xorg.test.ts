import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, it } from 'node:test';
import { Desktop, type ScreenSize } from '../../../server/src/desktop/desktop.js';
import { silentLogger } from '../../../server/src/log.js';
import { LogLines } from '../../helpers/log-lines.js';
import { execFileP, lockPid, onDisplay, pgrep, waitFor } from '../../helpers/x11.js';

const logger = silentLogger();

function comm(pid: number): string {
  return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
}

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
        [1366, 768],
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

  it('auto: Xorg when root, Xvfb with one warning when Xorg does not start', async () => {
    const screen = { width: 1280, height: 720, rate: 30 };
    const desktop = await Desktop.start({ screen, server: 'auto', windowManager: '', app: '', audio: false, logger });
    try {
      assert.equal(comm(lockPid(desktop.display)), 'Xorg');
      assert.deepEqual(await desktop.setScreenSize({ width: 1366, height: 768, rate: 60 }), { width: 1366, height: 768, rate: 60 });
    } finally {
      await desktop.close();
    }

    const log = new LogLines();
    const fallback = await Desktop.start({
      screen,
      server: 'auto',
      xorgConfig: '/nonexistent/xorg.conf',
      windowManager: '',
      app: '',
      audio: false,
      logger: log.logger,
    });
    try {
      assert.equal(comm(lockPid(fallback.display)), 'Xvfb');
      assert.equal(fallback.health()['desktop.xserver'], 'running');
      const complaints = log.lines.filter((l) => (l.level as number) >= 40);
      assert.equal(complaints.length, 1, JSON.stringify(complaints));
      assert.equal(complaints[0]!.level, 40);
      assert.match(complaints[0]!.msg!, /Xorg did not start: using Xvfb/);
    } finally {
      await fallback.close();
    }
  });

  it('auto: Xvfb for a server that is not root', async () => {
    // The same decision in a process of the unprivileged desktop user.
    const dir = mkdtempSync(join(tmpdir(), 'neko-xauto-'));
    chmodSync(dir, 0o755);
    const script = join(dir, 'auto.mts');
    writeFileSync(
      script,
      [
        `import { XServer } from ${JSON.stringify(pathToFileURL(resolve('server/src/desktop/xserver.ts')).href)};`,
        `import { createLogger } from ${JSON.stringify(pathToFileURL(resolve('server/src/log.ts')).href)};`,
        `const server = await XServer.start({ kind: 'auto', width: 800, height: 600, firstDisplay: ${3000 + Math.floor(Math.random() * 2000)}, logger: createLogger({ level: 'warn' }) });`,
        `console.log(JSON.stringify({ kind: server.kind }));`,
        `await server.close();`,
      ].join('\n'),
    );
    chmodSync(script, 0o644);
    const [, , uid, gid] = execFileSync('getent', ['passwd', 'neko'], { encoding: 'utf8' }).split(':');
    try {
      const { stdout } = await execFileP(
        'setpriv',
        [`--reuid=${uid}`, `--regid=${gid}`, '--clear-groups', process.execPath, '--import', 'tsx', script],
        { cwd: resolve('.'), env: { ...process.env, HOME: dir }, timeout: 60_000 },
      );
      const lines = stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
      assert.equal(lines.length, 2, stdout);
      assert.equal(lines[0]!.level, 40);
      assert.match(String(lines[0]!.msg), /Xorg needs root: using Xvfb/);
      assert.deepEqual(lines[1], { kind: 'xvfb' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
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
