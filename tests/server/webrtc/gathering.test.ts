import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { silentLogger } from '../../../server/src/log.js';
import type { App } from '../../../server/src/main.js';
import { Peer, PeerClosedError } from '../../../server/src/webrtc/peer.js';
import { startApp } from '../../helpers/app.js';
import { Viewer } from '../../helpers/viewer.js';
import { waitFor } from '../../helpers/x11.js';

/**
 * A TURN server that never answers, on UDP and TCP: werift keeps gathering for ~13 s
 * (allocation retries, then the TCP fallback), and its setLocalDescription waits for it.
 */
async function deadTurnServer(): Promise<{ port: number; close(): Promise<void> }> {
  const udp = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => udp.bind(0, '127.0.0.1', resolve));
  const { port } = udp.address();
  const sockets = new Set<net.Socket>();
  const tcp = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => tcp.listen(port, '127.0.0.1', resolve));
  return {
    port,
    async close() {
      sockets.forEach((s) => s.destroy());
      await new Promise<void>((resolve) => tcp.close(() => resolve()));
      await new Promise<void>((resolve) => udp.close(resolve));
    },
  };
}

const GATHERING_MS = 40_000;

describe('offers without trickle while ICE gathering stalls', () => {
  let app: App;
  let turn: Awaited<ReturnType<typeof deadTurnServer>>;
  const viewers: Viewer[] = [];
  /** Closes of the peers made here: werift finishes gathering first, which is slow here. */
  const closing: Array<Promise<void>> = [];

  before(async () => {
    turn = await deadTurnServer();
    app = await startApp([
      '--webrtc.icetrickle=false',
      '--webrtc.gather_timeout', '1s',
      '--webrtc.iceservers.backend', JSON.stringify([{ urls: [`turn:127.0.0.1:${turn.port}`], username: 'u', credential: 'p' }]),
      '--desktop.audio=false',
    ]);
  });

  after(async () => {
    viewers.forEach((v) => v.close());
    // First, so that werift's TCP fallback to it fails at once.
    await turn?.close();
    await Promise.all([app?.close(), ...closing]);
  });

  test('the offer comes after the gather timeout, with the candidates found so far, and connects', async () => {
    const viewer = await Viewer.connect(app.url, 'alice', 'neko');
    viewers.push(viewer);
    // Gathering itself takes ~13 s here; the timeout is 1 s.
    const provide = await viewer.socket.waitFor('signal/provide', () => true, 8000);
    assert.match(provide.payload.sdp as string, /^a=candidate:\S+ 1 udp \d+ 127\.0\.0\.1 \d+ typ host/m);
    await viewer.waitForFrame(() => true, GATHERING_MS);
  });

  test('a request superseded while its offer is made gets no signal/provide', async () => {
    const viewer = await Viewer.connect(app.url, 'bob', 'neko');
    viewers.push(viewer);
    const session = app.sessions.get(viewer.sessionId)!;
    // The second request replaces the first one's peer once that peer is gathering.
    const first = await waitFor('the first peer gathering', () => {
      const peer = session.peer as Peer | null;
      return peer?.signalingState === 'have-local-offer' && peer;
    });
    viewer.socket.send('signal/request', { video: {}, audio: {} });
    await waitFor('the second peer', () => session.peer && session.peer !== first);
    await viewer.waitForFrame(() => true, GATHERING_MS);
    // The superseded peer's offer, had it been sent, would have come first: it started
    // gathering first, under the same timeout, and frames need the live peer's answer.
    const provides = viewer.socket.events.filter((e) => e.event === 'signal/provide');
    assert.equal(provides.length, 1, 'exactly one signal/provide');
    assert.deepEqual(viewer.signalErrors, []);
  });

  for (const trickle of [true, false]) {
    test(`closing a peer ends its pending offer (trickle ${trickle})`, async () => {
      const peer = new Peer({
        video: app.capture.video(app.capture.videoIds[0]!)!,
        audio: null,
        audioCodec: app.capture.audioCodec,
        iceServers: [{ urls: [`turn:127.0.0.1:${turn.port}`], username: 'u', credential: 'p' }],
        additionalHostAddresses: ['127.0.0.1'],
        nat1to1: [],
        trickle,
        // Longer than werift's own gathering here: only close() can end the wait early.
        gatherTimeoutMs: 60_000,
        iceLite: false,
        mux: null,
        logger: silentLogger(),
        onCandidate: () => {},
        onData: () => {},
        onDataOpen: () => {},
        onConnected: () => {},
        onTrack: () => {},
        onNegotiationNeeded: () => {},
        onClosed: () => {},
      });
      const offer = peer.createOffer();
      await waitFor('gathering', () => peer.signalingState === 'have-local-offer');
      const ended = assert.rejects(offer, PeerClosedError);
      closing.push(peer.close());
      await ended;
    });
  }
});
