import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { keysymsForText } from '../../client/src/input.js';
import { keysymFor, keysymForChar } from '../../client/src/keysyms.js';

const sym = (key: string, code = ''): number | undefined => keysymFor({ key, code });

describe('keysymFor', () => {
  it('maps printable ASCII and Latin-1 characters to their code point', () => {
    assert.equal(sym('a', 'KeyA'), 0x61);
    assert.equal(sym('A', 'KeyA'), 0x41);
    assert.equal(sym(' ', 'Space'), 0x20);
    assert.equal(sym('~', 'Backquote'), 0x7e);
    assert.equal(sym('é', 'Digit2'), 0xe9);
    assert.equal(sym('ß', 'Minus'), 0xdf);
    assert.equal(sym('\u00a0'), 0xa0);
  });

  it('maps other Unicode to the 0x01000000 range, including astral characters', () => {
    assert.equal(sym('€', 'KeyE'), 0x010020ac);
    assert.equal(sym('ж', 'Semicolon'), 0x01000436);
    assert.equal(sym('😀'), 0x0101f600);
  });

  it('maps named keys', () => {
    assert.equal(sym('Enter', 'Enter'), 0xff0d);
    assert.equal(sym('Backspace', 'Backspace'), 0xff08);
    assert.equal(sym('Tab', 'Tab'), 0xff09);
    assert.equal(sym('Escape', 'Escape'), 0xff1b);
    assert.equal(sym('Delete', 'Delete'), 0xffff);
    assert.equal(sym('Insert', 'Insert'), 0xff63);
    assert.equal(sym('Home', 'Home'), 0xff50);
    assert.equal(sym('End', 'End'), 0xff57);
    assert.equal(sym('PageUp', 'PageUp'), 0xff55);
    assert.equal(sym('PageDown', 'PageDown'), 0xff56);
    assert.deepEqual(
      ['ArrowLeft', 'ArrowUp', 'ArrowRight', 'ArrowDown'].map((k) => sym(k, k)),
      [0xff51, 0xff52, 0xff53, 0xff54],
    );
    assert.equal(sym('CapsLock', 'CapsLock'), 0xffe5);
    assert.equal(sym('ContextMenu', 'ContextMenu'), 0xff67);
  });

  it('maps F1 to F12 (and beyond) contiguously', () => {
    assert.equal(sym('F1', 'F1'), 0xffbe);
    assert.equal(sym('F12', 'F12'), 0xffc9);
    assert.equal(sym('F24', 'F24'), 0xffd5);
    assert.equal(sym('F36'), undefined);
  });

  it('tells left and right modifiers apart by code', () => {
    assert.equal(sym('Shift', 'ShiftLeft'), 0xffe1);
    assert.equal(sym('Shift', 'ShiftRight'), 0xffe2);
    assert.equal(sym('Control', 'ControlLeft'), 0xffe3);
    assert.equal(sym('Control', 'ControlRight'), 0xffe4);
    assert.equal(sym('Alt', 'AltLeft'), 0xffe9);
    assert.equal(sym('Meta', 'MetaLeft'), 0xffeb);
    assert.equal(sym('Meta', 'MetaRight'), 0xffec);
  });

  it('falls back to the left modifier when code is unknown', () => {
    assert.equal(sym('Shift'), 0xffe1);
    assert.equal(sym('Control'), 0xffe3);
  });

  it('maps right Alt to Alt_R, or to ISO_Level3_Shift where the layout makes it AltGr', () => {
    assert.equal(sym('Alt', 'AltRight'), 0xffea);
    assert.equal(sym('AltGraph', 'AltRight'), 0xfe03);
  });

  it('uses keypad keysyms for keys on the numpad', () => {
    assert.equal(sym('7', 'Numpad7'), 0xffb7);
    assert.equal(sym('0', 'Numpad0'), 0xffb0);
    assert.equal(sym('+', 'NumpadAdd'), 0xffab);
    assert.equal(sym('Enter', 'NumpadEnter'), 0xff8d);
    assert.equal(sym('Home', 'Numpad7'), 0xff95);
    assert.equal(sym('Delete', 'NumpadDecimal'), 0xff9f);
    assert.equal(sym('7', 'Digit7'), 0x37);
  });

  it('ignores keys without an X equivalent', () => {
    assert.equal(sym('Dead', 'BracketLeft'), undefined);
    assert.equal(sym('Unidentified'), undefined);
    assert.equal(sym('Process', 'KeyA'), undefined);
    assert.equal(sym(''), undefined);
  });
});

describe('keysymForChar', () => {
  it('keeps Latin-1 and offsets everything else', () => {
    assert.equal(keysymForChar(0x41), 0x41);
    assert.equal(keysymForChar(0xff), 0xff);
    assert.equal(keysymForChar(0x100), 0x01000100);
  });
});

describe('keysymsForText (phone keyboards, IME)', () => {
  it('one keysym per character; line breaks are Return, tabs Tab; control characters dropped', () => {
    assert.deepEqual(keysymsForText('aZ ü€😀'), [0x61, 0x5a, 0x20, 0xfc, 0x010020ac, 0x0101f600]);
    assert.deepEqual(keysymsForText('a\r\nb\tc\u0007'), [0x61, 0xff0d, 0x62, 0xff09, 0x63]);
  });
});
