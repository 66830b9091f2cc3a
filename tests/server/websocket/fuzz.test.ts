import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import type { App } from '../../../server/src/main.js';
import { api } from '../../helpers/api.js';
import { channelPing } from '../../helpers/barrier.js';
import { startApp } from '../../helpers/app.js';
import { FUZZ_SEED, seededRandom } from '../../helpers/prng.js';
import { SocketClient, Viewer } from '../../helpers/viewer.js';

const SEED = FUZZ_SEED;
const MAX_PAYLOAD = 65536;

const { rand, int, pick } = seededRandom(SEED);

/** Well-formed payloads per client event, the starting points for mutation. */
const TEMPLATES: Record<string, unknown> = {
  'system/logs': [{ level: 'info', fields: { a: 1 }, message: 'm' }],
  'client/heartbeat': undefined,
  'control/request': undefined,
  'control/release': undefined,
  'control/move': { x: 10, y: 20 },
  'control/scroll': { delta_x: 0, delta_y: 1, control_key: false },
  'control/buttonpress': { code: 1, x: 5, y: 5 },
  'control/buttondown': { code: 1 },
  'control/buttonup': { code: 1 },
  'control/keypress': { keysym: 0x61 },
  'control/keydown': { keysym: 0x62 },
  'control/keyup': { keysym: 0x62 },
  'control/touchbegin': { touch_id: 1, x: 1, y: 1, pressure: 10 },
  'control/touchupdate': { touch_id: 1, x: 2, y: 2, pressure: 10 },
  'control/touchend': { touch_id: 1, x: 2, y: 2, pressure: 0 },
  'control/cut': undefined,
  'control/copy': undefined,
  'control/select_all': undefined,
  'control/paste': { text: 'pasted' },
  'screen/set': { width: 320, height: 240, rate: 30 },
  'clipboard/set': { text: 'clip' },
  'keyboard/map': { layout: 'us', variant: '' },
  'keyboard/modifiers': { capslock: false, numlock: false },
  'send/unicast': { receiver: 'nobody', subject: 's', body: { x: 1 } },
  'send/broadcast': { subject: 's', body: 'b' },
  'chat/message': { text: 'hello' },
  'filetransfer/update': undefined,
  'signal/answer': { sdp: 'v=0' },
  'signal/offer': { sdp: 'v=0' },
  'signal/candidate': { candidate: 'candidate:1 1 udp 1 127.0.0.1 9 typ host', sdpMid: '0', sdpMLineIndex: 0 },
  'signal/restart': undefined,
  'signal/video': { selector: { id: 'main', type: 'exact' } },
  'signal/audio': { disabled: true },
};
const EVENTS = Object.keys(TEMPLATES);

function randomString(max: number): string {
  const len = int(max);
  const alphabet = 'aZ09 -_/.\\"\'{}[]:,\u0000\u00e9\u{1F600}';
  let s = '';
  for (let i = 0; i < len; i++) s += alphabet[int(alphabet.length)];
  return s;
}

function randomValue(depth = 0): unknown {
  switch (int(depth > 4 ? 6 : 9)) {
    case 0: return null;
    case 1: return rand() < 0.5;
    case 2: return pick([0, -1, 1.5, 2 ** 31, -(2 ** 53), 2 ** 64, 65535, 65536, 4294967295, 4294967296, Number.MAX_VALUE]);
    case 3: return int(70000) - 1000;
    case 4: return randomString(40);
    case 5: return pick(['', 'main', 'exact', 'nearest', '../../etc/passwd', 'x'.repeat(300)]);
    case 6: return Array.from({ length: int(5) }, () => randomValue(depth + 1));
    case 7: {
      const o: Record<string, unknown> = {};
      for (let i = int(5); i > 0; i--) o[pick(['x', 'y', 'text', 'code', 'keysym', 'sdp', 'receiver', 'subject', 'body', randomString(8)])] = randomValue(depth + 1);
      return o;
    }
    // Own `__proto__` keys, as JSON.parse makes them: a prototype-pollution probe.
    default: return JSON.parse(`{"__proto__":{"polluted":${JSON.stringify(randomValue(depth + 1))}},"constructor":{"prototype":{"polluted":1}}}`);
  }
}

function deep(levels: number): unknown {
  let v: unknown = 'bottom';
  for (let i = 0; i < levels; i++) v = rand() < 0.5 ? [v] : { a: v };
  return v;
}

/** Nesting too deep for a recursive JSON.stringify, so written as text. */
function deepText(levels: number): string {
  let open = '';
  let close = '';
  for (let i = 0; i < levels; i++) {
    const array = rand() < 0.5;
    open += array ? '[' : '{"a":';
    close = (array ? ']' : '}') + close;
  }
  return `${open}1${close}`;
}

function mutate(template: unknown): unknown {
  if (template === undefined || typeof template !== 'object' || template === null) return randomValue();
  const copy: Record<string, unknown> = Array.isArray(template) ? { ...template } : { ...(template as object) };
  const keys = Object.keys(copy);
  const key = keys.length ? pick(keys) : 'x';
  switch (int(4)) {
    case 0: copy[key] = randomValue(); break;
    case 1: delete copy[key]; break;
    case 2: copy[randomString(6)] = randomValue(); break;
    default: copy[key] = deep(int(300));
  }
  return Array.isArray(template) ? Object.values(copy) : copy;
}

/** One fuzz message as raw text: envelopes of many shapes, some not JSON at all. */
function fuzzMessage(): string {
  const roll = int(100);
  if (roll < 3) return randomString(200);
  if (roll < 5) return JSON.stringify(randomValue());
  if (roll < 7) return JSON.stringify({ event: randomValue(), payload: randomValue() });
  if (roll < 9) {
    // Just under the socket limit.
    const event = pick(['send/broadcast', 'chat/message', 'system/logs', 'clipboard/set', 'send/unicast']);
    const filler = 'y'.repeat(MAX_PAYLOAD - 200 - int(1000));
    return JSON.stringify({ event, payload: { text: filler, subject: 's', body: filler.slice(0, 100), receiver: 'r' } });
  }
  if (roll < 11) return `{"event":${JSON.stringify(pick(EVENTS))},"payload":${deepText(int(8000))}}`;
  if (roll < 13) return JSON.stringify({ event: `${pick(EVENTS)}${randomString(3)}`, payload: randomValue() });
  const event = pick(EVENTS);
  const payload = rand() < 0.3 ? TEMPLATES[event] : rand() < 0.5 ? mutate(TEMPLATES[event]) : randomValue();
  return JSON.stringify(payload === undefined ? { event } : { event, payload });
}

function fuzzBytes(): Uint8Array {
  const roll = int(4);
  if (roll === 0) return Uint8Array.from({ length: int(64) }, () => int(256));
  if (roll === 1) return new Uint8Array(0);
  // A known opcode with a lying length field or a short/long body.
  const len = int(40);
  const bytes = Uint8Array.from({ length: 3 + len }, () => int(256));
  bytes[0] = 1 + int(12);
  const claimed = rand() < 0.5 ? len : int(65536);
  bytes[1] = claimed >> 8;
  bytes[2] = claimed & 0xff;
  return bytes;
}

async function loginToken(url: string, username: string, password: string): Promise<string> {
  const res = await api(url).post('/api/login').send({ username, password }).expect(200);
  return res.body.token as string;
}

describe(`fuzz: random WebSocket JSON and data-channel bytes (FUZZ_SEED=${SEED})`, () => {
  let app: App;
  let observer: SocketClient;
  let viewer: Viewer;
  const rejections: unknown[] = [];
  const onRejection = (reason: unknown) => rejections.push(reason);

  before(async () => {
    process.on('unhandledRejection', onRejection);
    app = await startApp([
      '--desktop.screen', '320x240@30',
      '--server.ws_rate', '100000',
      '--session.inactive_cursors',
    ]);
    observer = await SocketClient.open(app.url, await loginToken(app.url, 'observer', 'neko'));
    await observer.waitFor('system/init');
    viewer = await Viewer.connect(app.url, 'viewer', 'neko');
    await viewer.waitForDataChannel();
  });
  after(async () => {
    process.off('unhandledRejection', onRejection);
    observer?.close();
    viewer?.close();
    await app?.close();
  });

  test('thousands of random envelopes over several sockets and random bytes over a data channel', async () => {
    const fuzzers = await Promise.all(
      [['f1', 'neko'], ['f2', 'neko'], ['f3', 'admin'], ['f4', 'admin']].map(async ([name, password]) => {
        const token = await loginToken(app.url, name!, password!);
        return { token, ws: await SocketClient.open(app.url, token) };
      }),
    );
    let sent = 0;
    const deadline = Date.now() + 8000;
    for (let round = 0; round < 60 && Date.now() < deadline; round++) {
      for (const f of fuzzers) {
        if (f.ws.ws.readyState !== f.ws.ws.OPEN) f.ws = await SocketClient.open(app.url, f.token);
        for (let i = 0; i < 25; i++, sent++) f.ws.sendRaw(fuzzMessage());
      }
      for (let i = 0; i < 40; i++) viewer.send(fuzzBytes());
      // Let the server drain so the rounds measure handling, not socket buffers.
      await sleep(20);
    }
    assert.ok(sent >= 2000, `sent ${sent} fuzz messages`);
    for (const f of fuzzers) f.ws.close();
  });

  test('a message over the limit closes only that socket with 1009; the session can come back', async () => {
    // A socket of its own: the fuzzing may already have closed the fuzzers' sockets.
    const token = await loginToken(app.url, 'big', 'neko');
    const big = await SocketClient.open(app.url, token);
    await big.waitFor('system/init');
    big.sendRaw(JSON.stringify({ event: 'chat/message', payload: { text: 'z'.repeat(MAX_PAYLOAD) } }));
    const closed = await Promise.race([big.closed, sleep(10_000, 'still open', { ref: false })]);
    assert.equal(closed, 1009, 'oversized message closes the socket with 1009');
    assert.equal(observer.ws.readyState, observer.ws.OPEN, 'other sockets stay open');
    const back = await SocketClient.open(app.url, token);
    await back.waitFor('system/init');
    back.close();
  });

  test('afterwards: /health answers, other sessions still get events, no unhandled rejection', async () => {
    await api(app.url).get('/health').expect(200);
    const token = await loginToken(app.url, 'late', 'admin');
    const late = await SocketClient.open(app.url, token);
    await late.waitFor('system/init');
    late.send('send/broadcast', { subject: 'still-alive', body: null });
    const got = await observer.waitFor('send/broadcast', (p) => p.subject === 'still-alive');
    assert.equal(got.payload.sender, app.sessions.list().find((s) => s.token === token)!.id);
    late.send('chat/message', { text: 'after the storm' });
    await observer.waitFor('chat/message', (p) => p.content?.text === 'after the storm');
    assert.equal(observer.ws.readyState, observer.ws.OPEN, 'the observer socket is still open');
    // The fuzzed data channel still answers a ping: with its own pong, not one the fuzz bytes drew.
    const pong = await channelPing(viewer);
    assert.equal(pong.length, 19, 'data channel still answers pings');
    late.close();
    assert.deepEqual(rejections, [], 'no unhandled promise rejections');
    assert.equal(({} as Record<string, unknown>).polluted, undefined, 'Object.prototype untouched');
  });
});
