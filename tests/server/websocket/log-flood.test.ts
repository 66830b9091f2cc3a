import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import type { App } from '../../../server/src/main.js';
import { startApp } from '../../helpers/app.js';
import { login, SocketClient } from '../../helpers/viewer.js';

interface Line {
  module?: string;
  session_id?: string;
  msg?: string;
  previous_burst?: number;
}

/** Far more than the event rate limit lets through in the time it takes to send them. */
const FLOOD_MESSAGES = 3000;
/** The server's budget of client log lines per second and session (handlers/system.ts). */
const CLIENT_LOG_LINES_PER_S = 20;

/** One message of every kind a flooder can have dropped, refused or rate-limited. */
function floodMessage(i: number, selfId: string): string | Buffer {
  switch (i % 9) {
    case 0: return JSON.stringify({ event: 'client/heartbeat' });
    case 1: return '{"event": not json';
    case 2: return Buffer.from([1, 2, 3]);
    case 3: return JSON.stringify({ event: `no/such/event/${'x'.repeat(500)}` });
    case 4: return JSON.stringify({ event: 'control/move', payload: { x: 'left' } });
    case 5: return JSON.stringify({ event: 'screen/set', payload: { width: 320, height: 240, rate: 30 } });
    case 6: return JSON.stringify({ event: 'signal/restart' });
    case 7: return JSON.stringify({ event: 'system/logs', payload: Array.from({ length: 50 }, (_, n) => ({ level: 'warn', message: `client line ${n}` })) });
    default: return JSON.stringify({ event: 'send/unicast', payload: { receiver: selfId, subject: 42 } });
  }
}

describe('a WebSocket flooder costs one log line per burst', () => {
  let app: App;
  const lines: Line[] = [];

  before(async () => {
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const text of chunk.toString().split('\n')) if (text) lines.push(JSON.parse(text) as Line);
        done();
      },
    });
    // Debug level: even lines an operator only sees when debugging must not flood.
    app = await startApp(['--desktop.screen', '320x240@30'], pino({ level: 'debug' }, sink));
  });
  after(async () => {
    await app?.close();
  });

  /** Sends FLOOD_MESSAGES as fast as the socket takes them, then waits until the server has handled them all. */
  async function flood(client: SocketClient, selfId: string): Promise<{ sent: number; ms: number }> {
    const started = Date.now();
    let sent = 0;
    while (sent < FLOOD_MESSAGES) {
      for (let i = 0; i < 100; i++, sent++) {
        const msg = floodMessage(sent, selfId);
        client.ws.send(msg, { binary: typeof msg !== 'string' });
      }
      // Keep the socket's buffer short so the time goes into the server's handling.
      while (client.ws.bufferedAmount > 256 * 1024) await sleep(5);
      await sleep(1);
    }
    // Messages are handled in order: once a marker comes back, the flood has been handled.
    const marker = `barrier-${sent}`;
    const back = client.waitFor('send/unicast', (p) => p.subject === marker, 20_000);
    const resend = setInterval(() => client.send('send/unicast', { receiver: selfId, subject: marker }), 300);
    client.send('send/unicast', { receiver: selfId, subject: marker });
    try {
      await back;
    } finally {
      clearInterval(resend);
    }
    return { sent, ms: Date.now() - started };
  }

  test('a flood of rate-limited, malformed, binary, unknown, invalid and refused events', async () => {
    const { id, token } = await login(app.url, 'flooder', 'neko');
    const client = await SocketClient.open(app.url, token);
    await client.waitFor('system/init');
    const from = lines.length;

    const { sent, ms } = await flood(client, id);
    const mine = lines.slice(from).filter((l) => l.session_id === id);
    const about = mine.filter((l) => l.module !== 'client');
    const clientLines = mine.filter((l) => l.module === 'client');
    assert.ok(about.length >= 1, 'the flood is logged');
    // A flood is one burst; allow one more in case the loaded machine paused it for a second.
    assert.ok(about.length <= 2, `${about.length} lines about ${sent} dropped messages in ${ms} ms: ${JSON.stringify(about.slice(0, 5).map((l) => l.msg))}`);
    const clientBudget = CLIENT_LOG_LINES_PER_S * (Math.ceil(ms / 1000) + 1);
    assert.ok(clientLines.length <= clientBudget, `${clientLines.length} client log lines (at most ${clientBudget})`);
    client.close();
  });

  test('the next burst gets its own line, which tells the size of the last one', async () => {
    const { id, token } = await login(app.url, 'flooder2', 'neko');
    const client = await SocketClient.open(app.url, token);
    await client.waitFor('system/init');
    for (let i = 0; i < 50; i++) client.sendRaw('{not json');
    await flood(client, id);
    const from = lines.length;
    // A burst ends with a quiet second.
    await sleep(1500);
    client.sendRaw('{still not json');
    await flood(client, id);
    const next = lines.slice(from).filter((l) => l.session_id === id && l.module !== 'client');
    assert.ok(next.length >= 1 && next.length <= 2, `${next.length} lines for the second burst`);
    assert.ok((next[0]!.previous_burst ?? 0) > 1000, `the line counts the previous burst (${next[0]!.previous_burst})`);
    client.close();
  });
});
