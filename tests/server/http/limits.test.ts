import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { App } from '../../../server/src/main.js';
import { api, openapi } from '../../helpers/api.js';
import { startApp } from '../../helpers/app.js';
import { login } from '../../helpers/viewer.js';

const MAX_BODY = 4096;

interface Op {
  requestBody?: { content?: Record<string, unknown> };
}

/** Every documented operation that takes a JSON body, with its path parameters filled in. */
function jsonOperations(sessionId: string): Array<{ method: 'post' | 'delete'; path: string }> {
  const out: Array<{ method: 'post' | 'delete'; path: string }> = [];
  for (const [template, item] of Object.entries(openapi.paths)) {
    for (const method of ['post', 'delete'] as const) {
      const op = item[method] as Op | undefined;
      if (!op?.requestBody?.content?.['application/json']) continue;
      out.push({ method, path: template.replace('{sessionId}', sessionId).replace('{memberId}', sessionId) });
    }
  }
  return out;
}

describe('request body limits and bad JSON on every JSON route', () => {
  let app: App;
  let admin: { id: string; token: string };
  let served: Set<string>;
  before(async () => {
    app = await startApp([
      '--capture.video.ids', 'main',
      '--server.max_body', String(MAX_BODY),
      '--member.provider', 'object',
      '--member.object.users', JSON.stringify([{ username: 'root', password: 'pw', profile: { is_admin: true } }]),
      '--openinapp.enabled',
      '--session.implicit_hosting',
    ]);
    admin = await login(app.url, 'root', 'pw');
    await api(app.url, admin.token).post('/api/room/control/take').expect(204);
    served = new Set(app.router.stack.flatMap((l) => l.methods.map((m) => `${m} ${String(l.path).replace(/:(\w+)/g, '{$1}')}`)));
  });
  after(async () => {
    await app?.close();
  });

  const isServed = (method: string, path: string, sessionId: string) => {
    const template = path.replace(sessionId, '{sessionId}');
    return served.has(`${method.toUpperCase()} ${template}`) || served.has(`${method.toUpperCase()} ${path.replace(sessionId, '{memberId}')}`);
  };

  test('a body over server.max_body is a 413 everywhere, declared or streamed', async () => {
    const big = JSON.stringify({ text: 'x'.repeat(MAX_BODY) });
    const checked: string[] = [];
    for (const { method, path } of jsonOperations(admin.id)) {
      if (!isServed(method, path, admin.id)) continue;
      const res = await api(app.url, admin.token)[method](path).set('content-type', 'application/json').send(big);
      assert.equal(res.status, 413, `${method} ${path}: ${res.status} ${res.text}`);
      assert.equal(res.body.code, 413, `${method} ${path} body`);
      checked.push(path);
    }
    assert.ok(checked.includes('/api/login') && checked.includes('/api/batch'), `checked ${checked.join(', ')}`);
    // Without a Content-Length the limit is enforced while reading.
    const chunked = await fetch(`${app.url}/api/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: new Blob([big]).stream(),
      duplex: 'half',
    } as RequestInit);
    assert.equal(chunked.status, 413);
  });

  test('malformed JSON is a 4xx everywhere (a 500 only where the contract says so) and the server stays up', async () => {
    for (const { method, path } of jsonOperations(admin.id)) {
      if (!isServed(method, path, admin.id)) continue;
      for (const body of ['{', '', '[]', '"x"', '{"text":{"a":[1,2,{"b":null}]}}']) {
        const res = await api(app.url, admin.token)[method](path).set('content-type', 'application/json').send(body);
        const allowed500 = path === '/api/batch' || path.startsWith('/api/members');
        const ok = (res.status >= 200 && res.status < 300) || (res.status >= 400 && res.status < 500) || (allowed500 && res.status === 500);
        assert.ok(ok, `${method} ${path} with ${JSON.stringify(body)}: ${res.status} ${res.text}`);
      }
    }
    await api(app.url).get('/health').expect(200);
  });
});
