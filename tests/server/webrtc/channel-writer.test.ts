import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { App } from '../../../server/src/main.js';
import { decodeServerMessage, encodeCursorPosition, encodePong, type ServerMessage } from '../../../server/src/webrtc/datachannel.js';
import type { Peer } from '../../../server/src/webrtc/peer.js';
import { startApp } from '../../helpers/app.js';
import { Viewer } from '../../helpers/viewer.js';
import { waitFor } from '../../helpers/x11.js';

/** Peer's bound on the data channel's backlog (DATA_MAX_BUFFERED in peer.ts). */
const MAX_BUFFERED = 8 << 10;
const BURST = 5000;

/** The peer's werift data channel. */
function channelOf(peer: Peer): { bufferedAmount: number; readyState: string } {
  return (peer as unknown as { channel: { bufferedAmount: number; readyState: string } }).channel;
}

/** The werift data channel's own count of bytes not yet handed to SCTP. */
function backlogOf(peer: Peer): number {
  return channelOf(peer).bufferedAmount;
}

function received(viewer: Viewer, type: ServerMessage['type']): ServerMessage[] {
  return viewer.channelMessages.map((m) => decodeServerMessage(m)).filter((m): m is ServerMessage => m.type === type);
}

/** Issue 7 item 2: a peer's data channel is never written past a bounded backlog. */
describe('data-channel writes to a backed-up channel', () => {
  let app: App;
  let viewer: Viewer;
  let peer: Peer;

  before(async () => {
    app = await startApp(['--desktop.audio=false']);
    viewer = await Viewer.connect(app.url, 'alice', 'neko');
    await viewer.waitForDataChannel();
    peer = app.sessions.get(viewer.sessionId)!.peer as Peer;
    // The viewer's end opens on the server's DCEP open, the server's only on the viewer's ack:
    // until then the server drops what it is asked to send.
    await waitFor('the server end of the data channel open', () => channelOf(peer).readyState === 'open', 10_000);
  });

  after(async () => {
    viewer?.close();
    await app?.close();
  });

  test('plain messages past the bound are dropped, the rest arrive', async () => {
    let accepted = 0;
    let backlog = 0;
    // In one turn of the event loop werift cannot hand anything to the network.
    for (let i = 0; i < BURST; i++) {
      if (peer.send(encodePong(i, 0, 0)) !== false) accepted++;
      backlog = Math.max(backlog, backlogOf(peer));
    }
    assert.ok(backlog > 0 && backlog <= MAX_BUFFERED, `backlog ${backlog} within ${MAX_BUFFERED} bytes`);
    assert.ok(accepted > 0 && accepted < BURST, `${accepted} of ${BURST} accepted`);
    await waitFor('every accepted message', () => received(viewer, 'pong').length >= accepted, 30_000);
    await waitFor('the channel drained', () => backlogOf(peer) === 0, 30_000);
  });

  test('a newest-only message waits for room, replaced by newer ones', async () => {
    for (let i = 0; i < BURST && backlogOf(peer) <= MAX_BUFFERED - 32; i++) peer.send(encodePong(0, 0, 0));
    assert.ok(backlogOf(peer) > 1024, `backed up: ${backlogOf(peer)} bytes`);
    const from = received(viewer, 'cursorPosition').length;
    for (let x = 0; x < 1000; x++) peer.sendLatest('cursorPosition', encodeCursorPosition(x, 7));
    await waitFor('the newest position', () => received(viewer, 'cursorPosition').some((m) => m.type === 'cursorPosition' && m.x === 999), 30_000);
    const positions = received(viewer, 'cursorPosition').slice(from);
    assert.ok(positions.length <= 2, `coalesced: ${positions.length} positions for 1000 updates`);
  });
});
