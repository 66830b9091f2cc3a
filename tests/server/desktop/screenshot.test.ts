import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { Screencast, frameIntervalMs } from '../../../server/src/desktop/screenshot.js';
import { silentLogger } from '../../../server/src/log.js';
import { api } from '../../helpers/api.js';
import { paintRoot } from '../../helpers/app.js';
// First: it loads the server, whose exit hook (killing X servers left running) must be
// registered before the viewer helper's, which ends the process on exit.
import { startRoom, type Room } from './room-helpers.js';
import { near } from '../../helpers/viewer.js';
import { waitFor } from '../../helpers/x11.js';

const GREEN = { r: 0, g: 255, b: 0 };
const BLUE = { r: 0, g: 0, b: 255 };

/** Decodes a JPEG and returns its size and the colour of its centre pixel. */
async function inspect(jpeg: Buffer): Promise<{ width: number; height: number; centre: { r: number; g: number; b: number } }> {
  const { data, info } = await sharp(jpeg).raw().toBuffer({ resolveWithObject: true });
  assert.equal(info.format, 'raw');
  const i = (Math.floor(info.height / 2) * info.width + Math.floor(info.width / 2)) * info.channels;
  return { width: info.width, height: info.height, centre: { r: data[i]!, g: data[i + 1]!, b: data[i + 2]! } };
}

const jpegOf = (res: { body: unknown }) => res.body as Buffer;

describe('screenshots and screencast', () => {
  let room: Room;
  before(async () => {
    room = await startRoom(['--desktop.screen', '640x360@30', '--capture.screencast.enabled=true', '--desktop.audio=false']);
    await paintRoot(room.app.desktop.display, '#00ff00');
  });
  after(async () => {
    await room?.app.close();
  });

  test('shot.jpg is a JPEG of the screen size with the painted colour; quality is honoured', async () => {
    const { app, tokens } = room;
    const res = await api(app.url, tokens.admin).get('/api/room/screen/shot.jpg').buffer(true).expect(200);
    assert.equal(res.headers['content-type'], 'image/jpeg');
    assert.equal(res.headers['cache-control'], 'no-cache, no-store, must-revalidate');
    const shot = await inspect(jpegOf(res));
    assert.equal(`${shot.width}x${shot.height}`, '640x360');
    assert.ok(near(shot.centre, GREEN, 20), `centre is green: ${JSON.stringify(shot.centre)}`);

    await paintRoot(app.desktop.display, '#0000ff');
    const blue = await inspect(jpegOf(await api(app.url, tokens.admin).get('/api/room/screen/shot.jpg').buffer(true).expect(200)));
    assert.ok(near(blue.centre, BLUE, 20), `red and blue are not swapped: ${JSON.stringify(blue.centre)}`);

    const low = jpegOf(await api(app.url, tokens.admin).get('/api/room/screen/shot.jpg?quality=1').buffer(true).expect(200));
    const high = jpegOf(await api(app.url, tokens.admin).get('/api/room/screen/shot.jpg?quality=100').buffer(true).expect(200));
    assert.ok(low.length < high.length, `quality 1 (${low.length} B) is smaller than 100 (${high.length} B)`);
    for (const q of ['abc', '101', '-1', '']) {
      await api(app.url, tokens.admin).get(`/api/room/screen/shot.jpg?quality=${q}`).buffer(true).expect(200);
    }
    await paintRoot(app.desktop.display, '#00ff00');
  });

  test('shot.jpg guards: admin only, and can_watch first', async () => {
    const { app, tokens } = room;
    assert.equal((await api(app.url, tokens.user).get('/api/room/screen/shot.jpg').expect(403)).body.message, 'session is not admin');
    assert.equal((await api(app.url, tokens.nowatch).get('/api/room/screen/shot.jpg').expect(403)).body.message, 'session cannot watch');
    await api(app.url).get('/api/room/screen/shot.jpg').expect(401);
  });

  test('cast.jpg serves the live screen to watchers', async () => {
    const { app, tokens } = room;
    const res = await api(app.url, tokens.user).get('/api/room/screen/cast.jpg').buffer(true).expect(200);
    assert.equal(res.headers['content-type'], 'image/jpeg');
    assert.equal(res.headers['cache-control'], 'no-cache, no-store, must-revalidate');
    assert.ok(near((await inspect(jpegOf(res))).centre, GREEN, 20), 'live frame is green');
    assert.ok(app.room.features.screencast?.active, 'frames are being grabbed');
    await api(app.url, tokens.nowatch).get('/api/room/screen/cast.jpg').expect(403);
  });

  test('private mode: non-admins get the frame from when it came on, admins the live screen', async () => {
    const { app, tokens } = room;
    const display = app.desktop.display;
    await api(app.url, tokens.admin).post('/api/room/settings').send({ private_mode: true }).expect(204);
    try {
      // The snapshot is taken as private mode comes on; wait for it before repainting.
      await waitFor('fallback image', async () => (await api(app.url, tokens.user).get('/api/room/screen/cast.jpg').buffer(true)).status === 200);
      await paintRoot(display, '#0000ff');
      await waitFor('admin sees blue', async () => {
        const res = await api(app.url, tokens.admin).get('/api/room/screen/cast.jpg').buffer(true).expect(200);
        return near((await inspect(jpegOf(res))).centre, BLUE, 20);
      });
      const frozen = await api(app.url, tokens.user).get('/api/room/screen/cast.jpg').buffer(true).expect(200);
      assert.ok(near((await inspect(jpegOf(frozen))).centre, GREEN, 20), 'non-admin still gets the green snapshot');
    } finally {
      await api(app.url, tokens.admin).post('/api/room/settings').send({ private_mode: false }).expect(204);
    }
    await waitFor('user sees blue', async () => {
      const res = await api(app.url, tokens.user).get('/api/room/screen/cast.jpg').buffer(true).expect(200);
      return near((await inspect(jpegOf(res))).centre, BLUE, 20);
    });
  });
});

describe('cast.jpg without a screencast or a fallback', () => {
  let room: Room;
  before(async () => {
    room = await startRoom(['--desktop.screen', '320x240@30', '--session.private_mode=true', '--desktop.audio=false']);
  });
  after(async () => {
    await room?.app.close();
  });

  test('400 with the contract messages', async () => {
    const { app, tokens } = room;
    const user = await api(app.url, tokens.user).get('/api/room/screen/cast.jpg').expect(400);
    assert.deepEqual(user.body, { code: 400, message: 'private mode is enabled but no fallback image available' });
    const admin = await api(app.url, tokens.admin).get('/api/room/screen/cast.jpg').expect(400);
    assert.deepEqual(admin.body, { code: 400, message: 'screencast pipeline is not enabled' });
  });
});

describe('Screencast timing', () => {
  test('frames start with the first request and stop after the idle time', async () => {
    let grabs = 0;
    const cast = new Screencast({
      grab: async () => Buffer.from([++grabs]),
      intervalMs: 20,
      idleStopMs: 150,
      logger: silentLogger(),
    });
    try {
      assert.equal(cast.active, false);
      const first = await cast.image();
      assert.equal(first[0], 1, 'the first request waits for a fresh frame');
      assert.ok(cast.active, 'running after a request');
      await sleep(80);
      assert.ok((await cast.image())[0]! > 1, 'later requests get newer frames');
      await waitFor('stopped when idle', () => !cast.active, 2000);
      const stoppedAt = grabs;
      await sleep(100);
      assert.equal(grabs, stoppedAt, 'no frames while idle');
      assert.ok((await cast.image())[0]! > stoppedAt, 'a new request starts it again with a fresh frame');
    } finally {
      cast.close();
    }
  });

  test('rate fractions become frame intervals, capped at 30 fps', () => {
    assert.equal(frameIntervalMs('10/1'), 100);
    assert.equal(frameIntervalMs('5/2'), 400);
    assert.equal(Math.round(frameIntervalMs('60/1')), 33);
    assert.throws(() => frameIntervalMs('0/1'));
  });
});
