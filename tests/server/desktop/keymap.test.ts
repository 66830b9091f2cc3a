import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Keymap } from '../../../server/src/desktop/keymap.js';

const XK = {
  a: 0x61,
  A: 0x41,
  one: 0x31,
  exclam: 0x21,
  slash: 0x2f,
  question: 0x3f,
  space: 0x20,
  Tab: 0xff09,
  ISO_Left_Tab: 0xfe20,
  KP_End: 0xff9c,
  KP_1: 0xffb1,
};
const EURO = 0x20ac;
const ZHE = 0x1000416;
const free = () => false;

/** Keycodes 10..: a/A, 1/!, //?, space, Tab/ISO_Left_Tab, KP_End/KP_1, then two empty ones (16, 17). */
function keymap(): Keymap {
  return new Keymap({
    minKeycode: 10,
    keysymsPerKeycode: 4,
    rows: [
      [XK.a, XK.A, XK.a, XK.A],
      [XK.one, XK.exclam, 0, 0],
      [XK.slash, XK.question, 0, 0],
      [XK.space, 0, 0, 0],
      [XK.Tab, XK.ISO_Left_Tab, 0, 0],
      [XK.KP_End, XK.KP_1, 0, 0],
      [0, 0, 0, 0],
      [0, 0, 0, 0],
    ],
  });
}

describe('Keymap', () => {
  it('uses the keycode whose level under the held Shift state is the keysym', () => {
    const km = keymap();
    assert.deepEqual(km.choose(XK.a, false, free), { keycode: 10 });
    assert.deepEqual(km.choose(XK.A, true, free), { keycode: 10 });
    assert.deepEqual(km.choose(XK.exclam, true, free), { keycode: 11 });
    // An empty second level repeats the first.
    assert.deepEqual(km.choose(XK.space, true, free), { keycode: 13 });
  });

  it('keeps function keys on their keycode whatever the Shift state', () => {
    const km = keymap();
    assert.deepEqual(km.choose(XK.Tab, true, free), { keycode: 14 });
    assert.deepEqual(km.choose(XK.Tab, false, free), { keycode: 14 });
  });

  it('binds a character missing at the current level to a spare keycode, on every level', () => {
    const km = keymap();
    // 'A' without Shift, '/' with Shift (a client layout with '/' on Shift+7), KP_1 without NumLock state.
    assert.deepEqual(km.choose(XK.A, false, free), { keycode: 16, remap: [XK.A, XK.A, XK.A, XK.A] });
    assert.deepEqual(km.choose(XK.slash, true, free), { keycode: 17, remap: [XK.slash, XK.slash, XK.slash, XK.slash] });
    // Bound keysyms are found again without remapping, at either Shift state.
    assert.deepEqual(km.choose(XK.A, true, free), { keycode: 10 }, 'with Shift the layout key is right');
    assert.deepEqual(km.choose(XK.A, false, free), { keycode: 16 });
    assert.deepEqual(km.choose(XK.slash, false, free), { keycode: 12 });
    assert.deepEqual(km.choose(XK.slash, true, free), { keycode: 17 });
  });

  it('reuses the least recently used binding that is not held, and gives up when all are held', () => {
    const km = keymap();
    assert.equal(km.choose(EURO, false, free)?.keycode, 16);
    assert.equal(km.choose(ZHE, false, free)?.keycode, 17);
    km.choose(EURO, false, free); // EURO now more recent than ZHE
    assert.deepEqual(km.choose(XK.KP_1, false, free), { keycode: 17, remap: [XK.KP_1, XK.KP_1, XK.KP_1, XK.KP_1] });
    // 17 held: the other binding (16) is taken instead.
    assert.equal(km.choose(ZHE, false, (kc) => kc === 17)?.keycode, 16);
    assert.equal(km.choose(EURO, false, () => true), null);
  });

  it('restore() undoes every binding', () => {
    const km = keymap();
    km.choose(EURO, false, free);
    km.choose(ZHE, false, free);
    assert.deepEqual(km.restore(), [
      { keycode: 16, keysyms: [0, 0, 0, 0] },
      { keycode: 17, keysyms: [0, 0, 0, 0] },
    ]);
    assert.deepEqual(km.restore(), []);
    assert.deepEqual(km.choose(EURO, false, free), { keycode: 16, remap: [EURO, EURO, EURO, EURO] });
  });

  it('update() keeps bindings the server still has or that are newer than the fetched mapping', () => {
    const km = keymap();
    km.choose(EURO, false, free); // 16
    const requestedAt = km.currentVersion;
    km.choose(ZHE, false, free); // 17, after the fetch was requested
    const fetched = [
      [XK.a, XK.A, XK.a, XK.A],
      [XK.one, XK.exclam, 0, 0],
      [XK.slash, XK.question, 0, 0],
      [XK.space, 0, 0, 0],
      [XK.Tab, XK.ISO_Left_Tab, 0, 0],
      [XK.KP_End, XK.KP_1, 0, 0],
      [EURO, EURO, 0, 0], // XKB hands a core remap back on two levels only
      [0, 0, 0, 0], // ZHE not in the snapshot yet
    ];
    km.update({ minKeycode: 10, keysymsPerKeycode: 4, rows: fetched }, requestedAt);
    assert.deepEqual(km.choose(EURO, false, free), { keycode: 16 });
    assert.deepEqual(km.choose(ZHE, false, free), { keycode: 17 });
    // A layout change that took keycode 16 away drops that binding.
    fetched[6] = [XK.one, 0, 0, 0];
    fetched[7] = [ZHE, ZHE, 0, 0];
    km.update({ minKeycode: 10, keysymsPerKeycode: 4, rows: fetched.map((r) => [...r]) }, km.currentVersion);
    assert.deepEqual(
      km.restore().map((c) => c.keycode),
      [17],
    );
  });
});
