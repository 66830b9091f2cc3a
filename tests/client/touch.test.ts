import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LONG_PRESS_MS, TAP_SLOP_PX, TouchGestures, type Gesture } from '../../client/src/touch.js';

/** Gestures with a fake clock: timers fire only when the test says time has passed. */
function setup() {
  const out: Gesture[] = [];
  const timers = new Map<number, { fn: () => void; ms: number }>();
  let next = 1;
  const g = new TouchGestures((x) => out.push(x), {
    set: (fn, ms) => {
      timers.set(next, { fn, ms });
      return next++;
    },
    clear: (h) => timers.delete(h as number),
  });
  const elapse = (ms: number) => {
    for (const [id, t] of [...timers]) {
      if (t.ms <= ms) {
        timers.delete(id);
        t.fn();
      }
    }
  };
  const summary = () => out.map((e) => (e.type === 'scroll' ? `scroll ${e.dx},${e.dy}` : e.type === 'move' ? `move ${e.at.x},${e.at.y}` : `${e.type} ${e.button}`));
  return { g, out, elapse, summary, timers };
}

const p = (id: number, x: number, y: number) => ({ id, x, y });

describe('touch gestures', () => {
  it('a tap is a left click where the finger landed, even if it wobbled a little', () => {
    const { g, summary } = setup();
    g.update([p(0, 100, 100)]);
    g.update([p(0, 100 + TAP_SLOP_PX / 2, 100)]);
    g.update([]);
    assert.deepEqual(summary(), ['move 100,100', 'down 1', 'up 1']);
  });

  it('a drag presses at the start, follows the finger and releases where it lifts', () => {
    const { g, summary, timers } = setup();
    g.update([p(0, 100, 100)]);
    g.update([p(0, 150, 120)]);
    assert.equal(timers.size, 0, 'no long press once dragging');
    g.update([p(0, 200, 140)]);
    g.update([]);
    assert.deepEqual(summary(), ['move 100,100', 'down 1', 'move 150,120', 'move 200,140', 'up 1']);
  });

  it('a long press is a right click, and lifting afterwards adds nothing', () => {
    const { g, summary, elapse } = setup();
    g.update([p(0, 50, 60)]);
    elapse(LONG_PRESS_MS);
    g.update([p(0, 80, 60)]);
    g.update([]);
    assert.deepEqual(summary(), ['move 50,60', 'down 3', 'up 3']);
  });

  it('two fingers scroll by the travel of their midpoint, with no click', () => {
    const { g, summary, elapse } = setup();
    g.update([p(0, 100, 100)]);
    g.update([p(0, 100, 100), p(1, 200, 100)]);
    g.update([p(0, 100, 80), p(1, 200, 80)]);
    g.update([p(0, 110, 60), p(1, 210, 60)]);
    elapse(LONG_PRESS_MS);
    g.update([p(1, 210, 60)]);
    g.update([p(1, 250, 90)]);
    g.update([]);
    assert.deepEqual(summary(), ['scroll 0,-20', 'scroll 10,-20']);
  });

  it('a second finger during a drag ends the drag', () => {
    const { g, summary } = setup();
    g.update([p(0, 0, 0)]);
    g.update([p(0, 40, 0)]);
    g.update([p(0, 40, 0), p(1, 90, 0)]);
    g.update([]);
    assert.deepEqual(summary(), ['move 0,0', 'down 1', 'move 40,0', 'up 1']);
  });
});
