import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import type { App } from '../../../server/src/main.js';
import { decodeServerMessage, type ServerMessage } from '../../../server/src/webrtc/datachannel.js';
import { startApp } from '../../helpers/app.js';
import { Viewer } from '../../helpers/viewer.js';
import { onDisplay, waitFor } from '../../helpers/x11.js';

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

function messages(viewer: Viewer, from = 0): ServerMessage[] {
  return viewer.channelMessages.slice(from).map((m) => decodeServerMessage(m)).filter((m): m is ServerMessage => m.type !== 'error');
}

describe('cursor over the data channel', () => {
  let app: App;
  let host: Viewer;
  let watcher: Viewer;

  before(async () => {
    app = await startApp();
    [host, watcher] = await Promise.all([Viewer.connect(app.url, 'alice', 'neko'), Viewer.connect(app.url, 'bob', 'neko')]);
    await Promise.all([host.waitForDataChannel(), watcher.waitForDataChannel()]);
  });

  after(async () => {
    host?.close();
    watcher?.close();
    await app?.close();
  });

  test('the first message on open is the cursor image, a valid PNG; the position follows', async () => {
    await waitFor('image and position', () => messages(watcher).length >= 2);
    const [first, second] = messages(watcher);
    assert.ok(first?.type === 'cursorImage', `first message is the cursor image, got ${first?.type}`);
    assert.deepEqual([...first.png.subarray(0, 8)], PNG_SIGNATURE);
    const meta = await sharp(first.png).metadata();
    assert.equal(meta.format, 'png');
    assert.deepEqual([meta.width, meta.height], [first.width, first.height]);
    assert.ok(second?.type === 'cursorPosition', `then the position, got ${second?.type}`);
  });

  test('moving the X pointer reaches non-hosts only', async () => {
    host.socket.send('control/request');
    await host.socket.waitFor('control/host', (p) => p.host_id === host.sessionId);
    const hostFrom = host.channelMessages.length;
    const watcherFrom = watcher.channelMessages.length;
    await onDisplay(app.desktop.display, 'xdotool', ['mousemove', '211', '157']);
    await waitFor('position at the watcher', () =>
      messages(watcher, watcherFrom).some((m) => m.type === 'cursorPosition' && m.x === 211 && m.y === 157),
    );
    await onDisplay(app.desktop.display, 'xdotool', ['mousemove', '300', '200']);
    await waitFor('second position at the watcher', () =>
      messages(watcher, watcherFrom).some((m) => m.type === 'cursorPosition' && m.x === 300 && m.y === 200),
    );
    await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual(
      messages(host, hostFrom).filter((m) => m.type === 'cursorPosition'),
      [],
      'the host gets no positions',
    );
  });

  test('a cursor change is sent to every peer', async () => {
    const hostFrom = host.channelMessages.length;
    const watcherFrom = watcher.channelMessages.length;
    // xterm's I-beam shows while the pointer is over it; a live client's cursor X can hand out.
    const xterm = spawn('xterm', ['-geometry', '40x10+0+0'], { env: { ...process.env, DISPLAY: app.desktop.display }, stdio: 'ignore', detached: true });
    try {
      await waitFor('xterm window', async () => (await onDisplay(app.desktop.display, 'xdotool', ['search', '--class', 'xterm']).catch(() => '')).trim());
      await onDisplay(app.desktop.display, 'xdotool', ['mousemove', '30', '30']);
      for (const viewer of [host, watcher]) {
        const from = viewer === host ? hostFrom : watcherFrom;
        await waitFor('new cursor image', () => messages(viewer, from).some((m) => m.type === 'cursorImage'));
      }
    } finally {
      process.kill(-xterm.pid!, 'SIGKILL');
    }
  });
});
