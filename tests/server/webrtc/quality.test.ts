import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { App } from '../../../server/src/main.js';
import { startApp } from '../../helpers/app.js';
import { barrier, channelPing } from '../../helpers/barrier.js';
import { Viewer } from '../../helpers/viewer.js';
import { waitFor } from '../../helpers/x11.js';

const PIPELINES = JSON.stringify({
  hq: { width: 'width', height: 'height', fps: 15, bitrate: 1500 },
  // Fewer frames keep lq's measured bitrate below hq's even for a still picture.
  lq: { width: 'width / 2', height: 'height / 2', fps: 5, bitrate: 300 },
});

/** Resolves with the first `event` payload after the first `since` events. */
async function nextEvent(viewer: Viewer, event: string, since: number, ms = 5000): Promise<any> {
  const e = await waitFor(`${event} after event ${since}`, () => viewer.socket.events.slice(since).find((ev) => ev.event === event), ms);
  return e.payload;
}

const nextVideoEvent = (viewer: Viewer, since: number, ms?: number) => nextEvent(viewer, 'signal/video', since, ms);

/** The video state the viewer was last told (provide or signal/video). */
function lastVideo(viewer: Viewer): { id: string } {
  const e = viewer.socket.events.filter((ev) => ev.event === 'signal/video' || ev.event === 'signal/provide').at(-1)!;
  return e.event === 'signal/provide' ? e.payload.video : e.payload;
}

/** Video RTP packets the viewer's connection has received. */
async function videoPacketsReceived(viewer: Viewer): Promise<number> {
  const stats = [...(await viewer.pc.getStats()).values()] as any[];
  return stats.find((s) => s.type === 'inbound-rtp' && s.kind === 'video')?.packetsReceived ?? 0;
}

/**
 * Sends a selector that is sure to change the stream: the server handles a socket's events in
 * order, so its reply must be the first `signal/video` after anything sent before it.
 */
async function switchTo(viewer: Viewer, id: string, since: number): Promise<any> {
  viewer.socket.send('signal/video', { selector: { id, type: 'exact' } });
  return nextVideoEvent(viewer, since);
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
    assert.deepEqual(await switchTo(viewer, 'lq', since), { disabled: false, id: 'lq', video: 'lq', auto: false }, 'no reply before the real change');
    assert.equal(viewer.socket.ws.readyState, viewer.socket.ws.OPEN, 'socket still open');
    assert.equal((await switchTo(viewer, 'hq', viewer.socket.events.length)).id, 'hq');
  });

  test('auto does not stick without the estimator', async () => {
    const since = viewer.socket.events.length;
    viewer.socket.send('signal/video', { auto: true });
    assert.deepEqual(await switchTo(viewer, 'lq', since), { disabled: false, id: 'lq', video: 'lq', auto: false }, 'auto stays false: nothing changed');
    assert.equal((await switchTo(viewer, 'hq', viewer.socket.events.length)).id, 'hq');
  });

  test('disabling video stops frames and is confirmed; enabling resumes them', async () => {
    const encoder = app.capture.video('hq')!;
    // Keeps the encoder producing while the viewer takes nothing from it.
    const keepEncoding = encoder.subscribe(() => undefined);
    let since = viewer.socket.events.length;
    try {
      viewer.socket.send('signal/video', { disabled: true });
      assert.deepEqual(await nextVideoEvent(viewer, since, 5000), { disabled: true, id: 'hq', video: 'hq', auto: false });
      // Media and the data channel share one transport: what was forwarded before has arrived with the pong.
      await channelPing(viewer);
      const received = await videoPacketsReceived(viewer);
      const encoded = encoder.stats().packets;
      await waitFor('30 more packets from the encoder', () => encoder.stats().packets >= encoded + 30, 15_000).catch((err: Error) => {
        throw new Error(`${err.message} (encoder ${encoder.state}: ${JSON.stringify(encoder.stats())})`);
      });
      await channelPing(viewer);
      const more = (await videoPacketsReceived(viewer)) - received;
      assert.ok(more <= 2, `no video while disabled: ${more} packets of ${encoder.stats().packets - encoded} encoded`);
    } finally {
      keepEncoding();
    }
    since = viewer.socket.events.length;
    viewer.socket.send('signal/video', { disabled: false });
    assert.deepEqual(await nextVideoEvent(viewer, since, 5000), { disabled: false, id: 'hq', video: 'hq', auto: false });
    await viewer.waitForFrame(() => true, 10_000);
  });

  test('signal/audio replies only on change', async () => {
    const since = viewer.socket.events.length;
    const audioEvents = () => viewer.socket.events.slice(since).filter((e) => e.event === 'signal/audio').map((e) => e.payload);
    for (const disabled of [true, true, false, false]) viewer.socket.send('signal/audio', { disabled });
    // A change after the no-ops: its reply comes after any reply they might have drawn.
    viewer.socket.send('signal/audio', { disabled: true });
    await waitFor('three signal/audio replies', () => audioEvents().length >= 3);
    assert.deepEqual(audioEvents(), [{ disabled: true }, { disabled: false }, { disabled: true }]);
    viewer.socket.send('signal/audio', { disabled: false });
    await waitFor('the fourth reply', () => audioEvents().length >= 4);
    assert.deepEqual(audioEvents().at(-1), { disabled: false });
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
      if (lastVideo(viewer).id !== highest) assert.equal((await switchTo(viewer, highest, mark)).id, highest);
      mark = viewer.socket.events.length;
      viewer.socket.send('signal/video', { selector: { type: 'nearest', bitrate: 1 } });
      assert.equal((await nextVideoEvent(viewer, mark, 3000))?.id, lowest, 'nothing fits 1 bit/s: the closest above');
      mark = viewer.socket.events.length;
      viewer.socket.send('signal/video', { selector: { type: 'nearest', bitrate: 1e9 } });
      assert.equal((await nextVideoEvent(viewer, mark, 3000))?.id, highest, 'the highest not exceeding 1 Gbit/s');

      const since = other.socket.events.length;
      const peer = app.sessions.get(other.sessionId)!.peer;
      other.socket.send('signal/request', { video: { selector: { id: 'nope' } } });
      // A request replaces the peer before its first await, so this is enough to look.
      await barrier(other.socket);
      assert.equal(app.sessions.get(other.sessionId)!.peer, peer, 'the peer is kept');
      const after = other.socket.events.slice(since).map((e) => e.event);
      assert.ok(!after.includes('signal/provide') && !after.includes('signal/close'), `no new peer for an unknown stream: ${after.join(', ')}`);
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

describe('quality switch: the old stream plays until the new one delivers', () => {
  let app: App;

  before(async () => {
    app = await startApp([
      '--capture.video.pipelines',
      JSON.stringify({
        hq: { width: 'width', height: 'height', fps: 15, bitrate: 1500 },
        // Runs, but never sends a packet: an encoder that has not delivered its first frame yet.
        silent: { gst_pipeline: 'videotestsrc is-live=true ! fakesink name=never{port}' },
      }),
    ]);
  });

  after(async () => {
    await app?.close();
  });

  test('switching to a stream that has not started keeps the picture moving', async () => {
    const viewer = await Viewer.connect(app.url, 'alice', 'neko');
    try {
      await viewer.waitForFrame(() => true, 15_000);
      const since = viewer.socket.events.length;
      assert.deepEqual(await switchTo(viewer, 'silent', since), { disabled: false, id: 'silent', video: 'silent', auto: false });
      // Break-before-make would stop every packet here, until the new stream's first keyframe.
      const after = await videoPacketsReceived(viewer);
      await waitFor('hq packets after the switch', async () => (await videoPacketsReceived(viewer)) >= after + 20, 10_000);
      // Switching back to a running stream goes on at once.
      assert.equal((await switchTo(viewer, 'hq', viewer.socket.events.length)).id, 'hq');
      const back = await videoPacketsReceived(viewer);
      await waitFor('packets after switching back', async () => (await videoPacketsReceived(viewer)) >= back + 20, 10_000);
    } finally {
      viewer.close();
    }
  });
});
