import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { App } from '../../../server/src/main.js';
import { startApp } from '../../helpers/app.js';
import { Viewer } from '../../helpers/viewer.js';
import { waitFor } from '../../helpers/x11.js';

const PIPELINES = JSON.stringify({
  hq: { width: 'width', height: 'height', fps: 15, bitrate: 1500 },
  // Fewer frames keep lq's measured bitrate below hq's even for a still picture.
  lq: { width: 'width / 2', height: 'height / 2', fps: 5, bitrate: 300 },
});

/** Resolves with the next `signal/video` after `since` events, or null if none comes in `ms`. */
async function nextVideoEvent(viewer: Viewer, since: number, ms = 1500): Promise<any | null> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const e = viewer.socket.events.slice(since).find((ev) => ev.event === 'signal/video');
    if (e) return e.payload;
    await new Promise((r) => setTimeout(r, 25));
  }
  return null;
}

describe('quality streams: hq / lq selection over signal/video', () => {
  let app: App;
  let viewer: Viewer;

  before(async () => {
    app = await startApp(['--capture.video.pipelines', PIPELINES]);
    viewer = await Viewer.connect(app.url, 'alice', 'neko');
  });

  after(async () => {
    viewer?.close();
    await app?.close();
  });

  test('system/init lists the streams and the first one is sent by default', async () => {
    const init = await viewer.socket.waitFor('system/init');
    assert.deepEqual(init.payload.webrtc.videos, ['hq', 'lq']);
    const provide = await viewer.socket.waitFor('signal/provide');
    assert.deepEqual(provide.payload.video, { disabled: false, id: 'hq', video: 'hq', auto: false });
    assert.deepEqual(provide.payload.audio, { disabled: false });
    const frame = await viewer.waitForFrame((f) => f.width === 1280);
    assert.equal(frame.height, 720);
  });

  test('switching to lq changes the decoded frame size and is confirmed', async () => {
    const since = viewer.socket.events.length;
    viewer.socket.send('signal/video', { selector: { id: 'lq', type: 'exact' } });
    const reply = await nextVideoEvent(viewer, since, 5000);
    assert.deepEqual(reply, { disabled: false, id: 'lq', video: 'lq', auto: false });
    const frame = await viewer.waitForFrame((f) => f.width === 640, 15_000);
    assert.equal(frame.height, 360);
  });

  test('"higher" from lq goes back to hq', async () => {
    const since = viewer.socket.events.length;
    viewer.socket.send('signal/video', { selector: { id: 'lq', type: 'HIGHER' } });
    assert.deepEqual(await nextVideoEvent(viewer, since, 5000), { disabled: false, id: 'hq', video: 'hq', auto: false });
    await viewer.waitForFrame((f) => f.width === 1280, 15_000);
  });

  test('unknown streams, impossible steps and no-op changes get no reply', async () => {
    const since = viewer.socket.events.length;
    viewer.socket.send('signal/video', { selector: { id: 'nope', type: 'exact' } });
    viewer.socket.send('signal/video', { selector: { id: 'hq', type: 'higher' } });
    viewer.socket.send('signal/video', { selector: { id: 'hq', type: 'sideways' } });
    viewer.socket.send('signal/video', { selector: { id: 'hq' } });
    viewer.socket.send('signal/video', { disabled: false });
    viewer.socket.send('signal/video', 'garbage');
    assert.equal(await nextVideoEvent(viewer, since), null, 'no signal/video reply');
    assert.equal(viewer.socket.ws.readyState, viewer.socket.ws.OPEN, 'socket still open');
  });

  test('auto does not stick without the estimator', async () => {
    const since = viewer.socket.events.length;
    viewer.socket.send('signal/video', { auto: true });
    assert.equal(await nextVideoEvent(viewer, since), null, 'auto stays false: nothing changed');
  });

  test('disabling video stops frames and is confirmed; enabling resumes them', async () => {
    let since = viewer.socket.events.length;
    viewer.socket.send('signal/video', { disabled: true });
    assert.deepEqual(await nextVideoEvent(viewer, since, 5000), { disabled: true, id: 'hq', video: 'hq', auto: false });
    await new Promise((r) => setTimeout(r, 500));
    const frames = viewer.frames;
    await new Promise((r) => setTimeout(r, 1000));
    assert.ok(viewer.frames - frames <= 1, `no frames while disabled (got ${viewer.frames - frames})`);
    since = viewer.socket.events.length;
    viewer.socket.send('signal/video', { disabled: false });
    assert.deepEqual(await nextVideoEvent(viewer, since, 5000), { disabled: false, id: 'hq', video: 'hq', auto: false });
    await viewer.waitForFrame(() => true, 10_000);
  });

  test('signal/audio replies only on change', async () => {
    const audioEvents = () => viewer.socket.events.filter((e) => e.event === 'signal/audio');
    viewer.socket.send('signal/audio', { disabled: true });
    await viewer.socket.waitFor('signal/audio', (p) => p.disabled === true);
    viewer.socket.send('signal/audio', { disabled: true });
    viewer.socket.send('signal/audio', { disabled: false });
    await viewer.socket.waitFor('signal/audio', (p) => p.disabled === false);
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(audioEvents().map((e) => e.payload), [{ disabled: true }, { disabled: false }]);
  });

  test('a request by selector starts on that stream; bitrate selectors pick among running streams', async () => {
    const other = await Viewer.connect(app.url, 'bob', 'neko', { video: { selector: { id: 'lq', type: 'exact' } }, audio: { disabled: true } });
    try {
      const provide = await other.socket.waitFor('signal/provide');
      assert.equal(provide.payload.video.id, 'lq');
      assert.deepEqual(provide.payload.audio, { disabled: true });
      const frame = await other.waitForFrame((f) => f.width === 640, 15_000);
      assert.equal(frame.height, 360);

      // Both encoders run now; once both have a measured bitrate they can be selected by it.
      // Which one measures higher depends on the picture (a still screen costs lq about as much
      // as hq), so the expectations follow the measurements.
      const rate = (id: string) => app.capture.video(id)?.stats().bitrate ?? 0;
      await waitFor('both bitrates measured', () => rate('hq') > 0 && rate('lq') > 0);
      const [lowest, highest] = rate('hq') < rate('lq') ? ['hq', 'lq'] : ['lq', 'hq'];
      let mark = viewer.socket.events.length;
      viewer.socket.send('signal/video', { selector: { id: highest, type: 'exact' } });
      await nextVideoEvent(viewer, mark, 1000);
      mark = viewer.socket.events.length;
      viewer.socket.send('signal/video', { selector: { type: 'nearest', bitrate: 1 } });
      assert.equal((await nextVideoEvent(viewer, mark, 3000))?.id, lowest, 'nothing fits 1 bit/s: the closest above');
      mark = viewer.socket.events.length;
      viewer.socket.send('signal/video', { selector: { type: 'nearest', bitrate: 1e9 } });
      assert.equal((await nextVideoEvent(viewer, mark, 3000))?.id, highest, 'the highest not exceeding 1 Gbit/s');

      const since = other.socket.events.length;
      other.socket.send('signal/request', { video: { selector: { id: 'nope' } } });
      await new Promise((r) => setTimeout(r, 700));
      assert.ok(!other.socket.events.slice(since).some((e) => e.event === 'signal/provide'), 'no provide for an unknown stream');
    } finally {
      other.close();
    }
  });
});

describe('auto quality from the bandwidth estimator', () => {
  let app: App;

  before(async () => {
    app = await startApp([
      '--capture.video.pipelines', PIPELINES,
      '--webrtc.estimator.enabled',
      '--webrtc.estimator.initial_bitrate', '5000000',
      '--webrtc.estimator.read_interval', '250ms',
      '--webrtc.estimator.stable_duration', '1s',
      '--webrtc.estimator.upgrade_backoff', '1s',
    ]);
  });

  after(async () => {
    await app?.close();
  });

  test('auto sticks, and a loss-free link is stepped up from lq to hq', async () => {
    const viewer = await Viewer.connect(app.url, 'alice', 'neko', { video: { selector: { id: 'lq' } }, audio: {}, auto: true });
    try {
      const provide = await viewer.socket.waitFor('signal/provide');
      assert.deepEqual(provide.payload.video, { disabled: false, id: 'lq', video: 'lq', auto: true });
      const switched = await viewer.socket.waitFor('signal/video', (p) => p.id === 'hq', 15_000);
      assert.deepEqual(switched.payload, { disabled: false, id: 'hq', video: 'hq', auto: true });
      await viewer.waitForFrame((f) => f.width === 1280, 15_000);
      // Turning auto off is a change and is confirmed.
      viewer.socket.send('signal/video', { auto: false });
      await viewer.socket.waitFor('signal/video', (p) => p.auto === false);
    } finally {
      viewer.close();
    }
  });
});
