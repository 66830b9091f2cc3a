import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import type { Response, Test } from 'supertest';
import { api } from '../../helpers/api.js';
// First: it loads the server, whose exit hook (killing X servers left running) must be
// registered before the viewer helper's, which ends the process on exit.
import { becomeHost, desktopProcess, startRoom, type Room } from '../desktop/room-helpers.js';
import { login } from '../../helpers/viewer.js';
import { onDisplay, waitFor } from '../../helpers/x11.js';

type Guard = 'auth' | 'watch' | 'canHost' | 'clipboard' | 'host' | 'admin' | 'uploader';
type Caller = 'anonymous' | 'admin' | 'host' | 'member' | 'noclip' | 'nohost' | 'nowatch';

interface Profile {
  admin: boolean;
  host: boolean;
  watch: boolean;
  canHost: boolean;
  clipboard: boolean;
}

const PROFILES: Record<Exclude<Caller, 'anonymous'>, Profile> = {
  admin: { admin: true, host: false, watch: true, canHost: true, clipboard: true },
  host: { admin: false, host: true, watch: true, canHost: true, clipboard: true },
  member: { admin: false, host: false, watch: true, canHost: true, clipboard: true },
  noclip: { admin: false, host: false, watch: true, canHost: true, clipboard: false },
  nohost: { admin: false, host: false, watch: true, canHost: false, clipboard: true },
  nowatch: { admin: false, host: false, watch: false, canHost: true, clipboard: true },
};

/** The contract's guard texts (§3), for the first guard a caller fails. */
function refusal(guards: Guard[], caller: Caller): { status: number; message: string } | null {
  if (caller === 'anonymous') return { status: 401, message: 'Unauthorized' };
  const p = PROFILES[caller];
  for (const guard of guards) {
    if (guard === 'watch' && !p.watch) return { status: 403, message: 'session cannot watch' };
    if (guard === 'canHost' && !p.canHost) return { status: 403, message: 'session cannot host' };
    if (guard === 'clipboard' && !p.clipboard) return { status: 403, message: 'session cannot access clipboard' };
    if (guard === 'host' && !p.host) return { status: 403, message: 'session is not host' };
    if (guard === 'admin' && !p.admin) return { status: 403, message: 'session is not admin' };
    if (guard === 'uploader' && !p.host) return { status: 403, message: 'without implicit hosting, only host can upload files' };
  }
  return null;
}

interface Route {
  method: 'get' | 'post' | 'delete';
  path: string;
  guards: Guard[];
  /** Status for a caller every guard lets through (with this test's configuration). */
  ok: number;
  send?: (t: Test) => Test;
  /** Prepares the desktop before the callers are tried; returns the undo. */
  setup?: (room: Room) => Promise<() => void>;
  /** More checks on an allowed caller's response. */
  check?: (res: Response) => void;
}

const PNG = await sharp({ create: { width: 4, height: 3, channels: 3, background: '#00ff00' } }).png().toBuffer();

/** A desktop application owns the CLIPBOARD with an image/png target. */
async function pngOnClipboard(room: Room): Promise<() => void> {
  const display = room.app.desktop.display;
  const owner = desktopProcess(display, 'xclip', ['-verbose', '-selection', 'clipboard', '-t', 'image/png', '-i'], PNG);
  await waitFor('image on the clipboard', async () =>
    (await onDisplay(display, 'xclip', ['-o', '-selection', 'clipboard', '-t', 'TARGETS'])).includes('image/png'),
  );
  return owner.kill;
}

const ROUTES: Route[] = [
  { method: 'get', path: '/api/room/clipboard', guards: ['auth', 'clipboard', 'host'], ok: 200 },
  { method: 'post', path: '/api/room/clipboard', guards: ['auth', 'clipboard', 'host'], ok: 204, send: (t) => t.send({ text: 'matrix' }) },
  {
    method: 'get',
    path: '/api/room/clipboard/image.png',
    guards: ['auth', 'clipboard', 'host'],
    ok: 200,
    setup: pngOnClipboard,
    check: (res) => {
      assert.equal(res.headers['content-type'], 'image/png');
      assert.ok(Buffer.compare(res.body as Buffer, PNG) === 0, 'the clipboard PNG comes back unchanged');
    },
  },
  { method: 'get', path: '/api/room/keyboard/map', guards: ['auth', 'canHost'], ok: 200 },
  { method: 'post', path: '/api/room/keyboard/map', guards: ['auth', 'canHost', 'host'], ok: 204, send: (t) => t.send({ layout: 'us', variant: '' }) },
  { method: 'get', path: '/api/room/keyboard/modifiers', guards: ['auth', 'canHost'], ok: 200 },
  { method: 'post', path: '/api/room/keyboard/modifiers', guards: ['auth', 'canHost', 'host'], ok: 204, send: (t) => t.send({ shift: false }) },
  { method: 'get', path: '/api/room/screen', guards: ['auth', 'watch'], ok: 200 },
  { method: 'post', path: '/api/room/screen', guards: ['auth', 'watch', 'admin'], ok: 200, send: (t) => t.send({ width: 320, height: 240, rate: 25 }) },
  { method: 'get', path: '/api/room/screen/configurations', guards: ['auth', 'watch', 'admin'], ok: 200 },
  // The screencast is off in this configuration.
  { method: 'get', path: '/api/room/screen/cast.jpg', guards: ['auth', 'watch'], ok: 400 },
  { method: 'get', path: '/api/room/screen/shot.jpg', guards: ['auth', 'watch', 'admin'], ok: 200 },
  {
    method: 'post',
    path: '/api/room/upload/drop',
    guards: ['auth', 'uploader'],
    ok: 204,
    send: (t) => t.field('x', '3').field('y', '4').attach('files', Buffer.from('m'), { filename: 'matrix.txt' }),
  },
  // The file chooser dialog is off in this configuration.
  { method: 'post', path: '/api/room/upload/dialog', guards: ['auth', 'uploader'], ok: 400, send: (t) => t.attach('files', Buffer.from('m'), { filename: 'm.txt' }) },
  { method: 'delete', path: '/api/room/upload/dialog', guards: ['auth', 'uploader'], ok: 400 },
];

describe('desktop routes × roles (contract §3.3 guards, in order)', () => {
  let room: Room;
  const tokens = {} as Record<Caller, string | undefined>;
  before(async () => {
    room = await startRoom(['--desktop.screen', '320x240@25', '--desktop.audio=false']);
    await becomeHost(room, 'user');
    const member = await login(room.app.url, 'viewer', 'pw');
    Object.assign(tokens, {
      anonymous: undefined,
      admin: room.tokens.admin,
      host: room.tokens.user,
      member: member.token,
      noclip: room.tokens.noclip,
      nohost: room.tokens.nohost,
      nowatch: room.tokens.nowatch,
    });
  });
  after(async () => {
    await room?.app.close();
  });

  for (const route of ROUTES) {
    test(`${route.method.toUpperCase()} ${route.path}`, async () => {
      const undo = await route.setup?.(room);
      try {
        for (const caller of Object.keys(tokens) as Caller[]) {
          const client = api(room.app.url, tokens[caller]);
          let req = client[route.method](route.path);
          if (route.send) req = route.send(req);
          const res = await req.buffer(true);
          const refused = refusal(route.guards, caller);
          const label = `${caller}: ${res.status} ${res.text?.slice(0, 120)}`;
          if (refused) {
            assert.equal(res.status, refused.status, label);
            assert.deepEqual(res.body, { code: refused.status, message: refused.message }, label);
          } else {
            assert.equal(res.status, route.ok, label);
            route.check?.(res);
          }
        }
      } finally {
        undo?.();
      }
    });
  }

  test('GET /api/room/clipboard/image.png without an image: the contract\'s 500', async () => {
    const host = api(room.app.url, tokens.host);
    await host.post('/api/room/clipboard').send({ text: 'no image here' }).expect(204);
    const res = await host.get('/api/room/clipboard/image.png').expect(500);
    assert.deepEqual(res.body, { code: 500, message: 'Internal Server Error' });
  });

  test('the server is still healthy after the whole matrix', async () => {
    assert.equal((await fetch(`${room.app.url}/health`)).status, 200, 'health answers');
    assert.equal(room.app.sessions.host?.id, room.ids.user, 'the host never changed');
  });
});
