import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { api } from '../../helpers/api.js';
// First: it loads the server, whose exit hook (killing X servers left running) must be
// registered before the viewer helper's, which ends the process on exit.
import { becomeHost, startRoom, type Room } from './room-helpers.js';
import { SocketClient } from '../../helpers/viewer.js';
import { onDisplay, waitFor } from '../../helpers/x11.js';

/** layout/variant as `setxkbmap -query` prints them. */
async function xkbQuery(display: string): Promise<{ layout: string; variant: string }> {
  const out = await onDisplay(display, 'setxkbmap', ['-query']);
  const field = (name: string) => new RegExp(`^${name}:\\s*(.*)$`, 'm').exec(out)?.[1]?.trim() ?? '';
  return { layout: field('layout'), variant: field('variant') };
}

/** LED states from `xset q`, e.g. { 'Caps Lock': true, 'Num Lock': false }. */
async function leds(display: string): Promise<Record<string, boolean>> {
  const out = await onDisplay(display, 'xset', ['q']);
  const states: Record<string, boolean> = {};
  for (const m of out.matchAll(/\d\d: ([A-Za-z ]+?):\s+(on|off)/g)) states[m[1]!] = m[2] === 'on';
  return states;
}

describe('keyboard: layout (setxkbmap) and modifiers (XKB locks)', () => {
  let room: Room;
  let display: string;
  before(async () => {
    room = await startRoom();
    display = room.app.desktop.display;
  });
  after(async () => {
    await room?.app.close();
  });

  test('map: POST applies the layout to the X server, GET reads it back', async () => {
    const { app, tokens } = room;
    await becomeHost(room, 'user');
    const c = api(app.url, tokens.user);
    await c.post('/api/room/keyboard/map').send({ layout: 'de', variant: 'nodeadkeys' }).expect(204);
    assert.deepEqual(await xkbQuery(display), { layout: 'de', variant: 'nodeadkeys' });
    const got = await c.get('/api/room/keyboard/map').expect(200);
    assert.deepEqual(got.body, { layout: 'de', variant: 'nodeadkeys' });

    await c.post('/api/room/keyboard/map').send({ layout: 'fr' }).expect(204);
    assert.deepEqual(await xkbQuery(display), { layout: 'fr', variant: '' });
    // The layout really changed: the key right of Tab types 'a' on a French keyboard.
    const keys = await onDisplay(display, 'xmodmap', ['-pke']);
    assert.match(keys, /^keycode {2}24 = a A/m);
    await c.post('/api/room/keyboard/map').send({ layout: 'us', variant: '' }).expect(204);
  });

  test('map: bad input is a 400, an unknown layout a 500, and the layout stays', async () => {
    const { app, tokens } = room;
    await becomeHost(room, 'user');
    const c = api(app.url, tokens.user);
    for (const body of [{ layout: '-print' }, { layout: 'us;rm' }, { layout: '' }, { layout: 5 }, { layout: 'us', variant: ['x'] }, 'null']) {
      const res = await c.post('/api/room/keyboard/map').set('content-type', 'application/json').send(JSON.stringify(body)).expect(400);
      assert.equal(res.body.code, 400, JSON.stringify(body));
    }
    await c.post('/api/room/keyboard/map').set('content-type', 'application/json').send('{"layout"').expect(400);
    await c.post('/api/room/keyboard/map').send({ layout: 'x'.repeat(2 << 20) }).expect(413);
    await c.post('/api/room/keyboard/map').send({ layout: 'nosuchlayout' }).expect(500);
    assert.equal((await xkbQuery(display)).layout, 'us');
  });

  test('modifiers: GET has all eight; POST locks Caps Lock and Num Lock as X reports them', async () => {
    const { app, tokens } = room;
    await becomeHost(room, 'user');
    const c = api(app.url, tokens.user);
    const initial = await c.get('/api/room/keyboard/modifiers').expect(200);
    assert.deepEqual(Object.keys(initial.body).sort(), ['alt', 'altgr', 'capslock', 'control', 'meta', 'numlock', 'shift', 'super']);
    assert.equal(initial.body.capslock, false);

    await c.post('/api/room/keyboard/modifiers').send({ capslock: true }).expect(204);
    assert.equal((await leds(display))['Caps Lock'], true, 'X reports Caps Lock on');
    assert.equal((await c.get('/api/room/keyboard/modifiers').expect(200)).body.capslock, true);

    await c.post('/api/room/keyboard/modifiers').send({ numlock: true }).expect(204);
    let state = await leds(display);
    assert.ok(state['Caps Lock'] && state['Num Lock'], 'absent keys stay as they were');

    await c.post('/api/room/keyboard/modifiers').send({ capslock: false, numlock: false, shift: true }).expect(204);
    state = await leds(display);
    assert.ok(!state['Caps Lock'] && !state['Num Lock'], `both off: ${JSON.stringify(state)}`);
    assert.equal((await c.get('/api/room/keyboard/modifiers').expect(200)).body.shift, true);
    await c.post('/api/room/keyboard/modifiers').send({ shift: false }).expect(204);

    await c.post('/api/room/keyboard/modifiers').send({ capslock: 'yes' }).expect(400);
    await c.post('/api/room/keyboard/modifiers').set('content-type', 'application/json').send('[').expect(400);
  });

  test('guards: can_host for GET, host for POST, private mode shuts non-admins out', async () => {
    const { app, tokens } = room;
    await becomeHost(room, 'user');
    const noHost = await api(app.url, tokens.nohost).get('/api/room/keyboard/map').expect(403);
    assert.equal(noHost.body.message, 'session cannot host');
    await api(app.url, tokens.admin).get('/api/room/keyboard/modifiers').expect(200);
    const notHost = await api(app.url, tokens.admin).post('/api/room/keyboard/modifiers').send({ shift: true }).expect(403);
    assert.equal(notHost.body.message, 'session is not host');
    await api(app.url, tokens.admin).post('/api/room/settings').send({ private_mode: true }).expect(204);
    try {
      const priv = await api(app.url, tokens.noclip).get('/api/room/keyboard/map').expect(422);
      assert.equal(priv.body.message, 'private mode is enabled');
    } finally {
      await api(app.url, tokens.admin).post('/api/room/settings').send({ private_mode: false }).expect(204);
    }
    await api(app.url).get('/api/room/keyboard/map').expect(401);
  });

  test('WS keyboard/map and keyboard/modifiers: applied for the host, dropped for others', async () => {
    const { app, tokens } = room;
    await becomeHost(room, 'user');
    const host = await SocketClient.open(app.url, tokens.user);
    const other = await SocketClient.open(app.url, tokens.admin);
    try {
      await host.waitFor('system/init');
      await other.waitFor('system/init');
      other.send('keyboard/map', { layout: 'fr', variant: '' });
      other.send('keyboard/modifiers', { capslock: true });
      host.send('keyboard/map', { layout: 7 });
      host.send('keyboard/map', { layout: 'de', variant: 'nodeadkeys' });
      await waitFor('de layout', async () => (await xkbQuery(display)).layout === 'de');
      host.send('keyboard/modifiers', { numlock: true });
      await waitFor('Num Lock on', async () => (await leds(display))['Num Lock']);
      assert.equal((await leds(display))['Caps Lock'], false, "a non-host's modifiers were dropped");
      host.send('keyboard/modifiers', { numlock: false });
      host.send('keyboard/map', { layout: 'us' });
      await waitFor('us layout', async () => (await xkbQuery(display)).layout === 'us');
    } finally {
      host.close();
      other.close();
    }
  });
});
