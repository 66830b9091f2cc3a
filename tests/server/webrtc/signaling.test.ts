import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { App } from '../../../server/src/main.js';
import { startApp } from '../../helpers/app.js';
import { restartIce } from '../../helpers/ice.js';
import { SocketClient, Viewer, login } from '../../helpers/viewer.js';

describe('signaling: ICE restart, header extensions, bad input', () => {
  let app: App;
  let viewer: Viewer;

  before(async () => {
    app = await startApp();
    viewer = await Viewer.connect(app.url, 'alice', 'neko');
    await viewer.waitForFrame(() => true, 10_000);
  });

  after(async () => {
    viewer?.close();
    await app?.close();
  });

  test('the offer asks for zero playout delay and the viewer accepts it', async () => {
    const provide = await viewer.socket.waitFor('signal/provide');
    const uri = 'http://www.webrtc.org/experiments/rtp-hdrext/playout-delay';
    assert.match(provide.payload.sdp, new RegExp(`a=extmap:\\d+ ${uri}`));
    assert.match(viewer.pc.localDescription?.sdp ?? '', new RegExp(`a=extmap:\\d+ ${uri}`), 'the answer keeps it');
  });

  test('an ICE restart renews the ICE credentials, moves the media to the new pair and keeps the session', async () => {
    const since = viewer.socket.events.length;
    await restartIce(app, viewer);
    const frames = viewer.frames;
    await viewer.waitForFrame(() => true, 10_000);
    assert.ok(viewer.frames > frames, 'frames keep coming');
    const later = viewer.socket.events.slice(since);
    assert.ok(!later.some((e) => e.event === 'signal/close'), 'the peer was not closed');
    assert.ok(!later.some((e) => e.event === 'signal/offer'), 'no renegotiation besides the restart offer');
    assert.ok(
      !later.some((e) => e.event === 'session/state' && e.payload.id === viewer.sessionId && e.payload.is_watching === false),
      'the session kept watching',
    );
    assert.equal(app.sessions.get(viewer.sessionId)?.state.is_watching, true);
    assert.equal(viewer.pc.iceConnectionState === 'connected' || viewer.pc.iceConnectionState === 'completed', true);
  });

  test('restart, offer and answer without a peer or with junk are dropped without a crash', async () => {
    const { token } = await login(app.url, 'mallory', 'neko');
    const ws = await SocketClient.open(app.url, token);
    try {
      await ws.waitFor('system/init');
      ws.send('signal/restart');
      ws.send('signal/offer', { sdp: 'v=0' });
      ws.send('signal/answer', { sdp: 'nonsense' });
      ws.send('signal/video', { selector: { id: 'main' } });
      ws.send('signal/audio', { disabled: true });
      await new Promise((r) => setTimeout(r, 300));
      assert.ok(!ws.events.some((e) => e.event.startsWith('signal/')), 'no signal replies');
      assert.equal(ws.ws.readyState, ws.ws.OPEN);
    } finally {
      ws.close();
    }
  });

  test('a broken client offer harms nobody else', async () => {
    const other = await Viewer.connect(app.url, 'bob', 'neko');
    try {
      await other.waitForFrame(() => true, 10_000);
      other.socket.send('signal/offer', { sdp: 'v=0\r\nthis is not sdp\r\n' });
      await new Promise((r) => setTimeout(r, 500));
      const frames = viewer.frames;
      await viewer.waitForFrame(() => true, 5000);
      assert.ok(viewer.frames > frames, 'the other viewer is unaffected');
      const res = await fetch(`${app.url}/health`);
      assert.equal(res.status, 200);
    } finally {
      other.close();
    }
  });
});
