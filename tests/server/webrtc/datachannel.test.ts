import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  decodeClientMessage,
  decodeServerMessage,
  encodeClientMessage,
  encodeCursorImage,
  encodeCursorPosition,
  encodePong,
  joinTimestamp,
  splitTimestamp,
  type ClientMessage,
  type DecodeError,
  type ServerMessage,
} from '../../../server/src/webrtc/datachannel.js';

/** Fixtures are written as hex by hand from contract §8, never produced by the encoder. */
function bytes(hex: string): Uint8Array {
  const clean = hex.replace(/\s+/g, '');
  return Uint8Array.from(clean.match(/../g) ?? [], (b) => parseInt(b, 16));
}

function assertError(result: ClientMessage | ServerMessage | DecodeError, pattern: RegExp): void {
  if (result.type !== 'error') assert.fail(`expected an error, got ${JSON.stringify(result)}`);
  assert.match(result.reason, pattern);
}

const CLIENT_FIXTURES: [string, string, ClientMessage][] = [
  ['move', '01 0004 0102 0304', { type: 'move', x: 258, y: 772 }],
  ['scroll with control key', '02 0005 fffe 0078 01', { type: 'scroll', deltaX: -2, deltaY: 120, controlKey: true }],
  ['scroll without control key', '02 0005 0003 8000 00', { type: 'scroll', deltaX: 3, deltaY: -32768, controlKey: false }],
  ['key down', '03 0004 0000ff0d', { type: 'keyDown', keysym: 0xff0d }],
  ['key up', '04 0004 00000061', { type: 'keyUp', keysym: 0x61 }],
  ['button down', '05 0004 00000001', { type: 'buttonDown', button: 1 }],
  ['button up', '06 0004 00000003', { type: 'buttonUp', button: 3 }],
  ['ping', '07 0008 00000001 89abcdef', { type: 'ping', clientTs1: 1, clientTs2: 0x89abcdef }],
  ['touch begin', '08 000d 00000007 00000064 ffffffff ff', { type: 'touchBegin', touchId: 7, x: 100, y: -1, pressure: 255 }],
  ['touch update', '09 000d 00000007 fffffff6 000001f4 80', { type: 'touchUpdate', touchId: 7, x: -10, y: 500, pressure: 128 }],
  ['touch end', '0a 000d ffffffff 7fffffff 80000000 00', { type: 'touchEnd', touchId: 0xffffffff, x: 0x7fffffff, y: -0x80000000, pressure: 0 }],
];

describe('client → server', () => {
  for (const [name, hex, msg] of CLIENT_FIXTURES) {
    it(`decodes ${name}`, () => assert.deepEqual(decodeClientMessage(bytes(hex)), msg));
    it(`encodes ${name}`, () => assert.deepEqual(encodeClientMessage(msg), bytes(hex)));
    it(`round-trips ${name}`, () => assert.deepEqual(decodeClientMessage(encodeClientMessage(msg)), msg));
  }

  it('decodes the legacy 4-byte scroll (no control key)', () => {
    assert.deepEqual(decodeClientMessage(bytes('02 0004 0005 fffb')), {
      type: 'scroll',
      deltaX: 5,
      deltaY: -5,
      controlKey: false,
    });
  });

  it('treats any non-zero control_key byte as pressed', () => {
    const msg = decodeClientMessage(bytes('02 0005 0000 0001 02'));
    assert.equal(msg.type === 'scroll' && msg.controlKey, true);
  });

  it('ignores bytes after the declared payload', () => {
    assert.deepEqual(decodeClientMessage(bytes('01 0004 0001 0002 eeee')), { type: 'move', x: 1, y: 2 });
    assert.deepEqual(decodeClientMessage(bytes('02 0004 0001 0002 01')), {
      type: 'scroll',
      deltaX: 1,
      deltaY: 2,
      controlKey: false,
    });
  });

  it('reads a view into a larger buffer at its own offset', () => {
    const whole = bytes('aa 01 0004 0001 0002 bb');
    assert.deepEqual(decodeClientMessage(whole.subarray(1, 8)), { type: 'move', x: 1, y: 2 });
  });

  it('clamps and rounds out-of-range numbers when encoding', () => {
    assert.deepEqual(encodeClientMessage({ type: 'move', x: -3.4, y: 70000 }), bytes('01 0004 0000 ffff'));
    assert.deepEqual(
      encodeClientMessage({ type: 'scroll', deltaX: 1e6, deltaY: -1e6, controlKey: false }),
      bytes('02 0005 7fff 8000 00'),
    );
    assert.deepEqual(
      encodeClientMessage({ type: 'touchBegin', touchId: -1, x: 1.6, y: NaN, pressure: 300 }),
      bytes('08 000d 00000000 00000002 00000000 ff'),
    );
  });

  describe('bad input yields an error value', () => {
    const cases: [string, string, RegExp][] = [
      ['empty', '', /truncated header/],
      ['1 byte', '01', /truncated header/],
      ['2 bytes', '01 00', /truncated header/],
      ['header only', '01 0004', /truncated move: 0 of 4/],
      ['truncated move', '01 0004 000a', /truncated move: 2 of 4/],
      ['truncated touch', '08 000d 00000007 00000064', /truncated touch begin: 8 of 13/],
      ['truncated ping', '07 0008 00000001', /truncated ping/],
      ['opcode 0x00', '00 0004 00000000', /unknown opcode 0x00/],
      ['opcode 0x0b', '0b 0004 00000000', /unknown opcode 0x0b/],
      ['opcode 0xff', 'ff 0000', /unknown opcode 0xff/],
      ['length larger than the opcode allows', '01 0005 0001 0002 03', /bad length for move: 5, expected 4/],
      ['oversize length', '01 ffff 0001 0002', /bad length for move: 65535/],
      ['length smaller than the opcode needs', '03 0002 0000', /bad length for key down: 2/],
      ['scroll length 6', '02 0006 0001 0002 0103', /bad length for scroll: 6, expected 4 or 5/],
      ['touch with zero length', '0a 0000', /bad length for touch end/],
    ];
    for (const [name, hex, reason] of cases) {
      it(name, () => assertError(decodeClientMessage(bytes(hex)), reason));
    }

    it('never throws on arbitrary bytes', () => {
      let seed = 42;
      const next = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff);
      for (let i = 0; i < 5000; i++) {
        const input = Uint8Array.from({ length: next() % 20 }, () => next() & 0xff);
        if (i % 3 === 0 && input.length > 0) input[0] = (next() % 11) + 1;
        assert.equal(typeof decodeClientMessage(input).type, 'string');
        assert.equal(typeof decodeServerMessage(input).type, 'string');
      }
    });
  });
});

describe('server → client', () => {
  it('cursor position', () => {
    const wire = bytes('01 0007 0500 02d0');
    assert.deepEqual(encodeCursorPosition(1280, 720), wire);
    assert.deepEqual(decodeServerMessage(wire), { type: 'cursorPosition', x: 1280, y: 720 });
  });

  it('cursor image: length is the total size', () => {
    const wire = bytes('02 000f 0010 0020 0001 0002 89504e47');
    const png = bytes('89504e47');
    assert.deepEqual(encodeCursorImage(16, 32, 1, 2, png), wire);
    assert.deepEqual(decodeServerMessage(wire), {
      type: 'cursorImage',
      width: 16,
      height: 32,
      xhot: 1,
      yhot: 2,
      png,
    });
  });

  it('cursor image over 64 KiB: length wraps, the PNG still runs to the end', () => {
    const png = new Uint8Array(70000).fill(0x5a);
    const wire = encodeCursorImage(64, 64, 0, 0, png);
    assert.equal(wire.length, 70011);
    assert.deepEqual(wire.subarray(0, 11), bytes('02 117b 0040 0040 0000 0000'));
    const msg = decodeServerMessage(wire);
    assert.equal(msg.type, 'cursorImage');
    assert.deepEqual(msg.type === 'cursorImage' && msg.png, png);
  });

  it('cursor image with an empty PNG', () => {
    assert.deepEqual(encodeCursorImage(0, 0, 0, 0, new Uint8Array()), bytes('02 000b 0000 0000 0000 0000'));
  });

  it('pong splits the server time by 2^32 - 1', () => {
    // 1700000000123 = 395 * 4294967295 + 3487918598 (with 2^32 the remainder would be 3487918203)
    const wire = bytes('03 0013 00000001 00000002 0000018b cfe56a06');
    assert.deepEqual(encodePong(1, 2, 1700000000123), wire);
    assert.deepEqual(decodeServerMessage(wire), {
      type: 'pong',
      clientTs1: 1,
      clientTs2: 2,
      serverTs1: 395,
      serverTs2: 3487918598,
    });
  });

  it('ignores bytes after a fixed-size message', () => {
    assert.deepEqual(decodeServerMessage(bytes('01 0007 0001 0002 ff')), { type: 'cursorPosition', x: 1, y: 2 });
  });

  describe('bad input yields an error value', () => {
    const cases: [string, string, RegExp][] = [
      ['empty', '', /truncated header/],
      ['1 byte', '03', /truncated header/],
      ['2 bytes', '03 00', /truncated header/],
      ['truncated position', '01 0007 0001', /truncated cursor position: 5 of 7/],
      ['position with payload-style length', '01 0004 0001 0002', /bad length for cursor position: 4, expected 7/],
      ['truncated pong', '03 0013 00000001 00000002', /truncated pong: 11 of 19/],
      ['pong with oversize length', '03 ffff 00000001 00000002 00000003 00000004', /bad length for pong: 65535/],
      ['cursor image shorter than its header', '02 000b 0010 0020 00', /truncated cursor image/],
      ['opcode 0x00', '00 0007 0001 0002', /unknown opcode 0x00/],
      ['opcode 0x04', '04 0007 0001 0002', /unknown opcode 0x04/],
      ['opcode 0xff', 'ff 0003', /unknown opcode 0xff/],
    ];
    for (const [name, hex, reason] of cases) {
      it(name, () => assertError(decodeServerMessage(bytes(hex)), reason));
    }
  });
});

describe('timestamps', () => {
  it('split by 2^32 - 1, not 2^32', () => {
    assert.deepEqual(splitTimestamp(0xffffffff), [1, 0]);
    assert.deepEqual(splitTimestamp(0xfffffffe), [0, 0xfffffffe]);
    assert.deepEqual(splitTimestamp(1700000000123), [395, 3487918598]);
    assert.deepEqual(splitTimestamp(1700000000123.9), [395, 3487918598]);
  });

  it('join inverts split', () => {
    assert.equal(joinTimestamp(395, 3487918598), 1700000000123);
    for (const ms of [0, 1, 0xfffffffe, 0xffffffff, 0x100000000, Date.UTC(2100, 0, 1)]) {
      assert.equal(joinTimestamp(...splitTimestamp(ms)), ms);
    }
  });

  it('a ping round-trips the client clock through the pong', () => {
    const [ts1, ts2] = splitTimestamp(1700000000000);
    const ping = decodeClientMessage(encodeClientMessage({ type: 'ping', clientTs1: ts1, clientTs2: ts2 }));
    assert.equal(ping.type, 'ping');
    if (ping.type !== 'ping') return;
    const pong = decodeServerMessage(encodePong(ping.clientTs1, ping.clientTs2, 1700000000050));
    assert.equal(pong.type, 'pong');
    if (pong.type !== 'pong') return;
    assert.equal(joinTimestamp(pong.serverTs1, pong.serverTs2) - joinTimestamp(pong.clientTs1, pong.clientTs2), 50);
  });
});
