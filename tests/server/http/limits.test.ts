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

const UNPARSABLE = { code: 400, message: 'unable to parse provided data' };
const EMPTY = { code: 400, message: 'no data provided' };

/**
 * What the contract answers a body with (§3 "Bad JSON body", the batch and bulk rows):
 * an exact response, any 400 error body for JSON of the wrong shape, or the route's own choice
 * for an object with wrong fields.
 */
function expectedFor(path: string, body: string): { status: number; body: unknown } | 'any-400' | 'error-or-success' {
  const malformed = body === '' || body === '{';
  if (path === '/api/batch') {
    if (body === '[]') return { status: 200, body: [] };
    return { status: 500, body: { code: 500, message: 'Internal Server Error' } };
  }
  if (path.startsWith('/api/members_bulk/')) return { status: 400, body: { code: 400, message: 'unable to unmarshal payload' } };
  if (malformed) return { status: 400, body: body === '' ? EMPTY : UNPARSABLE };
  return body.startsWith('{') ? 'error-or-success' : 'any-400';
}

/** A 400 with the contract's error body and some message. */
function assertBadRequest(status: number, body: unknown, label: string): void {
  assert.equal(status, 400, label);
  const { message } = body as { message?: unknown };
  assert.ok(typeof message === 'string' && message.length > 0, label);
  assert.deepEqual(body, { code: 400, message }, label);
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

  /** The documented JSON routes; every one must be served in this configuration, or the checks would skip it. */
  const operations = () => {
    const all = jsonOperations(admin.id);
    const unserved = all.filter(({ method, path }) => !isServed(method, path, admin.id)).map(({ method, path }) => `${method} ${path}`);
    assert.deepEqual(unserved, [], 'documented JSON routes this configuration does not serve');
    assert.ok(all.length >= 15, `${all.length} JSON routes documented`);
    return all;
  };

  test('a body over server.max_body is a 413 everywhere, declared or streamed', async () => {
    const big = JSON.stringify({ text: 'x'.repeat(MAX_BODY) });
    const checked: string[] = [];
    for (const { method, path } of operations()) {
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

  test('malformed JSON is the contract\'s 400 everywhere (a 500 only where the contract says so) and the server stays up', async () => {
    for (const { method, path } of operations()) {
      for (const body of ['{', '', '[]', '"x"', '{"text":{"a":[1,2,{"b":null}]}}']) {
        const res = await api(app.url, admin.token)[method](path).set('content-type', 'application/json').send(body);
        const label = `${method} ${path} with ${JSON.stringify(body)}: ${res.status} ${res.text}`;
        const expected = expectedFor(path, body);
        if (expected === 'error-or-success') {
          // A well-formed object whose fields are wrong or unknown: the route decides, but never a crash.
          if (res.status >= 300) assertBadRequest(res.status, res.body, label);
        } else if (expected === 'any-400') {
          assertBadRequest(res.status, res.body, label);
        } else {
          assert.equal(res.status, expected.status, label);
          assert.deepEqual(res.body, expected.body, label);
        }
      }
    }
    await api(app.url).get('/health').expect(200);
  });
});
