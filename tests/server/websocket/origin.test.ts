import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import WebSocket from 'ws';
import type { App } from '../../../server/src/main.js';
import { startApp } from '../../helpers/app.js';

interface Outcome {
  status: number;
  /** The refusal's body, or the first event's name after an upgrade. */
  body: string;
}

/** Tries an upgrade; 101 resolves with the first event's name once it arrives. */
function upgrade(app: App, opts: { path?: string; origin?: string; headers?: Record<string, string> } = {}): Promise<Outcome> {
  const url = `${app.url.replace(/^http/, 'ws')}${opts.path ?? '/api/ws'}`;
  const ws = new WebSocket(url, { headers: { ...(opts.origin ? { Origin: opts.origin } : {}), ...opts.headers } });
  return new Promise((resolve, reject) => {
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    ws.once('message', (data) => {
      resolve({ status: 101, body: (JSON.parse(data.toString()) as { event: string }).event });
      ws.close();
    });
    ws.once('error', (err) => {
      if (!/Unexpected server response/.test(err.message)) reject(err);
    });
  });
}

/** Logs in under `prefix`; with cookies on the token comes back as the session cookie. */
async function loginCookie(app: App, username: string, prefix = ''): Promise<{ id: string; cookie: string; token: string }> {
  const res = await fetch(`${app.url}${prefix}/api/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password: 'neko' }),
  });
  assert.equal(res.status, 200);
  const body = (await res.json()) as { id: string; token?: string };
  const cookie = /^[^;]+/.exec(res.headers.get('set-cookie') ?? '')?.[0] ?? '';
  return { id: body.id, cookie, token: body.token ?? cookie.split('=')[1] ?? '' };
}

const refusedWith = (status: number) => (o: Outcome) => {
  assert.equal(o.status, status, `status ${o.status}, body ${o.body}`);
  assert.deepEqual(JSON.parse(o.body), { code: status, message: 'origin not allowed' });
};
const accepted = (o: Outcome) => assert.deepEqual(o, { status: 101, body: 'system/init' });

describe('WebSocket origin with cookies on, under a path prefix', () => {
  const PREFIX = '/neko';
  let app: App;
  let own: string;
  let user: { cookie: string };
  const path = `${PREFIX}/api/ws`;

  before(async () => {
    app = await startApp(['--session.cookie.enabled', '--session.cookie.secure=false', '--server.path_prefix', `${PREFIX}/`]);
    own = app.url;
    user = await loginCookie(app, 'ann', PREFIX);
  });
  after(async () => {
    await app?.close();
  });

  test('the own origin and clients without an Origin are served', async () => {
    accepted(await upgrade(app, { path, origin: own, headers: { Cookie: user.cookie } }));
    accepted(await upgrade(app, { path, headers: { Cookie: user.cookie } }));
  });

  test('a foreign page gets 403 before the upgrade and before authentication', async () => {
    const victim = await loginCookie(app, 'eve', PREFIX);
    let connects = 0;
    const onSocket = () => connects++;
    app.sessions.on('connected', onSocket);
    try {
      for (const origin of ['http://evil.example', 'null', `http://localhost:${new URL(own).port}`, own.replace('http:', 'https:'), `${own}.evil.example`]) {
        refusedWith(403)(await upgrade(app, { path, origin, headers: { Cookie: victim.cookie } }));
      }
      refusedWith(403)(await upgrade(app, { path, origin: 'http://evil.example' }));
    } finally {
      app.sessions.off('connected', onSocket);
    }
    assert.equal(connects, 0, 'no refused upgrade reached the session');
    assert.equal(app.sessions.get(victim.id)!.socket, null);
  });

  test('forwarded headers are not trusted without server.proxy', async () => {
    const headers = { Cookie: user.cookie, 'X-Forwarded-Host': 'evil.example', 'X-Forwarded-Proto': 'https' };
    refusedWith(403)(await upgrade(app, { path, origin: 'https://evil.example', headers }));
    accepted(await upgrade(app, { path, origin: own, headers }));
  });
});

describe('WebSocket origin with cookies on, behind a proxy, with an allow list', () => {
  let app: App;
  let user: { cookie: string };

  before(async () => {
    app = await startApp(['--session.cookie.enabled', '--session.cookie.secure=false', '--server.proxy', '--server.cors', 'http://allowed.example']);
    user = await loginCookie(app, 'bob');
  });
  after(async () => {
    await app?.close();
  });

  test('the origin the proxy was reached at is our own', async () => {
    const forwarded = { Cookie: user.cookie, 'X-Forwarded-Host': 'neko.example, internal:8080', 'X-Forwarded-Proto': 'https' };
    accepted(await upgrade(app, { origin: 'https://neko.example', headers: forwarded }));
    refusedWith(403)(await upgrade(app, { origin: 'http://neko.example', headers: forwarded }));
    refusedWith(403)(await upgrade(app, { origin: app.url, headers: forwarded }));
    // Without forwarded headers the Host header names us.
    accepted(await upgrade(app, { origin: app.url, headers: { Cookie: user.cookie } }));
  });

  test('a listed origin is served, others get 403', async () => {
    accepted(await upgrade(app, { origin: 'http://allowed.example', headers: { Cookie: user.cookie } }));
    refusedWith(403)(await upgrade(app, { origin: 'http://other.example', headers: { Cookie: user.cookie } }));
    accepted(await upgrade(app, { headers: { Cookie: user.cookie } }));
  });
});

describe('WebSocket origin with cookies off', () => {
  let listed: App;
  let open: App;

  before(async () => {
    listed = await startApp(['--server.cors', 'http://allowed.example']);
    open = await startApp([]);
  });
  after(async () => {
    await listed?.close();
    await open?.close();
  });

  test('with an allow list: listed, own and no Origin are served, others get the contract 400', async () => {
    const { token } = await loginCookie(listed, 'cat');
    const headers = { Authorization: `Bearer ${token}` };
    accepted(await upgrade(listed, { origin: 'http://allowed.example', headers }));
    refusedWith(400)(await upgrade(listed, { origin: 'http://evil.example', headers }));
    accepted(await upgrade(listed, { origin: listed.url, headers }));
    accepted(await upgrade(listed, { headers }));
  });

  test('without one any origin is served: a page has no credentials to ride', async () => {
    const { token } = await loginCookie(open, 'dan');
    accepted(await upgrade(open, { path: `/api/ws?token=${token}`, origin: 'http://evil.example' }));
  });
});
