import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import { LoginLimiter } from '../../../server/src/api/login-limit.js';
import { silentLogger } from '../../../server/src/log.js';
import type { App } from '../../../server/src/main.js';
import { api } from '../../helpers/api.js';
import { startApp } from '../../helpers/app.js';

describe('LoginLimiter', () => {
  const clock = () => {
    let t = 1_000_000;
    return { now: () => t, advance: (ms: number) => (t += ms) };
  };

  test('refuses after N failures until the oldest one leaves the window', () => {
    const c = clock();
    const limiter = new LoginLimiter({ maxFailures: 3, windowMs: 60_000, proxy: false, logger: silentLogger(), now: c.now });
    limiter.recordFailure('a');
    c.advance(10_000);
    limiter.recordFailure('a');
    assert.equal(limiter.retryAfter('a'), 0, 'two failures are fine');
    limiter.recordFailure('a');
    assert.equal(limiter.retryAfter('a'), 50, 'the first failure leaves the window in 50 s');
    assert.equal(limiter.retryAfter('b'), 0, 'other addresses are not affected');
    c.advance(50_000);
    assert.equal(limiter.retryAfter('a'), 0, 'resets once the window passed');
    c.advance(60_000);
    assert.equal(limiter.retryAfter('a'), 0, 'still fine');
    assert.equal(limiter.size, 0, 'an address whose failures all expired is forgotten');
  });

  test('memory stays bounded: the stalest addresses are evicted first', () => {
    const c = clock();
    const limiter = new LoginLimiter({ maxFailures: 1, maxAddresses: 100, proxy: false, logger: silentLogger(), now: c.now });
    for (let i = 0; i < 1000; i++) {
      limiter.recordFailure(`10.0.${i >> 8}.${i & 255}`);
      c.advance(1);
    }
    assert.equal(limiter.size, 100);
    assert.ok(limiter.retryAfter('10.0.3.231') > 0, 'the most recent address is still limited');
    assert.equal(limiter.retryAfter('10.0.0.0'), 0, 'the oldest one was evicted');
  });

  test('successful logins have their own budget over the same window', () => {
    const c = clock();
    const limiter = new LoginLimiter({ maxFailures: 2, maxSuccesses: 3, windowMs: 60_000, proxy: false, logger: silentLogger(), now: c.now });
    for (let i = 0; i < 3; i++) {
      limiter.recordSuccess('a');
      c.advance(1000);
    }
    assert.equal(limiter.retryAfterSuccesses('a'), 57, 'the first success leaves the window in 57 s');
    assert.equal(limiter.retryAfter('a'), 0, 'successes do not use up the failure budget');
    assert.equal(limiter.retryAfterSuccesses('b'), 0, 'other addresses are not affected');
    c.advance(56_999);
    assert.equal(limiter.retryAfterSuccesses('a'), 1);
    c.advance(1);
    assert.equal(limiter.retryAfterSuccesses('a'), 0);
  });
});

function attempt(app: App, password: string, headers: Record<string, string> = {}) {
  const req = api(app.url).post('/api/login');
  for (const [k, v] of Object.entries(headers)) req.set(k, v);
  return req.send({ username: 'eve', password });
}

describe('login rate limit behind a proxy (server.proxy)', () => {
  let app: App;
  before(async () => {
    app = await startApp(['--capture.video.ids', 'main', '--server.proxy']);
  });
  after(async () => {
    await app?.close();
  });

  test('10 failures from one address, then 429 with Retry-After; other addresses unaffected', async () => {
    const eve = { 'X-Forwarded-For': '203.0.113.7, 10.0.0.1' };
    for (let i = 0; i < 10; i++) await attempt(app, 'wrong', eve).expect(401);
    const limited = await attempt(app, 'wrong', eve).expect(429);
    assert.equal(limited.body.code, 429);
    assert.equal(typeof limited.body.message, 'string');
    const retry = Number(limited.headers['retry-after']);
    assert.ok(Number.isInteger(retry) && retry >= 1 && retry <= 60, `Retry-After ${limited.headers['retry-after']}`);
    await attempt(app, 'neko', eve).expect(429);
    await attempt(app, 'neko', { 'X-Real-IP': '203.0.113.7' }).expect(429);

    await attempt(app, 'wrong', { 'X-Forwarded-For': '198.51.100.1' }).expect(401);
    await attempt(app, 'neko', { 'X-Forwarded-For': '198.51.100.1' }).expect(200);
  });

  test('successful logins do not count', async () => {
    const ok = { 'X-Real-IP': '192.0.2.55' };
    for (let i = 0; i < 15; i++) await attempt(app, 'neko', ok).expect(200);
    for (let i = 0; i < 10; i++) await attempt(app, 'wrong', ok).expect(401);
    await attempt(app, 'wrong', ok).expect(429);
  });

  test('logins inside a batch count for the outer address', async () => {
    const items = Array.from({ length: 12 }, () => ({ path: '/api/login', method: 'POST', body: { username: 'eve', password: 'wrong' } }));
    const res = await api(app.url).post('/api/batch').set('X-Real-IP', '192.0.2.77').send(items).expect(200);
    const statuses = (res.body as Array<{ status: number }>).map((i) => i.status);
    assert.deepEqual(statuses, [...Array(10).fill(401), 429, 429]);
    await attempt(app, 'neko', { 'X-Real-IP': '192.0.2.77' }).expect(429);
  });

  test('only wrong credentials count, not malformed requests', async () => {
    const addr = { 'X-Real-IP': '192.0.2.66' };
    for (let i = 0; i < 12; i++) {
      await api(app.url).post('/api/login').set(addr).set('content-type', 'application/json').send('{').expect(400);
    }
    await attempt(app, 'neko', addr).expect(200);
  });
});

describe('login rate limit without a proxy', () => {
  let app: App;
  before(async () => {
    app = await startApp(['--capture.video.ids', 'main']);
  });
  after(async () => {
    await app?.close();
  });

  test('forwarding headers are ignored: spoofing them does not reset the budget', async () => {
    for (let i = 0; i < 10; i++) await attempt(app, 'wrong', { 'X-Forwarded-For': `198.51.100.${i}` }).expect(401);
    const res = await attempt(app, 'wrong', { 'X-Forwarded-For': '198.51.100.200' }).expect(429);
    assert.deepEqual(Object.keys(res.body), ['code', 'message']);
    assert.ok(res.headers['retry-after'], 'Retry-After present');
  });
});

describe('login rate limit from configuration', () => {
  let app: App;
  before(async () => {
    app = await startApp(['--capture.video.ids', 'main', '--server.login_failures', '2', '--server.login_window', '30s']);
  });
  after(async () => {
    await app?.close();
  });

  test('server.login_failures and server.login_window set the budget and the wait', async () => {
    await attempt(app, 'wrong', {}).expect(401);
    await attempt(app, 'wrong', {}).expect(401);
    const res = await attempt(app, 'wrong', {}).expect(429);
    const wait = Number(res.headers['retry-after']);
    assert.ok(wait > 0 && wait <= 30, `Retry-After within the 30 s window, got ${wait}`);
  });
});

describe('successful-login limit (server.login_successes)', () => {
  let app: App;
  const lines: string[] = [];
  before(async () => {
    const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(line) });
    app = await startApp(['--capture.video.ids', 'main', '--server.proxy', '--server.login_successes', '3', '--server.login_window', '30s'], logger);
  });
  after(async () => {
    await app?.close();
  });

  test('the next login past the budget gets 429 with Retry-After; other addresses log in; one log line per flood', async () => {
    const mallory = { 'X-Real-IP': '203.0.113.9' };
    for (let i = 0; i < 3; i++) await attempt(app, 'neko', mallory).expect(200);
    const limited = await attempt(app, 'neko', mallory).expect(429);
    assert.deepEqual(limited.body, { code: 429, message: 'too many logins' });
    const wait = Number(limited.headers['retry-after']);
    assert.ok(Number.isInteger(wait) && wait >= 1 && wait <= 30, `Retry-After ${limited.headers['retry-after']}`);
    assert.equal(app.sessions.list().length, 3, 'no session was created for the refused login');
    for (let i = 0; i < 50; i++) await attempt(app, 'neko', mallory).expect(429);
    await attempt(app, 'neko', { 'X-Real-IP': '203.0.113.10' }).expect(200);
    const refusals = lines.filter((l) => l.includes('logins refused'));
    assert.equal(refusals.length, 1, `one warning for 51 refusals, got ${refusals.length}`);
    assert.equal(JSON.parse(refusals[0]!).address, '203.0.113.9');
  });
});
