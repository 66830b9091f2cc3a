import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, open, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import type { App } from '../../../server/src/main.js';
import { api } from '../../helpers/api.js';
import { startApp } from '../../helpers/app.js';
import { SocketClient } from '../../helpers/viewer.js';
import { waitFor } from '../../helpers/x11.js';

const RTMP_MODULE = '/usr/lib/nginx/modules/ngx_rtmp_module.so';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

interface Rtmp {
  dir: string;
  url(stream: string): string;
  close(): Promise<void>;
}

/** A real RTMP server: nginx with the rtmp module, recording every published stream into `dir`. */
async function startNginx(): Promise<Rtmp> {
  const dir = await mkdtemp(path.join(tmpdir(), 'neko-rtmp-'));
  const port = await freePort();
  assert.ok(existsSync(RTMP_MODULE), 'nginx rtmp module installed (scripts/setup.sh: nginx libnginx-mod-rtmp)');
  await writeFile(
    path.join(dir, 'nginx.conf'),
    [
      `load_module ${RTMP_MODULE};`,
      'daemon off;',
      'master_process off;',
      'worker_processes 1;',
      `pid ${dir}/nginx.pid;`,
      `error_log ${dir}/error.log info;`,
      'events { worker_connections 64; }',
      'rtmp { server {',
      `  listen 127.0.0.1:${port};`,
      `  application live { live on; record all; record_path ${dir}/rec; record_unique on; }`,
      '} }',
      '',
    ].join('\n'),
  );
  await mkdir(path.join(dir, 'rec'));
  const child = spawn('nginx', ['-p', dir, '-c', path.join(dir, 'nginx.conf')], { detached: true, stdio: 'ignore' });
  await waitFor('nginx listening', () => {
    return new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => (s.destroy(), resolve(true)));
      s.once('error', () => resolve(false));
    });
  });
  return {
    dir,
    url: (stream) => `rtmp://127.0.0.1:${port}/live/${stream}`,
    async close() {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function recordings(dir: string): Promise<Array<{ name: string; size: number }>> {
  const names = (await readdir(path.join(dir, 'rec'))).filter((n) => n.endsWith('.flv'));
  return Promise.all(names.map(async (name) => ({ name, size: (await stat(path.join(dir, 'rec', name))).size })));
}

describe('RTMP broadcast against a local nginx-rtmp server', () => {
  let app: App;
  let dir: string;
  let rtmp: Rtmp | undefined;
  let url: string;
  let admin: { token: string; ws: SocketClient };
  let user: { token: string; ws: SocketClient };

  before(async () => {
    rtmp = await startNginx();
    dir = rtmp.dir;
    url = rtmp.url('neko-test');
    app = await startApp(['--desktop.screen', '320x240@30', '--capture.broadcast.video_bitrate', '300']);
    const a = await api(app.url).post('/api/login').send({ username: 'root', password: 'admin' }).expect(200);
    const u = await api(app.url).post('/api/login').send({ username: 'ann', password: 'neko' }).expect(200);
    admin = { token: a.body.token, ws: await SocketClient.open(app.url, a.body.token) };
    user = { token: u.body.token, ws: await SocketClient.open(app.url, u.body.token) };
    await admin.ws.waitFor('system/admin');
    await user.ws.waitFor('system/init');
  });
  after(async () => {
    admin?.ws.close();
    user?.ws.close();
    await app?.close();
    await rtmp?.close();
  });

  test('bad requests: user 403, missing or non-RTMP URL 400, stop while idle 422', async () => {
    const asUser = await api(app.url, user.token).post('/api/room/broadcast/start').send({ url }).expect(403);
    assert.deepEqual(asUser.body, { code: 403, message: 'session is not admin' });
    await api(app.url, user.token).get('/api/room/broadcast').expect(403);
    const missing = await api(app.url, admin.token).post('/api/room/broadcast/start').send({}).expect(400);
    assert.deepEqual(missing.body, { code: 400, message: 'missing broadcast URL' });
    await api(app.url, admin.token).post('/api/room/broadcast/start').send({ url: 'http://127.0.0.1/x' }).expect(400);
    await api(app.url, admin.token).post('/api/room/broadcast/start').send({ url: 'rtmp://h/a b ! filesink location=/tmp/x' }).expect(400);
    const idle = await api(app.url, admin.token).post('/api/room/broadcast/stop').expect(422);
    assert.deepEqual(idle.body, { code: 422, message: 'server is not broadcasting' });
    const status = await api(app.url, admin.token).get('/api/room/broadcast').expect(200);
    assert.deepEqual(status.body, { is_active: false });
  });

  test('start: the RTMP server receives an FLV stream with video and audio; admins are told', async () => {
    await api(app.url, admin.token).post('/api/room/broadcast/start').send({ url }).expect(204);
    const told = await admin.ws.waitFor('broadcast/status', (p) => p.is_active);
    assert.deepEqual(told.payload, { is_active: true, url });
    const status = await api(app.url, admin.token).get('/api/room/broadcast').expect(200);
    assert.deepEqual(status.body, { is_active: true, url });
    const again = await api(app.url, admin.token).post('/api/room/broadcast/start').send({ url }).expect(422);
    assert.deepEqual(again.body, { code: 422, message: 'server is already broadcasting' });

    const [first] = await waitFor('a growing recording', async () => {
      const recs = await recordings(dir);
      return recs.length === 1 && recs[0]!.size > 20_000 ? recs : null;
    }, 15_000);
    const fd = await open(path.join(dir, 'rec', first!.name), 'r');
    const header = Buffer.alloc(5);
    await fd.read(header, 0, 5, 0);
    await fd.close();
    assert.equal(header.subarray(0, 3).toString(), 'FLV');
    assert.equal(header[4]! & 0x01, 0x01, 'the stream carries video');
    assert.equal(header[4]! & 0x04, 0x04, 'the stream carries audio');

    // A newcomer admin learns the state from system/admin; users never hear about it.
    const late = await SocketClient.open(app.url, admin.token);
    const info = await late.waitFor('system/admin');
    assert.deepEqual(info.payload.broadcast_status, { is_active: true, url });
    admin.ws = late;
    user.ws.send('send/broadcast', { subject: 'mark', body: null });
    await late.waitFor('send/broadcast', (p) => p.subject === 'mark');
    assert.equal(user.ws.events.filter((e) => e.event === 'broadcast/status').length, 0, 'broadcast/status is for admins only');
  });

  test('stop: nothing more reaches the RTMP server', async () => {
    await api(app.url, admin.token).post('/api/room/broadcast/stop').expect(204);
    assert.deepEqual((await admin.ws.waitFor('broadcast/status', (p) => !p.is_active)).payload, { is_active: false });
    const status = await api(app.url, admin.token).get('/api/room/broadcast').expect(200);
    assert.deepEqual(status.body, { is_active: false });
    await sleep(1000);
    const settled = await recordings(dir);
    await sleep(1500);
    assert.deepEqual(await recordings(dir), settled, 'the recording stopped growing and no new stream was published');
  });

  test('a server that refuses the connection fails the start with 500 and leaves it inactive', async () => {
    const closed = await freePort();
    const res = await api(app.url, admin.token).post('/api/room/broadcast/start').send({ url: `rtmp://127.0.0.1:${closed}/live/x` }).expect(500);
    assert.equal(res.body.code, 500);
    const status = await api(app.url, admin.token).get('/api/room/broadcast').expect(200);
    assert.deepEqual(status.body, { is_active: false });
  });
});

describe('RTMP broadcast autostart with a custom pipeline', () => {
  let app: App;
  let dir: string;
  let rtmp: Rtmp | undefined;
  let url: string;

  before(async () => {
    rtmp = await startNginx();
    dir = rtmp.dir;
    url = rtmp.url('auto');
    app = await startApp([
      '--desktop.screen', '320x240@30',
      '--capture.broadcast.url', url,
      '--capture.broadcast.pipeline',
      'videotestsrc is-live=true ! video/x-raw,width=160,height=120 ! x264enc tune=zerolatency speed-preset=ultrafast ' +
        '! h264parse ! flvmux streamable=true ! rtmp2sink location={url}',
    ]);
  });
  after(async () => {
    await app?.close();
    await rtmp?.close();
  });

  test('capture.broadcast.url starts the broadcast at startup, through the custom pipeline', async () => {
    await waitFor('the autostarted stream is recorded', async () => {
      const recs = await recordings(dir);
      return recs.some((r) => r.name.startsWith('auto') && r.size > 5000);
    }, 15_000);
    const res = await api(app.url).post('/api/login').send({ username: 'root', password: 'admin' }).expect(200);
    const status = await api(app.url, res.body.token).get('/api/room/broadcast').expect(200);
    assert.deepEqual(status.body, { is_active: true, url });
  });
});
