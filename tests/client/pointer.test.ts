import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  clientToScreen,
  containRect,
  contentSize,
  screenToClient,
  ScrollScaler,
  WheelNormaliser,
  xButton,
} from '../../client/src/pointer.js';

const screen = { width: 1280, height: 720 };

describe('containRect', () => {
  it('pillarboxes content narrower than the box', () => {
    const r = containRect({ left: 0, top: 40, width: 1000, height: 400 }, { width: 1600, height: 900 });
    assert.ok(Math.abs(r.width - 711.11) < 0.01);
    assert.equal(r.height, 400);
    assert.ok(Math.abs(r.left - 144.44) < 0.01);
    assert.equal(r.top, 40);
  });

  it('letterboxes content wider than the box', () => {
    assert.deepEqual(containRect({ left: 10, top: 0, width: 640, height: 640 }, { width: 1280, height: 720 }), {
      left: 10,
      top: 140,
      width: 640,
      height: 360,
    });
  });

  it('returns the box when either size is unknown', () => {
    const box = { left: 1, top: 2, width: 3, height: 4 };
    assert.deepEqual(containRect(box, { width: 0, height: 0 }), box);
  });
});

describe('clientToScreen', () => {
  const box = { left: 0, top: 50, width: 640, height: 640 }; // picture spans y 190..550

  it('maps the picture corners and centre to the screen', () => {
    assert.deepEqual(clientToScreen({ x: 0, y: 190 }, box, screen, screen), { x: 0, y: 0 });
    assert.deepEqual(clientToScreen({ x: 320, y: 370 }, box, screen, screen), { x: 640, y: 360 });
    assert.deepEqual(clientToScreen({ x: 639.9, y: 549.9 }, box, screen, screen), { x: 1279, y: 719 });
  });

  it('clamps points over the letterbox to the screen edge', () => {
    assert.deepEqual(clientToScreen({ x: -20, y: 60 }, box, screen, screen), { x: 0, y: 0 });
    assert.deepEqual(clientToScreen({ x: 700, y: 680 }, box, screen, screen), { x: 1279, y: 719 });
  });

  it('scales through the picture when the stream is smaller than the screen', () => {
    const stream = { width: 640, height: 360 };
    assert.deepEqual(clientToScreen({ x: 160, y: 280 }, box, stream, screen), { x: 320, y: 180 });
  });

  it('falls back to the origin without a screen size', () => {
    assert.deepEqual(clientToScreen({ x: 5, y: 5 }, box, screen, { width: 0, height: 0 }), { x: 0, y: 0 });
  });
});

describe('screenToClient', () => {
  it('inverts clientToScreen and reports the scale', () => {
    const box = { left: 0, top: 0, width: 640, height: 640 };
    const at = screenToClient({ x: 640, y: 360 }, box, screen, screen);
    assert.deepEqual(at, { x: 320, y: 320, scale: 0.5 });
    assert.deepEqual(clientToScreen(at, box, screen, screen), { x: 640, y: 360 });
  });
});

describe('contentSize', () => {
  it('prefers the stream size once known', () => {
    assert.deepEqual(contentSize({ width: 640, height: 360 }, screen), { width: 640, height: 360 });
    assert.deepEqual(contentSize({ width: 0, height: 0 }, screen), screen);
  });
});

describe('xButton', () => {
  it('maps DOM buttons to X buttons', () => {
    assert.deepEqual([0, 1, 2, 3, 4].map(xButton), [1, 2, 3, 8, 9]);
    assert.equal(xButton(5), undefined);
  });
});

describe('WheelNormaliser', () => {
  const PIXEL = 0;
  const LINE = 1;
  const PAGE = 2;

  it('turns one notch into one click, inverting the vertical sign', () => {
    const w = new WheelNormaliser();
    assert.deepEqual(w.push({ deltaX: 0, deltaY: 100, deltaMode: PIXEL }), { deltaX: 0, deltaY: -1 });
    assert.deepEqual(w.push({ deltaX: 0, deltaY: -53, deltaMode: PIXEL }), { deltaX: 0, deltaY: 1 });
    assert.deepEqual(w.push({ deltaX: 120, deltaY: 0, deltaMode: PIXEL }), { deltaX: 1, deltaY: 0 });
    assert.deepEqual(w.push({ deltaX: -120, deltaY: 0, deltaMode: PIXEL }), { deltaX: -1, deltaY: 0 });
  });

  it('counts line and page events as one click each', () => {
    const w = new WheelNormaliser();
    assert.deepEqual(w.push({ deltaX: 0, deltaY: 3, deltaMode: LINE }), { deltaX: 0, deltaY: -1 });
    assert.deepEqual(w.push({ deltaX: 0, deltaY: -1, deltaMode: PAGE }), { deltaX: 0, deltaY: 1 });
  });

  it('accumulates small touchpad deltas', () => {
    const w = new WheelNormaliser();
    const small = { deltaX: 0, deltaY: 20, deltaMode: PIXEL };
    assert.deepEqual(w.push(small), { deltaX: 0, deltaY: 0 });
    assert.deepEqual(w.push(small), { deltaX: 0, deltaY: 0 });
    assert.deepEqual(w.push(small), { deltaX: 0, deltaY: -1 });
    // 10 px left over; 40 more make the next click.
    assert.deepEqual(w.push({ deltaX: 0, deltaY: 40, deltaMode: PIXEL }), { deltaX: 0, deltaY: -1 });
  });

  it('drops what was accumulated when the direction reverses', () => {
    const w = new WheelNormaliser();
    assert.deepEqual(w.push({ deltaX: 0, deltaY: 45, deltaMode: PIXEL }), { deltaX: 0, deltaY: 0 });
    assert.deepEqual(w.push({ deltaX: 0, deltaY: -10, deltaMode: PIXEL }), { deltaX: 0, deltaY: 0 });
    assert.deepEqual(w.push({ deltaX: 0, deltaY: -40, deltaMode: PIXEL }), { deltaX: 0, deltaY: 1 });
  });
});

describe('ScrollScaler', () => {
  it('passes clicks through at 10, multiplies above, carries fractions below, flips when inverted', () => {
    const s = new ScrollScaler();
    assert.deepEqual(s.scale({ deltaX: 0, deltaY: 1 }, 10, false), { deltaX: 0, deltaY: 1 });
    assert.deepEqual(s.scale({ deltaX: 0, deltaY: -1 }, 30, false), { deltaX: 0, deltaY: -3 });
    assert.deepEqual(s.scale({ deltaX: 1, deltaY: 0 }, 10, true), { deltaX: -1, deltaY: 0 });
    const half = new ScrollScaler();
    const ys = [1, 1, 1, 1].map(() => half.scale({ deltaX: 0, deltaY: 1 }, 5, false).deltaY);
    assert.deepEqual(ys, [0, 1, 0, 1]);
  });

  it('a change of direction drops what was carried the other way', () => {
    const s = new ScrollScaler();
    assert.equal(s.scale({ deltaX: 0, deltaY: 1 }, 5, false).deltaY, 0);
    assert.equal(s.scale({ deltaX: 0, deltaY: -1 }, 5, false).deltaY, 0, 'half a click down does not cancel into up');
    assert.equal(s.scale({ deltaX: 0, deltaY: -1 }, 5, false).deltaY, -1);
  });
});
