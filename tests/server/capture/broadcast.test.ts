import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, symlink } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { AAC_ENCODERS, Broadcast } from '../../../server/src/capture/broadcast.js';
import { HttpError } from '../../../server/src/errors.js';
import { silentLogger } from '../../../server/src/log.js';
import type { App } from '../../../server/src/main.js';
import { api } from '../../helpers/api.js';
import { startApp } from '../../helpers/app.js';
import { flvMedia, parseFlv, TAG_AUDIO, TAG_VIDEO } from '../../helpers/flv.js';
import { LogLines } from '../../helpers/log-lines.js';
import { SocketClient } from '../../helpers/viewer.js';
import { waitFor } from '../../helpers/x11.js';
import { freePort } from '../../helpers/ports.js';
import { startRtmpServer, type RtmpServer } from '../../helpers/rtmp-server.js';

const execFileP = promisify(execFile);

describe('RTMP broadcast against a local nginx-rtmp server', () => {
  let app: App;
  let dir: string;
  let rtmp: RtmpServer | undefined;
  let url: string;
  let admin: { token: string; ws: SocketClient };
  let user: { token: string; ws: SocketClient };

  before(async () => {
    rtmp = await startRtmpServer();
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

    // nginx-rtmp writes both media flags into every recording's header: only the tags tell.
    let media = flvMedia({ flags: 0, tags: [] });
    await waitFor('a recording with H.264 and AAC frames', async () => {
      const recs = await rtmp!.recordings();
      if (recs.length !== 1) return false;
      const bytes = await readFile(path.join(dir, 'rec', recs[0]!.name));
      // nginx creates the file before it writes the header.
      if (bytes.length < 9) return false;
      media = flvMedia(parseFlv(bytes));
      return media.avcFrames >= 25 && media.aacFrames >= 20;
    }, 20_000).catch((err: Error) => {
      throw new Error(`${err.message}: ${JSON.stringify(media)}`);
    });
    assert.equal(media.otherVideo, 0, 'every video tag is H.264');
    assert.ok(media.avcConfigs >= 1 && media.avcKeyframes >= 1, `H.264 config and a keyframe: ${JSON.stringify(media)}`);
    assert.equal(media.otherAudio, 0, 'every audio tag is AAC');
    assert.ok(media.aacConfigs >= 1, `AAC config: ${JSON.stringify(media)}`);
    assert.ok(media.audioSpanMs >= 300, `the audio runs on: ${JSON.stringify(media)}`);

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
    const settled = await rtmp!.recordings();
    await sleep(1500);
    assert.deepEqual(await rtmp!.recordings(), settled, 'the recording stopped growing and no new stream was published');
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
  let rtmp: RtmpServer | undefined;
  let url: string;

  before(async () => {
    rtmp = await startRtmpServer();
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
      const recs = await rtmp!.recordings();
      return recs.some((r) => r.name.startsWith('auto') && r.size > 5000);
    }, 15_000);
    const res = await api(app.url).post('/api/login').send({ username: 'root', password: 'admin' }).expect(200);
    const status = await api(app.url, res.body.token).get('/api/room/broadcast').expect(200);
    assert.deepEqual(status.body, { is_active: true, url });
  });
});

describe('FLV tag reader (test helper)', () => {
  test('counts AAC and H.264 tags by their content, not by the header flags', () => {
    const hex = [
      '464c56 01 05 00000009', '00000000', // header claiming audio and video; PreviousTagSize0
      '09 000005 000000 00 000000', '1700000000', '00000010', // AVC sequence header (key)
      '08 000004 000000 00 000000', 'af001210', '0000000f', // AAC AudioSpecificConfig
      '09 000006 000028 00 000000', '170100000065', '00000011', // AVC keyframe at 40 ms
      '08 000003 000017 00 000000', 'af0121', '0000000e', // AAC frame at 23 ms
      '09 000006 000050 00 000000', '270100000041', '00000011', // AVC inter frame at 80 ms
      '08 000003 000040 01 000000', 'af0121', '0000000e', // AAC frame at 0x01000040 ms (extended byte)
      '08 000002 000050 00 000000', '2fff', '0000000d', // MP3 audio
      '09 000010 0000', // a tag still being written
    ].join('').replace(/\s/g, '');
    const file = parseFlv(Buffer.from(hex, 'hex'));
    assert.equal(file.flags, 0x05);
    assert.deepEqual(file.tags.map((t) => t.type), [TAG_VIDEO, TAG_AUDIO, TAG_VIDEO, TAG_AUDIO, TAG_VIDEO, TAG_AUDIO, TAG_AUDIO]);
    assert.deepEqual(flvMedia(file), {
      aacConfigs: 1,
      aacFrames: 2,
      otherAudio: 1,
      avcConfigs: 1,
      avcFrames: 2,
      avcKeyframes: 1,
      otherVideo: 0,
      audioSpanMs: 0x01000040 - 0x17,
    });
    const videoOnly = parseFlv(Buffer.from(hex.slice(0, (9 + 4 + 16) * 2), 'hex'));
    assert.equal(videoOnly.flags & 0x04, 0x04, 'the header still claims audio');
    assert.equal(flvMedia(videoOnly).aacConfigs + flvMedia(videoOnly).aacFrames, 0);
    assert.throws(() => parseFlv(Buffer.from(hex.replace('00000010', '00000011'), 'hex')), /previous-tag-size/);
    assert.throws(() => parseFlv(Buffer.from('not flv at all')), /not an FLV file/);
  });
});

describe('Broadcast start-up failures', () => {
  let listener: ReturnType<typeof createServer>;
  let url: string;

  before(async () => {
    // Something to accept the pre-flight TCP probe; the pipelines below never get to speak RTMP.
    listener = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
    url = `rtmp://127.0.0.1:${(listener.address() as { port: number }).port}/live/x`;
  });
  after(async () => {
    await new Promise((resolve) => listener?.close(resolve));
  });

  test('a pipeline that dies at once fails the start and leaves no timer behind', async () => {
    const broadcast = new Broadcast({
      display: ':0',
      pulseServer: null,
      audioDevice: 'audio_output.monitor',
      audioBitrate: 128,
      videoBitrate: 300,
      preset: 'veryfast',
      pipeline: 'videotestsrc ! no_such_element_here ! fakesink',
      logger: silentLogger(),
    });
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const before = timers();
    try {
      await assert.rejects(broadcast.start(url), (err: unknown) => err instanceof HttpError && err.status === 500);
      // The start-up wait had a 10 s timer; it must go with the child, not linger after it.
      assert.equal(timers(), before, `timers pending after the failed start: ${process.getActiveResourcesInfo().join(', ')}`);
      assert.deepEqual(broadcast.status(), { is_active: false });
    } finally {
      await broadcast.close();
    }
  });

  test('without an AAC encoder a broadcast with audio is refused, with the reason in the error and the log', async () => {
    // A GStreamer that has every installed plugin but the AAC encoders: the real element
    // lookup, run against a plugin directory without them (and a registry of its own).
    const gst = await mkdtemp(path.join(tmpdir(), 'neko-gst-noaac-'));
    try {
      const hidden = new Set<string>();
      let pluginDir = '';
      for (const name of AAC_ENCODERS) {
        const info = await execFileP('gst-inspect-1.0', [name]).catch(() => null);
        const file = info && /^\s*Filename\s+(\S+)/m.exec(info.stdout)?.[1];
        if (!file) continue;
        hidden.add(path.basename(file));
        pluginDir = path.dirname(file);
      }
      assert.ok(pluginDir, `an AAC encoder is installed here (one of ${AAC_ENCODERS.join(', ')})`);
      await mkdir(path.join(gst, 'plugins'));
      for (const name of await readdir(pluginDir)) {
        if (!hidden.has(name)) await symlink(path.join(pluginDir, name), path.join(gst, 'plugins', name));
      }
      const env: NodeJS.ProcessEnv = { ...process.env, GST_PLUGIN_SYSTEM_PATH_1_0: path.join(gst, 'plugins'), GST_REGISTRY_1_0: path.join(gst, 'registry.bin') };
      delete env.GST_PLUGIN_PATH;
      delete env.GST_PLUGIN_PATH_1_0;
      const logs = new LogLines();
      const broadcast = new Broadcast({
        display: ':0',
        pulseServer: 'unix:/nonexistent/native',
        audioDevice: 'audio_output.monitor',
        audioBitrate: 128,
        videoBitrate: 300,
        preset: 'veryfast',
        pipeline: '',
        logger: logs.logger,
        env,
      });
      try {
        await assert.rejects(broadcast.start(url), (err: unknown) => {
          assert.ok(err instanceof HttpError && err.status === 500, String(err));
          assert.match(err.message, /no AAC audio encoder installed/);
          return true;
        });
        assert.deepEqual(broadcast.status(), { is_active: false });
        const logged = await logs.waitFor('broadcast did not start', (l) => l.msg === 'broadcast did not start');
        assert.match(JSON.stringify(logged.err), /no AAC audio encoder installed/);
      } finally {
        await broadcast.close();
      }
    } finally {
      await rm(gst, { recursive: true, force: true });
    }
  });
});
