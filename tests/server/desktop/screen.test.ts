import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { api } from '../../helpers/api.js';
// First: it loads the server, whose exit hook (killing X servers left running) must be
// registered before the viewer helper's, which ends the process on exit.
import { startRoom, type Room } from './room-helpers.js';
import { SocketClient, Viewer } from '../../helpers/viewer.js';
import { onDisplay, waitFor } from '../../helpers/x11.js';

async function dimensions(display: string): Promise<string> {
  return /dimensions:\s+(\d+x\d+)/.exec(await onDisplay(display, 'xdpyinfo', []))![1]!;
}

describe('screen: size, configurations and resizing Xorg with the stream following', () => {
  let room: Room;
  let display: string;
  let admin: SocketClient;
  let viewer: Viewer;
  before(async () => {
    room = await startRoom(['--desktop.server', 'xorg', '--desktop.screen', '1280x720@30', '--desktop.audio=false']);
    display = room.app.desktop.display;
    admin = await SocketClient.open(room.app.url, room.tokens.admin);
    viewer = await Viewer.connect(room.app.url, 'viewer', 'pw');
  });
  after(async () => {
    viewer?.close();
    admin?.close();
    await room?.app.close();
  });

  test('GET screen and the configurations Xorg offers, filtered by the rate rule', async () => {
    const { app, tokens } = room;
    const now = await api(app.url, tokens.user).get('/api/room/screen').expect(200);
    assert.deepEqual(now.body, { width: 1280, height: 720, rate: 30 });

    const res = await api(app.url, tokens.admin).get('/api/room/screen/configurations').expect(200);
    const list = res.body as Array<{ width: number; height: number; rate: number }>;
    const has = (w: number, h: number, r: number) => list.some((s) => s.width === w && s.height === h && s.rate === r);
    assert.ok(has(1024, 768, 60) && has(1024, 768, 30) && has(1920, 1080, 30), `modes of xorg.conf listed: ${res.text.slice(0, 200)}`);
    assert.ok(list.every((s) => s.rate > 0 && s.rate <= 60 && (s.rate <= 30 || s.rate % 10 === 0)), 'only contract rates');

    const init = await admin.waitFor('system/admin');
    assert.deepEqual(init.payload.screen_sizes_list, list, 'system/admin lists the same configurations');

    const notAdmin = await api(app.url, tokens.user).get('/api/room/screen/configurations').expect(403);
    assert.equal(notAdmin.body.message, 'session is not admin');
    const noWatch = await api(app.url, tokens.nowatch).get('/api/room/screen').expect(403);
    assert.equal(noWatch.body.message, 'session cannot watch');
  });

  test('POST resizes the X screen, broadcasts the applied size, and frames come at the new size', async () => {
    const { app, tokens, ids } = room;
    await viewer.waitForFrame((f) => f.width === 1280 && f.height === 720, 15_000);

    // 1030 is rounded down to 1024 and rate 0 means 60; the answer echoes the request.
    const res = await api(app.url, tokens.admin).post('/api/room/screen').send({ width: 1030, height: 768, rate: 0 }).expect(200);
    assert.deepEqual(res.body, { width: 1030, height: 768, rate: 0 });
    const updated = await viewer.socket.waitFor('screen/updated');
    assert.deepEqual(updated.payload, { id: ids.admin, width: 1024, height: 768, rate: 60 });
    assert.equal(await dimensions(display), '1024x768');
    assert.deepEqual((await api(app.url, tokens.user).get('/api/room/screen').expect(200)).body, { width: 1024, height: 768, rate: 60 });

    const frame = await viewer.waitForFrame((f) => f.width === 1024 && f.height === 768, 15_000);
    assert.equal(frame.width, 1024);
  });

  test('WS screen/set: admins only', async () => {
    const { app, tokens, ids } = room;
    const user = await SocketClient.open(app.url, tokens.user);
    try {
      await user.waitFor('system/init');
      user.send('screen/set', { width: 640, height: 480, rate: 30 });
      admin.send('screen/set', { width: 'big', height: 480, rate: 30 });
      admin.send('screen/set', { width: 800, height: 600, rate: 30 });
      const updated = await user.waitFor('screen/updated');
      assert.deepEqual(updated.payload, { id: ids.admin, width: 800, height: 600, rate: 30 });
      assert.equal(await dimensions(display), '800x600');
    } finally {
      user.close();
    }
  });

  test('bad requests: unknown size 422, bad bodies 400/413, non-admins 403; size unchanged', async () => {
    const { app, tokens } = room;
    const c = api(app.url, tokens.admin);
    const refused = await c.post('/api/room/screen').send({ width: 1000, height: 500, rate: 30 }).expect(422);
    assert.deepEqual(refused.body, { code: 422, message: 'cannot set screen size' });
    for (const body of ['{"width":', '[]', '{"width":"800","height":600,"rate":30}', '{"width":800.5,"height":600,"rate":30}', '{"width":-8,"height":600,"rate":30}', '{"width":800,"height":600,"rate":70000}']) {
      await c.post('/api/room/screen').set('content-type', 'application/json').send(body).expect(400);
    }
    await c.post('/api/room/screen').send({ width: 800, height: 600, rate: 30, pad: 'x'.repeat(2 << 20) }).expect(413);
    const user = await api(app.url, tokens.user).post('/api/room/screen').send({ width: 640, height: 480, rate: 30 }).expect(403);
    assert.equal(user.body.message, 'session is not admin');
    assert.equal(await dimensions(display), '800x600');
    await waitFor('server still answers', async () => (await fetch(`${app.url}/health`)).status === 200);
  });
});
