import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import type { App } from '../../../server/src/main.js';
import { api } from '../../helpers/api.js';
import { barrier } from '../../helpers/barrier.js';
import { startApp } from '../../helpers/app.js';
import { SocketClient } from '../../helpers/viewer.js';
import { TestWindow, waitFor } from '../../helpers/x11.js';

interface Member {
  id: string;
  token: string;
  ws: SocketClient;
}

const count = (ws: SocketClient, event: string) => ws.events.filter((e) => e.event === event).length;

describe('WebSocket control events (contract §5.3, §6)', () => {
  let app: App;
  let admin: Member;
  let ann: Member;
  let bob: Member;

  const join = async (username: string, password = 'neko'): Promise<Member> => {
    const res = await api(app.url).post('/api/login').send({ username, password }).expect(200);
    const ws = await SocketClient.open(app.url, res.body.token);
    await ws.waitFor('system/init');
    return { id: res.body.id, token: res.body.token, ws };
  };
  const reconnect = async (member: Member): Promise<void> => {
    member.ws = await SocketClient.open(app.url, member.token);
    await member.ws.waitFor('system/init');
  };
  const settings = async (patch: Record<string, unknown>) => {
    await api(app.url, admin.token).post('/api/room/settings').send(patch).expect(204);
  };
  /**
   * Every member's barrier: once done, the server has handled every event the members sent
   * before, and whatever it sent any of them because of those has arrived.
   */
  const sync = async (...members: Member[]) => {
    await Promise.all(members.map((m) => barrier(m.ws, members.filter((o) => o !== m).map((o) => o.ws), m.id)));
  };
  const hostId = () => app.sessions.host?.id;

  before(async () => {
    app = await startApp();
    admin = await join('root', 'admin');
    ann = await join('ann');
    bob = await join('bob');
  });

  afterEach(async () => {
    await settings({ private_mode: false, locked_controls: false, implicit_hosting: false, control_protection: false });
    await api(app.url, admin.token).post('/api/room/control/reset').expect(204);
    await sync(admin, ann, bob);
    for (const m of [admin, ann, bob]) m.ws.events.length = 0;
  });

  after(async () => {
    for (const m of [admin, ann, bob]) m?.ws.close();
    await app?.close();
  });

  test('request → broadcast control/host; a second request reaches only the host; give; release', async () => {
    ann.ws.send('control/request');
    for (const m of [admin, ann, bob]) {
      const msg = await m.ws.waitFor('control/host');
      assert.deepEqual(msg.payload, { id: ann.id, has_host: true, host_id: ann.id }, `${m.id} sees ann become host`);
    }
    bob.ws.send('control/request');
    const asked = await ann.ws.waitFor('control/request');
    assert.deepEqual(asked.payload, { id: bob.id });
    ann.ws.send('control/request');
    await sync(admin, ann, bob);
    assert.equal(count(ann.ws, 'control/request'), 1, 'the host asking for control again is a no-op');
    assert.equal(count(bob.ws, 'control/request'), 0, 'the requester is not sent its own request');
    assert.equal(count(admin.ws, 'control/request'), 0, 'control/request is unicast to the host');
    assert.equal(hostId(), ann.id, 'implicit hosting off: the host keeps control');

    await api(app.url, ann.token).post(`/api/room/control/give/${bob.id}`).expect(204);
    for (const m of [admin, ann, bob]) {
      const msg = await m.ws.waitFor('control/host', (p) => p.host_id === bob.id);
      assert.deepEqual(msg.payload, { id: ann.id, has_host: true, host_id: bob.id }, `${m.id} sees the handover`);
    }

    ann.ws.send('control/release');
    await sync(admin, ann, bob);
    assert.equal(hostId(), bob.id, 'a non-host cannot release');
    bob.ws.send('control/release');
    for (const m of [admin, ann, bob]) {
      const msg = await m.ws.waitFor('control/host', (p) => p.has_host === false);
      assert.deepEqual(msg.payload, { id: bob.id, has_host: false });
    }
    await sync(admin, ann, bob);
    assert.equal(count(admin.ws, 'control/host'), 3);
  });

  test('input events request control implicitly', async () => {
    bob.ws.send('control/move', { x: 'left', y: 10 });
    await sync(admin, ann, bob);
    assert.equal(hostId(), undefined, 'malformed input does not take control');

    bob.ws.send('control/move', { x: 100, y: 100 });
    const took = await ann.ws.waitFor('control/host');
    assert.deepEqual(took.payload, { id: bob.id, has_host: true, host_id: bob.id });
    await waitFor('pointer at 100,100', async () => {
      const p = await app.desktop.input.pointer();
      return p.x === 100 && p.y === 100;
    });

    ann.ws.send('control/move', { x: 300, y: 300 });
    const asked = await bob.ws.waitFor('control/request');
    assert.deepEqual(asked.payload, { id: ann.id });
    await sync(admin, ann, bob);
    assert.equal(hostId(), bob.id);
    assert.deepEqual(await app.desktop.input.pointer(), { x: 100, y: 100 }, "a non-host's input is dropped");

    await settings({ implicit_hosting: true });
    ann.ws.send('control/move', { x: 200, y: 150 });
    const moved = await bob.ws.waitFor('control/host', (p) => p.host_id === ann.id);
    assert.deepEqual(moved.payload, { id: ann.id, has_host: true, host_id: ann.id });
    await waitFor('pointer at 200,150', async () => {
      const p = await app.desktop.input.pointer();
      return p.x === 200 && p.y === 150;
    });
    bob.ws.send('control/request');
    await ann.ws.waitFor('control/host', (p) => p.host_id === bob.id);
    await sync(admin, ann, bob);
    assert.equal(count(ann.ws, 'control/request'), 0, 'implicit hosting: requests are granted, not forwarded');
  });

  test("a non-host's dropped WS move still counts as its inactive cursor", async () => {
    await settings({ inactive_cursors: true });
    try {
      ann.ws.send('control/request');
      await bob.ws.waitFor('control/host', (p) => p.host_id === ann.id);
      bob.ws.send('control/move', { x: 42, y: 24 });
      const cursors = await admin.ws.waitFor('session/cursors', (p) =>
        Array.isArray(p) && p.some((c: { id: string }) => c.id === bob.id),
      );
      const entry = cursors.payload.find((c: { id: string }) => c.id === bob.id);
      assert.deepEqual(entry.cursors.at(-1), { x: 42, y: 24 });
      assert.equal(hostId(), ann.id);
    } finally {
      await settings({ inactive_cursors: false });
    }
  });

  test('admin take and reset broadcast control/host with the admin as id', async () => {
    ann.ws.send('control/request');
    await bob.ws.waitFor('control/host', (p) => p.host_id === ann.id);
    await api(app.url, admin.token).post('/api/room/control/take').expect(204);
    const taken = await ann.ws.waitFor('control/host', (p) => p.host_id === admin.id);
    assert.deepEqual(taken.payload, { id: admin.id, has_host: true, host_id: admin.id });
    await api(app.url, admin.token).post('/api/room/control/reset').expect(204);
    const reset = await bob.ws.waitFor('control/host', (p) => p.has_host === false);
    assert.deepEqual(reset.payload, { id: admin.id, has_host: false });
  });

  test('locked controls: users cannot gain control, admins can; locking clears a user host', async () => {
    ann.ws.send('control/request');
    await bob.ws.waitFor('control/host', (p) => p.host_id === ann.id);
    await settings({ locked_controls: true });
    const cleared = await bob.ws.waitFor('control/host', (p) => p.has_host === false);
    assert.deepEqual(cleared.payload, { id: admin.id, has_host: false });

    bob.ws.send('control/request');
    bob.ws.send('control/keypress', { keysym: 0x61 });
    await sync(admin, ann, bob);
    assert.equal(hostId(), undefined, 'locked: the user request and input are dropped');
    const denied = await api(app.url, bob.token).post('/api/room/control/request').expect(403);
    assert.deepEqual(denied.body, { code: 403, message: 'controls are locked' });

    admin.ws.send('control/request');
    await bob.ws.waitFor('control/host', (p) => p.host_id === admin.id);
    await settings({ locked_controls: false });
    await settings({ locked_controls: true });
    await sync(admin, ann, bob);
    assert.equal(hostId(), admin.id, 'an admin host survives locking');
  });

  test('private mode: the user host is cleared and users cannot request control; admins are unaffected', async () => {
    ann.ws.send('control/request');
    await bob.ws.waitFor('control/host', (p) => p.host_id === ann.id);
    await settings({ private_mode: true });
    const cleared = await bob.ws.waitFor('control/host', (p) => p.has_host === false);
    assert.deepEqual(cleared.payload, { id: admin.id, has_host: false });
    const seen = await ann.ws.waitFor('system/settings', (p) => p.private_mode === true);
    assert.equal(seen.payload.id, admin.id);

    ann.ws.send('control/request');
    ann.ws.send('control/move', { x: 5, y: 5 });
    await sync(admin, ann, bob);
    assert.equal(hostId(), undefined, 'private mode: the user request and input are dropped');
    const res = await api(app.url, ann.token).post('/api/room/control/request').expect(422);
    assert.deepEqual(res.body, { code: 422, message: 'private mode is enabled' });

    admin.ws.send('control/request');
    await ann.ws.waitFor('control/host', (p) => p.host_id === admin.id);
    admin.ws.send('control/release');
    await ann.ws.waitFor('control/host', (p) => p.has_host === false && p.id === admin.id);
  });

  test('the host disconnecting clears the host and releases held keys', async () => {
    const desk = await TestWindow.open(app.desktop.display);
    try {
      ann.ws.send('control/keydown', { keysym: 0x61 });
      await bob.ws.waitFor('control/host', (p) => p.host_id === ann.id);
      await waitFor('key press reaches X', () => desk.of('KeyPress').length > 0);
      assert.equal(desk.of('KeyRelease').length, 0, 'the key is still held');

      ann.ws.close();
      await ann.ws.closed;
      const cleared = await bob.ws.waitFor('control/host', (p) => p.has_host === false);
      assert.deepEqual(cleared.payload, { id: ann.id, has_host: false });
      await admin.ws.waitFor('control/host', (p) => p.has_host === false);
      await waitFor('key released', () => desk.of('KeyRelease').length > 0);
      assert.equal(desk.of('KeyRelease')[0]?.detail, desk.of('KeyPress')[0]?.detail, 'the held key went up');
    } finally {
      await desk.close();
      await reconnect(ann);
    }
  });

  test('control protection: the last admin leaving locks controls, an admin returning unlocks them', async () => {
    await settings({ control_protection: true });
    await ann.ws.waitFor('system/settings', (p) => p.control_protection === true);
    assert.equal(app.sessions.settings.locked_controls, false, 'an admin is connected');

    admin.ws.close();
    await admin.ws.closed;
    const locked = await ann.ws.waitFor('system/settings', (p) => p.locked_controls === true);
    assert.deepEqual(locked.payload, { id: admin.id, ...app.sessions.settings });
    assert.equal(locked.payload.control_protection, true);
    bob.ws.send('control/request');
    await barrier(bob.ws, [ann.ws], bob.id);
    assert.equal(hostId(), undefined, 'locked: users cannot take control');

    await reconnect(admin);
    const unlocked = await bob.ws.waitFor('system/settings', (p) => p.locked_controls === false);
    assert.equal(unlocked.payload.id, admin.id);
    bob.ws.send('control/request');
    await ann.ws.waitFor('control/host', (p) => p.host_id === bob.id);
  });
});

describe('control protection from the configuration (contract §6)', () => {
  let app: App;
  before(async () => {
    app = await startApp(['--session.control_protection=true']);
  });
  after(async () => {
    await app?.close();
  });

  test('starts locked; the first admin to connect unlocks', async () => {
    const userLogin = await api(app.url).post('/api/login').send({ username: 'ann', password: 'neko' }).expect(200);
    const user = await SocketClient.open(app.url, userLogin.body.token);
    try {
      const init = await user.waitFor('system/init');
      assert.equal(init.payload.settings.locked_controls, true);
      assert.equal(init.payload.settings.control_protection, true);
      user.send('control/request');
      await barrier(user);
      assert.equal(app.sessions.host, null, 'locked before any admin arrives');

      const adminLogin = await api(app.url).post('/api/login').send({ username: 'root', password: 'admin' }).expect(200);
      const admin = await SocketClient.open(app.url, adminLogin.body.token);
      try {
        const unlocked = await user.waitFor('system/settings');
        assert.equal(unlocked.payload.locked_controls, false);
        assert.equal(unlocked.payload.id, adminLogin.body.id);
        user.send('control/request');
        await admin.waitFor('control/host', (p) => p.host_id === userLogin.body.id);
      } finally {
        admin.close();
      }
    } finally {
      user.close();
    }
  });
});
