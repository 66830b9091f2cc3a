import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import type { App } from '../../../server/src/main.js';
import { api } from '../../helpers/api.js';
import { paintRoot, startApp } from '../../helpers/app.js';
import { near, pixel, Viewer } from '../../helpers/viewer.js';

const API_TOKEN = 'private-mode-test-api-token';
const GREEN = { r: 0, g: 255, b: 0 };
/** Long enough for frames in flight to land; the stream runs at 25–30 fps, so a live viewer gets dozens. */
const QUIET_MS = 1500;

describe('private mode pauses non-admin media (contract §3.3, §6, §7 step 2)', () => {
  let app: App;
  let user: Viewer;
  let admin: Viewer;
  const viewers: Viewer[] = [];

  const setPrivate = (on: boolean) =>
    api(app.url, API_TOKEN).post('/api/room/settings').send({ private_mode: on }).expect(204);

  before(async () => {
    app = await startApp(['--session.api_token', API_TOKEN]);
    await paintRoot(app.desktop.display, '#ff0000');
    user = await Viewer.connect(app.url, 'ann', 'neko');
    admin = await Viewer.connect(app.url, 'root', 'admin');
    viewers.push(user, admin);
  });

  after(async () => {
    for (const v of viewers) v.close();
    await app?.close();
  });

  test("turning it on stops a user's video but not an admin's; turning it off resumes it", async () => {
    await user.waitForFrame();
    await admin.waitForFrame();

    await setPrivate(true);
    await sleep(500);
    const userFrames = user.frames;
    const adminFrames = admin.frames;
    await sleep(QUIET_MS);
    assert.ok(user.frames - userFrames <= 1, `user video stopped (got ${user.frames - userFrames} more frames)`);
    assert.ok(admin.frames - adminFrames > 10, `admin video kept flowing (got ${admin.frames - adminFrames} frames)`);
    assert.equal(app.sessions.get(user.sessionId)?.state.is_watching, true, 'the connection stays up while paused');

    await paintRoot(app.desktop.display, '#00ff00');
    await setPrivate(false);
    const resumed = await user.waitForFrame((f) => near(pixel(f, 640, 360), GREEN), 15_000);
    assert.ok(resumed, 'user video resumed with the current picture');
  });

  test('a user who starts watching during private mode gets no video until it ends', async () => {
    await setPrivate(true);
    const late = await Viewer.connect(app.url, 'bob', 'neko');
    viewers.push(late);
    await late.socket.waitFor('session/state', (p) => p.id === late.sessionId && p.is_watching === true, 15_000);
    await sleep(QUIET_MS);
    assert.equal(late.frames, 0, 'no frame while private mode is on');

    await setPrivate(false);
    await late.waitForFrame(() => true, 15_000);
    assert.ok(late.frames > 0, 'video starts once private mode is off');
  });
});
