import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Desktop } from '../../../server/src/desktop/desktop.js';
import { silentLogger } from '../../../server/src/log.js';
import { ControlMask, ShiftMask, TestWindow, onDisplay, waitFor } from '../../helpers/x11.js';

const XK = { a: 0x61, b: 0x62, c: 0x63, A: 0x41, Tab: 0xff09, Shift_L: 0xffe1, Control_L: 0xffe3, EuroSign: 0x20ac };
/** U+0416 CYRILLIC CAPITAL LETTER ZHE as a Unicode keysym: on no US keycode. */
const ZHE = 0x1000416;
const HOLD_MS = 400;

describe('desktop input on Xvfb', () => {
  let desktop: Desktop;
  let win: TestWindow;

  before(async () => {
    desktop = await Desktop.start({
      screen: { width: 1280, height: 720, rate: 30 },
      server: 'xvfb',
      windowManager: '',
      app: '',
      audio: false,
      logger: silentLogger(),
      inputHoldTimeoutMs: HOLD_MS,
    });
    win = await TestWindow.open(desktop.display);
  });

  after(async () => {
    await win?.close();
    await desktop?.close();
  });

  it('reports the display and screen', () => {
    assert.match(desktop.display, /^:\d+$/);
    assert.deepEqual(desktop.screenSize(), { width: 1280, height: 720, rate: 30 });
    assert.equal(desktop.pulseServer, null);
    assert.deepEqual(desktop.health(), {
      'desktop.xserver': 'running',
      'desktop.x11': 'running',
      'desktop.pulseaudio': 'disabled',
      'desktop.window_manager': 'disabled',
      'desktop.app': 'disabled',
    });
  });

  it('moves the pointer to the exact position', async () => {
    desktop.input.move(123, 456);
    assert.deepEqual(await desktop.input.pointer(), { x: 123, y: 456 });
    assert.deepEqual(await win.client.queryPointer(), { x: 123, y: 456 });
    const out = await onDisplay(desktop.display, 'xdotool', ['getmouselocation', '--shell']);
    assert.match(out, /^X=123\nY=456\n/);
    desktop.input.move(1279, 0);
    assert.deepEqual(await desktop.input.pointer(), { x: 1279, y: 0 });
  });

  it('presses and releases buttons where the pointer is', async () => {
    win.clear();
    desktop.input.move(200, 300);
    desktop.input.buttonDown(1);
    desktop.input.buttonUp(1);
    await waitFor('button 1 release', () => win.of('ButtonRelease').length === 1);
    assert.deepEqual(
      win.events.map((e) => [e.name, e.detail, e.x, e.y]),
      [
        ['ButtonPress', 1, 200, 300],
        ['ButtonRelease', 1, 200, 300],
      ],
    );
  });

  it('rejects a repeated down without an up', async () => {
    win.clear();
    desktop.input.buttonDown(3);
    desktop.input.buttonDown(3);
    desktop.input.buttonUp(3);
    desktop.input.buttonUp(3); // up without down: ignored too
    desktop.input.keyDown(XK.b);
    desktop.input.keyDown(XK.b);
    desktop.input.keyUp(XK.b);
    await waitFor('key release', () => win.of('KeyRelease').length === 1);
    await sleep(100);
    assert.deepEqual(
      win.events.map((e) => e.name),
      ['ButtonPress', 'ButtonRelease', 'KeyPress', 'KeyRelease'],
    );
  });

  it('types a key whose keycode maps to the keysym', async () => {
    win.clear();
    desktop.input.keyDown(XK.a);
    desktop.input.keyUp(XK.a);
    await waitFor('key release', () => win.of('KeyRelease').length === 1);
    const [press] = win.of('KeyPress');
    assert.equal((await win.keysymsOf(press.detail))[0], XK.a);
    assert.equal(press.state & ShiftMask, 0);
  });

  it('types a shifted keysym on its shifted level while the client holds Shift', async () => {
    win.clear();
    desktop.input.keyDown(XK.Shift_L);
    desktop.input.keyDown(XK.A);
    desktop.input.keyUp(XK.A);
    desktop.input.keyDown(XK.Tab); // function keys keep their keycode: Shift+Tab stays Shift+Tab
    desktop.input.keyUp(XK.Tab);
    desktop.input.keyUp(XK.Shift_L);
    await waitFor('key releases', () => win.of('KeyRelease').length === 3);
    const [shift, letter, tab] = win.of('KeyPress');
    assert.equal((await win.keysymsOf(shift.detail))[0], XK.Shift_L);
    const letterSyms = await win.keysymsOf(letter.detail);
    assert.deepEqual(letterSyms.slice(0, 2), [XK.a, XK.A]);
    assert.equal(letter.state & ShiftMask, ShiftMask);
    assert.equal((await win.keysymsOf(tab.detail))[0], XK.Tab);
    assert.equal(tab.state & ShiftMask, ShiftMask);
  });

  it('types a shifted-only keysym without Shift on a spare keycode bound to it', async () => {
    win.clear();
    desktop.input.keyDown(XK.A);
    desktop.input.keyUp(XK.A);
    await waitFor('key release', () => win.of('KeyRelease').length === 1);
    const [press] = win.of('KeyPress');
    assert.equal(press.state & ShiftMask, 0);
    // Bound on both levels, so Shift would not change it (XKB keeps the first two levels).
    const syms = await win.keysymsOf(press.detail);
    assert.deepEqual(syms.slice(0, 2), [XK.A, XK.A]);
  });

  it('types keysyms the layout lacks by remapping a spare keycode', async () => {
    win.clear();
    for (const keysym of [ZHE, XK.EuroSign, ZHE]) {
      desktop.input.keyDown(keysym);
      desktop.input.keyUp(keysym);
    }
    await waitFor('key releases', () => win.of('KeyRelease').length === 3);
    const presses = win.of('KeyPress');
    assert.equal((await win.keysymsOf(presses[0].detail))[0], ZHE);
    assert.equal((await win.keysymsOf(presses[1].detail))[0], XK.EuroSign);
    assert.equal(presses[2].detail, presses[0].detail, 'a bound keysym keeps its keycode');
    assert.notEqual(presses[0].detail, presses[1].detail);
  });

  it('maps scroll deltas to buttons 4/5/6/7, one click per unit', async () => {
    win.clear();
    desktop.input.scroll(0, 2, false);
    desktop.input.scroll(0, -1, false);
    desktop.input.scroll(3, 0, false);
    desktop.input.scroll(-1, 0, false);
    await waitFor('7 clicks', () => win.of('ButtonRelease').length === 7);
    assert.deepEqual(
      win.of('ButtonPress').map((e) => e.detail),
      [4, 4, 5, 6, 6, 6, 7],
    );
    assert.ok(win.of('ButtonPress').every((e) => (e.state & ControlMask) === 0));
  });

  it('holds Control during a scroll with control_key', async () => {
    win.clear();
    desktop.input.scroll(0, 1, true);
    await waitFor('control release', () => win.of('KeyRelease').length === 1);
    assert.deepEqual(
      win.events.map((e) => e.name),
      ['KeyPress', 'ButtonPress', 'ButtonRelease', 'KeyRelease'],
    );
    const [ctrl] = win.of('KeyPress');
    assert.equal((await win.keysymsOf(ctrl.detail))[0], XK.Control_L);
    assert.equal(win.of('ButtonPress')[0].state & ControlMask, ControlMask);
  });

  it('auto-releases keys and buttons held longer than the hold timeout', async () => {
    win.clear();
    const t0 = Date.now();
    desktop.input.keyDown(XK.c);
    desktop.input.buttonDown(2);
    await waitFor(
      'auto release',
      () => win.of('KeyRelease').length === 1 && win.of('ButtonRelease').length === 1,
      3000,
    );
    const held = Date.now() - t0;
    assert.ok(held >= HOLD_MS - 20, `released after ${held} ms`);
    // Released: a new down is accepted again.
    desktop.input.keyDown(XK.c);
    desktop.input.keyUp(XK.c);
    await waitFor('second press', () => win.of('KeyPress').length === 2);
  });

  it('releaseAll lets go of every key and button', async () => {
    win.clear();
    desktop.input.keyDown(XK.Control_L);
    desktop.input.keyDown(XK.a);
    desktop.input.buttonDown(1);
    desktop.input.releaseAll();
    await waitFor('releases', () => win.of('KeyRelease').length === 2 && win.of('ButtonRelease').length === 1);
    // Newest key first: the modifier goes last.
    const released = await Promise.all(win.of('KeyRelease').map(async (e) => (await win.keysymsOf(e.detail))[0]));
    assert.deepEqual(released, [XK.a, XK.Control_L]);
  });

  it('close releases held keys and restores the keycodes it remapped', async () => {
    win.clear();
    desktop.input.keyDown(XK.A); // bound to a spare keycode (no Shift held)
    const [{ detail: spare }] = await waitFor('press', () => win.of('KeyPress').length === 1 && win.of('KeyPress'));
    assert.deepEqual((await win.keysymsOf(spare)).slice(0, 2), [XK.A, XK.A]);
    win.clear();
    await desktop.input.close();
    await waitFor('release on close', () => win.of('KeyRelease').length === 1);
    assert.deepEqual(await win.keysymsOf(spare), [0, 0, 0, 0, 0, 0, 0]);
    await desktop.input.close(); // idempotent
    desktop.input.keyDown(XK.a); // dropped after close
    await sleep(100);
    assert.equal(win.of('KeyPress').length, 0);
  });
});
