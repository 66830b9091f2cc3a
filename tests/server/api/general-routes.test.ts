import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { parse } from 'yaml';
import type { App } from '../../../server/src/main.js';
import { api } from '../../helpers/api.js';
import { startApp } from '../../helpers/app.js';
import { SocketClient, login } from '../../helpers/viewer.js';

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

async function until<T>(probe: () => Promise<T>, ok: (v: T) => boolean, what: string): Promise<T> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const value = await probe();
    if (ok(value)) return value;
    assert.ok(Date.now() < deadline, `timed out waiting for ${what}; last value ${JSON.stringify(value)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('general routes: stats, metrics, openapi.yaml, /api/ws without upgrade', () => {
  let app: App;
  let user: { id: string; token: string };
  let admin: { id: string; token: string };
  before(async () => {
    app = await startApp(['--capture.video.ids', 'main']);
    user = await login(app.url, 'ann', 'neko');
    admin = await login(app.url, 'root', 'admin');
  });
  after(async () => {
    await app?.close();
  });

  const stats = async () => (await api(app.url, user.token).get('/api/stats').expect(200)).body as Record<string, unknown>;

  test('stats needs a session', async () => {
    const res = await api(app.url).get('/api/stats').expect(401);
    assert.deepEqual(res.body, { code: 401, message: 'Unauthorized' });
  });

  test('stats counts connected users and admins and keeps the *_left_at rules', async () => {
    const initial = await stats();
    assert.equal(initial.has_host, false);
    assert.equal(initial.host_id, undefined, 'host_id is omitted without a host');
    assert.equal(initial.total_users, 0);
    assert.equal(initial.total_admins, 0);
    assert.match(String(initial.server_started_at), RFC3339);
    assert.equal(initial.last_user_left_at, undefined, 'nobody has left yet');
    assert.equal(initial.last_admin_left_at, undefined, 'nobody has left yet');

    const userSocket = await SocketClient.open(app.url, user.token);
    await userSocket.waitFor('system/init');
    const withUser = await until(stats, (s) => s.total_users === 1, 'one user');
    assert.equal(withUser.total_admins, 0);

    const adminSocket = await SocketClient.open(app.url, admin.token);
    await adminSocket.waitFor('system/init');
    adminSocket.send('control/request');
    await adminSocket.waitFor('control/host', (p) => p.has_host === true);
    const withHost = await until(stats, (s) => s.total_admins === 1, 'one admin');
    assert.equal(withHost.has_host, true);
    assert.equal(withHost.host_id, admin.id);

    userSocket.close();
    const userGone = await until(stats, (s) => s.total_users === 0, 'user gone');
    assert.match(String(userGone.last_user_left_at), RFC3339, 'set when the last user leaves');
    assert.equal(userGone.last_admin_left_at, undefined, 'admins are counted separately');

    adminSocket.close();
    const adminGone = await until(stats, (s) => s.total_admins === 0, 'admin gone');
    assert.match(String(adminGone.last_admin_left_at), RFC3339, 'set when the last admin leaves');
    assert.equal(adminGone.has_host, false, 'the host left');

    const again = await SocketClient.open(app.url, user.token);
    await again.waitFor('system/init');
    const back = await until(stats, (s) => s.total_users === 1, 'user back');
    assert.equal(back.last_user_left_at, undefined, 'cleared when a user connects again');
    assert.match(String(back.last_admin_left_at), RFC3339, 'an admin still has not come back');
    again.close();
    await until(stats, (s) => s.total_users === 0, 'user gone again');
  });

  test('/metrics exposes neko_ metrics in the Prometheus text format', async () => {
    await api(app.url).get('/health').expect(200);
    const res = await api(app.url).get('/metrics').expect(200);
    assert.match(String(res.headers['content-type']), /^text\/plain/);
    const text = res.text;
    for (const name of [
      'neko_process_cpu_user_seconds_total',
      'neko_nodejs_heap_size_used_bytes',
      'neko_sessions{state="total"}',
      'neko_sessions{state="connected"}',
      'neko_http_requests_total{method="GET",route="/health",status="200"}',
      'neko_ws_events_total',
      'neko_rtp_packets_total{stream="main"}',
      'neko_rtp_bytes_total{stream="main"}',
    ]) {
      assert.ok(text.includes(name), `metrics lack ${name}`);
    }
    assert.match(text, /^neko_sessions\{state="total"\} 2$/m, 'two sessions logged in');
    // Not through api(): an unknown path is by definition not in openapi.yaml.
    assert.equal((await fetch(`${app.url}/api/nothing-here`)).status, 404);
    const after = (await api(app.url).get('/metrics').expect(200)).text;
    assert.ok(after.includes('neko_http_requests_total{method="GET",route="unmatched",status="404"}'), 'unmatched paths share one label');
    assert.ok(!after.includes('nothing-here'), 'raw paths never become labels');
  });

  test('WebSocket events are counted by name, unknown ones as unknown', async () => {
    const socket = await SocketClient.open(app.url, user.token);
    await socket.waitFor('system/init');
    socket.send('client/heartbeat');
    socket.send('no/such/event', { a: 1 });
    socket.sendRaw('not json');
    const text = await until(
      async () => (await api(app.url).get('/metrics').expect(200)).text,
      (t) => t.includes('event="unknown",result="dropped"') && t.includes('event="malformed",result="dropped"'),
      'ws event counts',
    );
    assert.match(text, /neko_ws_events_total\{event="client\/heartbeat",result="handled"\} [1-9]/);
    assert.ok(!text.includes('no/such/event'), 'unknown names never become labels');
    socket.close();
  });

  test('GET /openapi.yaml serves the contract document', async () => {
    const res = await api(app.url).get('/openapi.yaml').expect(200);
    assert.match(String(res.headers['content-type']), /^application\/yaml/);
    const doc = parse(res.text) as { openapi: string; paths: Record<string, unknown> };
    assert.equal(doc.openapi, '3.1.0');
    assert.equal(res.text, readFileSync(new URL('../../../openapi.yaml', import.meta.url), 'utf8'));
  });

  test('GET /api/ws without an upgrade is a 400', async () => {
    const res = await api(app.url).get('/api/ws').expect(400);
    assert.equal(res.body.code, 400);
  });

  test('unknown routes 404, known paths with a wrong method 405 with Allow', async () => {
    // Not through api(): unknown paths and wrong methods are by definition not documented.
    const missing = await fetch(`${app.url}/api/nope`);
    assert.equal(missing.status, 404);
    assert.deepEqual(await missing.json(), { code: 404, message: 'Not Found' });
    const res = await fetch(`${app.url}/api/stats`, { method: 'DELETE' });
    assert.equal(res.status, 405);
    assert.deepEqual(await res.json(), { code: 405, message: 'Method Not Allowed' });
    assert.match(res.headers.get('allow') ?? '', /GET/);
  });
});

describe('metrics disabled', () => {
  let app: App;
  before(async () => {
    app = await startApp(['--capture.video.ids', 'main', '--server.metrics=false']);
  });
  after(async () => {
    await app?.close();
  });

  test('/metrics is a 404', async () => {
    const res = await api(app.url).get('/metrics').expect(404);
    assert.deepEqual(res.body, { code: 404, message: 'Not Found' });
  });
});
