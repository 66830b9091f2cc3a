import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { CursorWatcher } from '../../../server/src/desktop/cursor.js';
import { silentLogger } from '../../../server/src/log.js';
import { onDisplay, waitFor } from '../../helpers/x11.js';
import type { XServer } from '../../../server/src/desktop/xserver.js';
import { startXvfb } from '../../helpers/xvfb.js';

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

describe('cursor watcher (XFIXES)', () => {
  let xvfb: XServer;
  let watcher: CursorWatcher;

  before(async () => {
    xvfb = await startXvfb();
    watcher = await CursorWatcher.start({ display: xvfb.display, logger: silentLogger() });
  });

  after(async () => {
    await watcher?.close();
    await xvfb?.close();
  });

  test('the current cursor image is a PNG of the reported size', async () => {
    const image = await watcher.image();
    assert.ok(image, 'Xvfb shows a cursor');
    assert.deepEqual(image.png.subarray(0, 8), PNG_SIGNATURE);
    const meta = await sharp(image.png).metadata();
    assert.equal(meta.width, image.width);
    assert.equal(meta.height, image.height);
    assert.ok(image.xhot < image.width && image.yhot < image.height, 'hotspot inside the image');
  });

  test('a changed cursor is announced with a new image', async () => {
    const before = (await watcher.image())!;
    let image: { serial: number } | undefined;
    watcher.once('image', (i) => (image = i));
    // xterm's text cursor (an I-beam) is displayed while the pointer is over its window. X
    // refuses to hand out the image of a cursor whose client has exited, so it stays running.
    const xterm = spawn('xterm', ['-geometry', '40x10+0+0'], { env: { ...process.env, DISPLAY: xvfb.display }, stdio: 'ignore', detached: true });
    try {
      await waitFor('xterm window', async () => (await onDisplay(xvfb.display, 'xdotool', ['search', '--class', 'xterm']).catch(() => '')).trim());
      await onDisplay(xvfb.display, 'xdotool', ['mousemove', '20', '20']);
      await waitFor('image event', () => image);
    } finally {
      process.kill(-xterm.pid!, 'SIGKILL');
    }
    assert.ok(image, 'image announced');
    assert.notEqual(image.serial, before.serial);
  });

  test('pointer moves are reported only while watched', async () => {
    const seen: Array<{ x: number; y: number }> = [];
    watcher.on('position', (p) => seen.push(p));
    const release = watcher.watch();
    await onDisplay(xvfb.display, 'xdotool', ['mousemove', '123', '45']);
    await waitFor('position 123,45', () => seen.some((p) => p.x === 123 && p.y === 45));
    release();
    const count = seen.length;
    await onDisplay(xvfb.display, 'xdotool', ['mousemove', '300', '200']);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(seen.length, count, 'no polling after release');
    assert.deepEqual(await watcher.position(), { x: 123, y: 45 });
  });

  test('a still pointer is polled a few times a second, a moving one at 60 Hz', async () => {
    // Every query wakes this process and the X server: idle screens must not pay 60 of them a second.
    const client = (watcher as unknown as { client: { queryPointer(): Promise<unknown> } }).client;
    const original = client.queryPointer.bind(client);
    let queries = 0;
    client.queryPointer = () => {
      queries++;
      return original();
    };
    const seen: Array<{ x: number; y: number }> = [];
    const onPosition = (p: { x: number; y: number }) => seen.push(p);
    watcher.on('position', onPosition);
    const release = watcher.watch();
    try {
      await new Promise((r) => setTimeout(r, 1500));
      queries = 0;
      await new Promise((r) => setTimeout(r, 1000));
      assert.ok(queries <= 8, `${queries} queries in a second of stillness`);
      // An application moves the pointer: seen within the idle period, then followed closely.
      await onDisplay(xvfb.display, 'xdotool', ['mousemove', '10', '10']);
      await waitFor('position 10,10', () => seen.some((p) => p.x === 10 && p.y === 10));
      queries = 0;
      const started = performance.now();
      for (let i = 1; i <= 20; i++) await onDisplay(xvfb.display, 'xdotool', ['mousemove', String(10 + i), '10']);
      const rate = queries / ((performance.now() - started) / 1000);
      assert.ok(rate >= 25, `${rate.toFixed(0)} queries/s while moving`);
      await waitFor('position 30,10', () => seen.some((p) => p.x === 30 && p.y === 10));
    } finally {
      release();
      watcher.off('position', onPosition);
      client.queryPointer = original;
    }
  });
});
