import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import type { App } from '../../../server/src/main.js';
import { decodeServerMessage, encodeClientMessage } from '../../../server/src/webrtc/datachannel.js';
import { startApp } from '../../helpers/app.js';
import { Viewer } from '../../helpers/viewer.js';
import { waitFor } from '../../helpers/x11.js';

interface Line {
  msg: string;
  session_id?: string;
}

const RATE_LIMITED = 'data-channel input over the rate limit; dropping the excess';
const MALFORMED = 'bad data-channel message dropped';

/** Issue 7 items 2 and 5: a flooder's dropped data-channel input costs one log line per burst. */
describe('data-channel input floods in the log', () => {
  let app: App;
  let viewer: Viewer;
  const lines: Line[] = [];
  let marker = 1_000_000;

  /**
   * Resolves once every message sent before it has been handled: the channel is ordered and
   * handled in order, so the pong of a later ping proves it. A ping dropped by the rate
   * limit is sent again.
   */
  async function handled(): Promise<void> {
    await waitFor('a pong after everything sent before', async () => {
      const ts = ++marker;
      viewer.send(encodeClientMessage({ type: 'ping', clientTs1: ts, clientTs2: 0 }));
      const deadline = Date.now() + 200;
      while (Date.now() < deadline) {
        if (viewer.channelMessages.some((m) => { const d = decodeServerMessage(m); return d.type === 'pong' && d.clientTs1 === ts; })) return true;
        await new Promise((r) => setTimeout(r, 10));
      }
      return false;
    }, 20_000);
  }

  const count = (msg: string) => lines.filter((l) => l.msg === msg && l.session_id === viewer.sessionId).length;

  before(async () => {
    const logger = pino({ level: 'warn' }, { write: (line: string) => void lines.push(JSON.parse(line) as Line) });
    app = await startApp(['--desktop.audio=false'], logger);
    viewer = await Viewer.connect(app.url, 'alice', 'neko');
    await viewer.waitForDataChannel();
  });

  after(async () => {
    viewer?.close();
    await app?.close();
  });

  test('a burst of malformed messages is one line', async () => {
    // Under the rate limit's burst, so every one of them reaches the decoder.
    for (let i = 0; i < 500; i++) viewer.send(new Uint8Array([0x7f, 0, 0]));
    await handled();
    assert.equal(count(MALFORMED), 1);
  });

  test('a burst over the rate limit is one line', async () => {
    for (let i = 0; i < 3000; i++) viewer.send(encodeClientMessage({ type: 'ping', clientTs1: i, clientTs2: 0 }));
    await handled();
    assert.equal(count(RATE_LIMITED), 1);
  });
});
