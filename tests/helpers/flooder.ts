/**
 * A host that floods data-channel pointer moves, run as its own process so that its cost
 * does not count against the server's event loop (`node --import tsx flooder.ts URL USER
 * PASSWORD`). It connects with media off, takes control, prints `{"ready":true}`, floods
 * from the line `go` on stdin until the line `stop`, prints `{"sent":N}` and exits.
 */
import { createInterface } from 'node:readline';
import { encodeClientMessage } from '../../server/src/webrtc/datachannel.js';
import { Viewer } from './viewer.js';

/** Kept in the flooder's own channel: as fast as the transport takes moves. */
const BUFFER = 256 << 10;
const BATCH = 256;

const [url, username, password] = process.argv.slice(2);
if (!url || !username || !password) throw new Error('usage: flooder.ts URL USER PASSWORD');

const viewer = await Viewer.connect(url, username, password, { video: { disabled: true }, audio: { disabled: true } });
await viewer.waitForDataChannel();
viewer.socket.send('control/request');
await viewer.socket.waitFor('control/host', (p) => p.host_id === viewer.sessionId);
const channel = viewer.channel!;
process.stdout.write(`${JSON.stringify({ ready: true })}\n`);

let sent = 0;
let flooding = false;
const flood = () => {
  if (!flooding) return;
  let n = 0;
  for (; n < BATCH && channel.readyState === 'open' && channel.bufferedAmount < BUFFER; n++, sent++) {
    channel.send(encodeClientMessage({ type: 'move', x: sent % 640, y: (sent * 7) % 360 }));
  }
  // A full channel is polled, not spun on: this process must not take the server's CPU.
  if (n < BATCH) setTimeout(flood, 1);
  else setImmediate(flood);
};

for await (const line of createInterface({ input: process.stdin })) {
  if (line === 'go' && !flooding) {
    flooding = true;
    flood();
  } else if (line === 'stop') {
    break;
  }
}
flooding = false;
process.stdout.write(`${JSON.stringify({ sent })}\n`);
viewer.close();
process.exit(0);
