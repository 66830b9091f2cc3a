import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { encodeClientMessage, decodeServerMessage } from '../../server/src/webrtc/datachannel.js';
import type { App } from '../../server/src/main.js';
import { exec, paintRoot, startApp } from '../helpers/app.js';
import { near, pixel, SocketClient, Viewer, login } from '../helpers/viewer.js';
import { TestWindow } from '../helpers/x11.js';

const RED = { r: 255, g: 0, b: 0 };
const BLUE = { r: 0, g: 0, b: 255 };

async function pointerOf(display: string): Promise<{ x: number; y: number }> {
  const { stdout } = await exec('xdotool', ['getmouselocation', '--shell'], { env: { ...process.env, DISPLAY: display } });
  const x = Number(/X=(\d+)/.exec(stdout)?.[1]);
  const y = Number(/Y=(\d+)/.exec(stdout)?.[1]);
  return { x, y };
}

async function until(check: () => Promise<boolean> | boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('media loop: X desktop → encoder → WebRTC → viewer, and input back', () => {
  let app: App;
  let viewer: Viewer;

  before(async () => {
    app = await startApp();
    await paintRoot(app.desktop.display, '#ff0000');
    viewer = await Viewer.connect(app.url, 'alice', 'neko');
  });

  after(async () => {
    viewer?.close();
    await app?.close();
  });

  test('the decoded frame shows what the X server shows', async () => {
    const red = await viewer.waitForFrame((f) => near(pixel(f, f.width >> 1, f.height >> 1), RED));
    assert.equal(red.width, 1280);
    assert.equal(red.height, 720);
    await paintRoot(app.desktop.display, '#0000ff');
    const blue = await viewer.waitForFrame((f) => near(pixel(f, 100, 100), BLUE));
    assert.ok(near(pixel(blue, 1200, 650), BLUE));
  });

  test('the host moves and clicks the X pointer through the data channel', async () => {
    await viewer.waitForDataChannel();
    viewer.socket.send('control/request');
    await viewer.socket.waitFor('control/host', (p) => p.host_id === viewer.sessionId);
    viewer.send(encodeClientMessage({ type: 'move', x: 321, y: 234 }));
    await until(async () => {
      const p = await pointerOf(app.desktop.display);
      return p.x === 321 && p.y === 234;
    });
    const desk = await TestWindow.open(app.desktop.display);
    try {
      viewer.send(encodeClientMessage({ type: 'buttonDown', button: 1 }));
      viewer.send(encodeClientMessage({ type: 'buttonUp', button: 1 }));
      viewer.send(encodeClientMessage({ type: 'keyDown', keysym: 0x7a }));
      viewer.send(encodeClientMessage({ type: 'keyUp', keysym: 0x7a }));
      await until(() => desk.of('ButtonRelease').length > 0 && desk.of('KeyRelease').length > 0);
      const [press] = desk.of('ButtonPress');
      assert.deepEqual({ button: press?.detail, x: press?.x, y: press?.y }, { button: 1, x: 321, y: 234 });
      const [key] = desk.of('KeyPress');
      assert.equal((await desk.keysymsOf(key!.detail))[0], 0x7a, 'typed keysym z reached X');
    } finally {
      await desk.close();
    }
  });

  test('a touch from the host drags the pointer with the primary button', async () => {
    const desk = await TestWindow.open(app.desktop.display);
    try {
      viewer.send(encodeClientMessage({ type: 'touchBegin', touchId: 3, x: 100, y: 110, pressure: 80 }));
      viewer.send(encodeClientMessage({ type: 'touchUpdate', touchId: 3, x: 150, y: 160, pressure: 80 }));
      viewer.send(encodeClientMessage({ type: 'touchEnd', touchId: 3, x: 200, y: 210, pressure: 0 }));
      await until(() => desk.of('ButtonRelease').length > 0);
      const [press] = desk.of('ButtonPress');
      const [release] = desk.of('ButtonRelease');
      assert.deepEqual({ b: press?.detail, x: press?.x, y: press?.y }, { b: 1, x: 100, y: 110 });
      assert.deepEqual({ b: release?.detail, x: release?.x, y: release?.y }, { b: 1, x: 200, y: 210 });
    } finally {
      await desk.close();
    }
  });

  test('ping is answered with a pong echoing the client timestamps', async () => {
    await viewer.waitForDataChannel();
    const before = viewer.channelMessages.length;
    viewer.send(encodeClientMessage({ type: 'ping', clientTs1: 1, clientTs2: 0xdeadbeef }));
    await until(() => viewer.channelMessages.slice(before).some((m) => decodeServerMessage(m).type === 'pong'));
    const pong = viewer.channelMessages.slice(before).map((m) => decodeServerMessage(m)).find((m) => m.type === 'pong');
    assert.ok(pong && pong.type === 'pong');
    assert.equal(pong.clientTs1, 1);
    assert.equal(pong.clientTs2, 0xdeadbeef);
  });

  test("a non-host's input is ignored and it sees the host's cursor", async () => {
    const other = await Viewer.connect(app.url, 'bob', 'neko');
    try {
      await other.waitForDataChannel();
      await other.waitForFrame();
      const start = await pointerOf(app.desktop.display);
      other.send(encodeClientMessage({ type: 'move', x: 10, y: 10 }));
      viewer.send(encodeClientMessage({ type: 'move', x: 400, y: 300 }));
      await until(async () => {
        const p = await pointerOf(app.desktop.display);
        return p.x === 400 && p.y === 300;
      });
      assert.notDeepEqual(start, { x: 10, y: 10 });
      await until(() =>
        other.channelMessages.some((m) => {
          const d = decodeServerMessage(m);
          return d.type === 'cursorPosition' && d.x === 400 && d.y === 300;
        }),
      );
    } finally {
      other.close();
    }
  });

  test('a killed encoder is restarted and video resumes without a new login', async () => {
    const stream = app.capture.video('main')!;
    await viewer.waitForFrame();
    stream.killEncoder();
    await new Promise((r) => setTimeout(r, 300));
    await paintRoot(app.desktop.display, '#00ff00');
    const green = await viewer.waitForFrame((f) => near(pixel(f, 640, 360), { r: 0, g: 255, b: 0 }), 15_000);
    assert.ok(green);
    assert.ok(stream.stats().restarts >= 1);
  });

  test('bad input never takes the server down', async () => {
    const res = await fetch(`${app.url}/api/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'mallory', password: 'wrong' }),
    });
    assert.equal(res.status, 401);
    assert.deepEqual(await res.json(), { code: 401, message: 'Unauthorized' });

    const { token } = await login(app.url, 'mallory', 'neko');
    const ws = await SocketClient.open(app.url, token);
    await ws.waitFor('system/init');
    ws.sendRaw('{not json');
    ws.sendRaw('[]');
    ws.sendRaw('{"event": 42}');
    ws.send('no/such/event', { x: 1 });
    ws.send('signal/answer', { sdp: 7 });
    ws.send('control/move', { x: 'left' });
    for (const bytes of [[], [0x01], [0x01, 0x00, 0x04, 0x00], [0xff, 0x00, 0x00], [0x03, 0xff, 0xff, 1, 2, 3, 4]]) {
      viewer.send(new Uint8Array(bytes));
    }
    // The socket stays open and the server keeps answering.
    ws.send('client/heartbeat');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(ws.ws.readyState, ws.ws.OPEN);
    const health = await fetch(`${app.url}/api/whoami`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(health.status, 200);
    ws.close();
  });
});
