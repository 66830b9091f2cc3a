import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { api } from '../../helpers/api.js';
// First: it loads the server, whose exit hook (killing X servers left running) must be
// registered before the viewer helper's, which ends the process on exit.
import { becomeHost, desktopProcess, startRoom, type Room } from './room-helpers.js';
import { barrier } from '../../helpers/barrier.js';
import { SocketClient } from '../../helpers/viewer.js';
import { ControlMask, TestWindow, onDisplay, waitFor } from '../../helpers/x11.js';

/** The CLIPBOARD text as a desktop application sees it ('' while nobody owns it). */
const clipboardText = (display: string) => onDisplay(display, 'xclip', ['-o', '-selection', 'clipboard']).catch(() => '');

describe('clipboard: REST, WebSocket and desktop-side changes', () => {
  let room: Room;
  let display: string;
  const cleanups: Array<() => void> = [];
  before(async () => {
    room = await startRoom();
    display = room.app.desktop.display;
  });
  after(async () => {
    cleanups.forEach((c) => c());
    await room?.app.close();
  });

  test('POST puts text on the X CLIPBOARD selection and GET reads it back', async () => {
    await becomeHost(room, 'user');
    const { app, tokens } = room;
    await api(app.url, tokens.user).post('/api/room/clipboard').send({ text: 'héllo clipboard' }).expect(204);
    assert.equal(await clipboardText(display), 'héllo clipboard');
    const res = await api(app.url, tokens.user).get('/api/room/clipboard').expect(200);
    assert.deepEqual(res.body, { text: 'héllo clipboard' });
  });

  test('HTML alone is offered when html is non-empty', async () => {
    const { app, tokens } = room;
    await api(app.url, tokens.user).post('/api/room/clipboard').send({ text: 'plain', html: '<b>bold</b>' }).expect(204);
    const targets = await onDisplay(display, 'xclip', ['-o', '-selection', 'clipboard', '-t', 'TARGETS']);
    assert.ok(targets.split('\n').includes('text/html'), `targets: ${targets}`);
    const res = await api(app.url, tokens.user).get('/api/room/clipboard').expect(200);
    assert.deepEqual(res.body, { html: '<b>bold</b>' });
  });

  test('image.png returns the clipboard image; 500 when there is none', async () => {
    const { app, tokens } = room;
    await api(app.url, tokens.user).post('/api/room/clipboard').send({ text: 'no image here' }).expect(204);
    const none = await api(app.url, tokens.user).get('/api/room/clipboard/image.png').expect(500);
    assert.deepEqual(none.body, { code: 500, message: 'Internal Server Error' });

    const png = await sharp({ create: { width: 4, height: 3, channels: 3, background: '#ff0000' } }).png().toBuffer();
    const owner = desktopProcess(display, 'xclip', ['-verbose', '-selection', 'clipboard', '-t', 'image/png', '-i'], png);
    cleanups.push(owner.kill);
    await waitFor('image on the clipboard', async () =>
      (await onDisplay(display, 'xclip', ['-o', '-selection', 'clipboard', '-t', 'TARGETS'])).includes('image/png'),
    );
    const res = await api(app.url, tokens.user).get('/api/room/clipboard/image.png').buffer(true).expect(200);
    assert.equal(res.headers['content-type'], 'image/png');
    assert.equal(res.headers['cache-control'], 'no-cache, no-store, must-revalidate');
    assert.ok(Buffer.compare(res.body as Buffer, png) === 0, 'the PNG bytes come back unchanged');
    owner.kill();
  });

  test('a desktop-side change reaches the host as clipboard/updated, not other sessions', async () => {
    const { app, tokens } = room;
    await becomeHost(room, 'user');
    const host = await SocketClient.open(app.url, tokens.user);
    const other = await SocketClient.open(app.url, tokens.admin);
    cleanups.push(() => host.close(), () => other.close());
    await host.waitFor('system/init');
    await other.waitFor('system/init');

    const owner = desktopProcess(display, 'xclip', ['-verbose', '-selection', 'clipboard', '-i'], 'copied on the desktop');
    cleanups.push(owner.kill);
    const updated = await host.waitFor('clipboard/updated', (p) => p.text === 'copied on the desktop');
    assert.deepEqual(updated.payload, { text: 'copied on the desktop' });
    // Whatever the server sent the other along with the host's update arrives before the host's marker.
    await barrier(host, [other]);
    assert.ok(!other.events.some((e) => e.event === 'clipboard/updated'), 'only the host is told');
    owner.kill();
    host.close();
    other.close();
  });

  test('WS clipboard/set from the host sets it; from others it is dropped', async () => {
    const { app, tokens } = room;
    await becomeHost(room, 'user');
    const host = await SocketClient.open(app.url, tokens.user);
    const admin = await SocketClient.open(app.url, tokens.admin);
    cleanups.push(() => host.close(), () => admin.close());
    await host.waitFor('system/init');
    await admin.waitFor('system/init');

    admin.send('clipboard/set', { text: 'from a non-host' });
    host.send('clipboard/set', { text: 5 });
    host.send('clipboard/set', { text: 'from the host' });
    await waitFor('host text on the clipboard', async () => (await clipboardText(display)) === 'from the host');
    host.close();
    admin.close();
  });

  test('control/paste sets the clipboard then presses Ctrl+V; copy/cut/select_all press their keys', async () => {
    const { app, tokens } = room;
    await becomeHost(room, 'user');
    const win = await TestWindow.open(display);
    const host = await SocketClient.open(app.url, tokens.user);
    cleanups.push(() => host.close());
    try {
      await host.waitFor('system/init');
      host.send('control/paste', { text: 'pasted text' });
      await waitFor('Ctrl+V', () => win.of('KeyPress').some((e) => e.state & ControlMask));
      assert.equal(await clipboardText(display), 'pasted text');
      const [v] = await win.keysymsOf(win.of('KeyPress').find((e) => e.state & ControlMask)!.detail);
      assert.equal(v, 0x76, 'the key pressed with Control is v');

      win.clear();
      host.send('control/copy');
      host.send('control/cut');
      host.send('control/select_all');
      await waitFor('three shortcuts', () => win.of('KeyPress').filter((e) => e.state & ControlMask).length >= 3);
      const letters: number[] = [];
      for (const e of win.of('KeyPress').filter((k) => k.state & ControlMask)) letters.push((await win.keysymsOf(e.detail))[0]!);
      assert.deepEqual(letters, [0x63, 0x78, 0x61], 'c, x, a with Control');
    } finally {
      host.close();
      await win.close();
    }
  });

  test('guards: clipboard needs can_access_clipboard, then host', async () => {
    const { app, tokens } = room;
    await becomeHost(room, 'noclip');
    const denied = await api(app.url, tokens.noclip).get('/api/room/clipboard').expect(403);
    assert.equal(denied.body.message, 'session cannot access clipboard');
    await becomeHost(room, 'user');
    const notHost = await api(app.url, tokens.admin).post('/api/room/clipboard').send({ text: 'x' }).expect(403);
    assert.equal(notHost.body.message, 'session is not host');
    await api(app.url).get('/api/room/clipboard').expect(401);
  });

  test('bad bodies: malformed JSON, wrong types, oversized', async () => {
    const { app, tokens } = room;
    await becomeHost(room, 'user');
    const c = api(app.url, tokens.user);
    const broken = await c.post('/api/room/clipboard').set('content-type', 'application/json').send('{"text":').expect(400);
    assert.deepEqual(broken.body, { code: 400, message: 'unable to parse provided data' });
    const empty = await c.post('/api/room/clipboard').set('content-type', 'application/json').send('').expect(400);
    assert.equal(empty.body.message, 'no data provided');
    await c.post('/api/room/clipboard').send({ text: 42 }).expect(400);
    await c.post('/api/room/clipboard').send([1, 2]).expect(400);
    await c.post('/api/room/clipboard').send({ text: 'x'.repeat(2 << 20) }).expect(413);
    await api(app.url, tokens.user).get('/api/room/clipboard').expect(200);
  });
});
