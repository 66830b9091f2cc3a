/**
 * DamageWatcher against a real Xvfb: drawing anywhere on the screen is reported, once per
 * change noticed, and reporting comes back after the X server restarts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DamageWatcher } from '../../../server/src/desktop/damage.js';
import { X11Client } from '../../../server/src/desktop/x11-client.js';
import type { XServer } from '../../../server/src/desktop/xserver.js';
import { silentLogger } from '../../../server/src/log.js';
import { lockPid, waitFor } from '../../helpers/x11.js';
import { startXvfb } from '../../helpers/xvfb.js';

let x: XServer;
before(async () => {
  x = await startXvfb({ width: 640, height: 480 });
});
after(async () => {
  await x?.close();
});

describe('DamageWatcher', () => {
  it('reports drawing on the root window and in its children, re-armed after each report', async () => {
    const watcher = await DamageWatcher.start({ display: x.display, logger: silentLogger() });
    const painter = await X11Client.connect(x.display);
    try {
      assert.equal(watcher.watching, true);
      let events = 0;
      watcher.on('damage', () => events++);
      await painter.setRootBackground(0xff0000);
      await waitFor('damage of the root', () => events >= 1);
      // NonEmpty is reported once until re-armed: a second change needs the re-arm.
      const afterFirst = events;
      await painter.setRootBackground(0x00ff00);
      await waitFor('damage after re-arm', () => events > afterFirst);

      // A child window painting its background.
      const raw = painter.raw;
      const wid = raw.AllocID();
      const screen = raw.display.screen[0]!;
      raw.CreateWindow(wid, painter.root, 10, 10, 100, 100, 0, 0, 1, 0, { backgroundPixel: screen.white_pixel });
      await painter.sync();
      const beforeMap = events;
      raw.MapWindow(wid);
      await painter.sync();
      await waitFor('damage of a child window', () => events > beforeMap);
    } finally {
      await painter.close();
      await watcher.close();
    }
    assert.equal(watcher.watching, false);
  });

  it('coalesces a screen that keeps changing into a few reports, and still reports a lone change at once', async () => {
    const watcher = await DamageWatcher.start({ display: x.display, logger: silentLogger(), coalesceMs: 200 });
    const painter = await X11Client.connect(x.display);
    try {
      let events = 0;
      watcher.on('damage', () => events++);
      // 50 changes over about a second: re-armed at every report, that would be 50 reports.
      for (let i = 0; i < 50; i++) {
        await painter.setRootBackground(i % 2 ? 0x202020 : 0x404040);
        await new Promise((r) => setTimeout(r, 20));
      }
      assert.ok(events >= 2 && events <= 10, `${events} reports for 50 changes`);
      // Quiet, so the watcher is re-armed; the next change is reported without waiting.
      await new Promise((r) => setTimeout(r, 400));
      const quiet = events;
      await painter.setRootBackground(0x00ff00);
      await waitFor('a lone change', () => events > quiet, 2000);
    } finally {
      await painter.close();
      await watcher.close();
    }
  });

  it('a report interval set later replaces coalesceMs until it is unset', async () => {
    const watcher = await DamageWatcher.start({ display: x.display, logger: silentLogger() });
    const painter = await X11Client.connect(x.display);
    const changes = async (n: number) => {
      const before = events;
      for (let i = 0; i < n; i++) {
        await painter.setRootBackground(i % 2 ? 0x505050 : 0x606060);
        await new Promise((r) => setTimeout(r, 25));
      }
      await new Promise((r) => setTimeout(r, 300));
      return events - before;
    };
    let events = 0;
    watcher.on('damage', () => events++);
    try {
      watcher.setReportInterval(250);
      const relaxed = await changes(30);
      assert.ok(relaxed >= 1 && relaxed <= 7, `${relaxed} reports of 30 changes at 250 ms`);
      watcher.setReportInterval(null);
      const each = await changes(30);
      assert.ok(each >= 20, `${each} reports of 30 changes re-armed at once`);
    } finally {
      await painter.close();
      await watcher.close();
    }
  });

  it('reports a possible change when X goes away and comes back, then watches the new server', async () => {
    const watcher = await DamageWatcher.start({ display: x.display, logger: silentLogger() });
    try {
      let events = 0;
      watcher.on('damage', () => events++);
      process.kill(lockPid(x.display), 'SIGKILL');
      await waitFor('damage on disconnect', () => events >= 1 && !watcher.watching, 10_000);
      await waitFor('watching the restarted server', () => watcher.watching, 15_000);
      const rearmed = events;
      const painter = await X11Client.connect(x.display);
      try {
        await painter.setRootBackground(0x0000ff);
        await waitFor('damage on the new server', () => events > rearmed);
      } finally {
        await painter.close();
      }
    } finally {
      await watcher.close();
    }
  });
});
