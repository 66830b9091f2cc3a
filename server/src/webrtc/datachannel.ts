/**
 * Binary codec of the `data` channel (contract §8), shared by the server and the browser
 * client, hence only Uint8Array/DataView.
 *
 * Every message starts with a 3-byte header: opcode u8, length u16; all integers are
 * big-endian. The length field means different things per direction: client→server it
 * counts the payload bytes after the header, server→client the whole message.
 *
 * Decoders never throw: malformed input yields a DecodeError value, because the input
 * comes from the network and one bad frame must not take the peer down. Bytes after the
 * declared message are ignored: one data-channel message carries one frame, neko's own
 * reader stops after the fields it knows, and tolerating them lets a client append fields
 * in the future. Encoders round numbers and clamp them into the field's range rather
 * than let DataView wrap them (a pointer at x = -3 becomes 0, not 65533).
 */

export type ClientMessage =
  | { type: 'move'; x: number; y: number }
  | { type: 'scroll'; deltaX: number; deltaY: number; controlKey: boolean }
  | { type: 'keyDown' | 'keyUp'; keysym: number }
  | { type: 'buttonDown' | 'buttonUp'; button: number }
  | { type: 'ping'; clientTs1: number; clientTs2: number }
  | { type: 'touchBegin' | 'touchUpdate' | 'touchEnd'; touchId: number; x: number; y: number; pressure: number };

export type ServerMessage =
  | { type: 'cursorPosition'; x: number; y: number }
  | { type: 'cursorImage'; width: number; height: number; xhot: number; yhot: number; png: Uint8Array<ArrayBuffer> }
  | { type: 'pong'; clientTs1: number; clientTs2: number; serverTs1: number; serverTs2: number };

export interface DecodeError {
  type: 'error';
  reason: string;
}

const HEADER = 3;

const OP_MOVE = 0x01;
const OP_SCROLL = 0x02;
const OP_KEY_DOWN = 0x03;
const OP_KEY_UP = 0x04;
const OP_BUTTON_DOWN = 0x05;
const OP_BUTTON_UP = 0x06;
const OP_PING = 0x07;
const OP_TOUCH_BEGIN = 0x08;
const OP_TOUCH_UPDATE = 0x09;
const OP_TOUCH_END = 0x0a;

const OP_CURSOR_POSITION = 0x01;
const OP_CURSOR_IMAGE = 0x02;
const OP_PONG = 0x03;

const SCROLL_LEGACY_LENGTH = 4;
const SCROLL_LENGTH = 5;
const TOUCH_LENGTH = 13;
const CURSOR_POSITION_SIZE = 7;
const CURSOR_IMAGE_HEADER_SIZE = 11;
const PONG_SIZE = 19;

/** Contract §8.2: neko splits epoch milliseconds by 2^32 − 1, not 2^32. */
const TS_DIVISOR = 0xffffffff;

function fail(reason: string): DecodeError {
  return { type: 'error', reason };
}

function hex(op: number): string {
  return `0x${op.toString(16).padStart(2, '0')}`;
}

function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function clamp(value: number, min: number, max: number): number {
  const n = Math.round(value);
  if (Number.isNaN(n)) return 0;
  return Math.min(max, Math.max(min, n));
}

const u8 = (v: number) => clamp(v, 0, 0xff);
const u16 = (v: number) => clamp(v, 0, 0xffff);
const i16 = (v: number) => clamp(v, -0x8000, 0x7fff);
const u32 = (v: number) => clamp(v, 0, 0xffffffff);
const i32 = (v: number) => clamp(v, -0x80000000, 0x7fffffff);

/** `[ts1, ts2]` with ts1 = floor(ms / (2^32 − 1)), ts2 = ms mod (2^32 − 1). */
export function splitTimestamp(ms: number): [ts1: number, ts2: number] {
  const whole = Math.max(0, Math.floor(ms));
  return [Math.floor(whole / TS_DIVISOR), whole % TS_DIVISOR];
}

export function joinTimestamp(ts1: number, ts2: number): number {
  return ts1 * TS_DIVISOR + ts2;
}

const CLIENT_PAYLOAD_LENGTH: Record<number, { name: string; lengths: readonly number[] }> = {
  [OP_MOVE]: { name: 'move', lengths: [4] },
  [OP_SCROLL]: { name: 'scroll', lengths: [SCROLL_LEGACY_LENGTH, SCROLL_LENGTH] },
  [OP_KEY_DOWN]: { name: 'key down', lengths: [4] },
  [OP_KEY_UP]: { name: 'key up', lengths: [4] },
  [OP_BUTTON_DOWN]: { name: 'button down', lengths: [4] },
  [OP_BUTTON_UP]: { name: 'button up', lengths: [4] },
  [OP_PING]: { name: 'ping', lengths: [8] },
  [OP_TOUCH_BEGIN]: { name: 'touch begin', lengths: [TOUCH_LENGTH] },
  [OP_TOUCH_UPDATE]: { name: 'touch update', lengths: [TOUCH_LENGTH] },
  [OP_TOUCH_END]: { name: 'touch end', lengths: [TOUCH_LENGTH] },
};

const TOUCH_TYPES = {
  [OP_TOUCH_BEGIN]: 'touchBegin',
  [OP_TOUCH_UPDATE]: 'touchUpdate',
  [OP_TOUCH_END]: 'touchEnd',
} as const;

/**
 * Client → server (§8.1). The length field must be exactly the opcode's payload size
 * (scroll: 4 = legacy form without control key, 5 = current form).
 */
export function decodeClientMessage(bytes: Uint8Array): ClientMessage | DecodeError {
  if (bytes.length < HEADER) return fail(`truncated header: ${bytes.length} of ${HEADER} bytes`);
  const view = viewOf(bytes);
  const op = view.getUint8(0);
  const length = view.getUint16(1);
  const spec = CLIENT_PAYLOAD_LENGTH[op];
  if (!spec) return fail(`unknown opcode ${hex(op)}`);
  if (!spec.lengths.includes(length)) {
    return fail(`bad length for ${spec.name}: ${length}, expected ${spec.lengths.join(' or ')}`);
  }
  if (bytes.length < HEADER + length) {
    return fail(`truncated ${spec.name}: ${bytes.length - HEADER} of ${length} payload bytes`);
  }

  switch (op) {
    case OP_MOVE:
      return { type: 'move', x: view.getUint16(3), y: view.getUint16(5) };
    case OP_SCROLL:
      return {
        type: 'scroll',
        deltaX: view.getInt16(3),
        deltaY: view.getInt16(5),
        controlKey: length === SCROLL_LENGTH && view.getUint8(7) !== 0,
      };
    case OP_KEY_DOWN:
    case OP_KEY_UP:
      return { type: op === OP_KEY_DOWN ? 'keyDown' : 'keyUp', keysym: view.getUint32(3) };
    case OP_BUTTON_DOWN:
    case OP_BUTTON_UP:
      return { type: op === OP_BUTTON_DOWN ? 'buttonDown' : 'buttonUp', button: view.getUint32(3) };
    case OP_PING:
      return { type: 'ping', clientTs1: view.getUint32(3), clientTs2: view.getUint32(7) };
    default:
      return {
        type: TOUCH_TYPES[op as keyof typeof TOUCH_TYPES],
        touchId: view.getUint32(3),
        x: view.getInt32(7),
        y: view.getInt32(11),
        pressure: view.getUint8(15),
      };
  }
}

/** Encoders return `Uint8Array<ArrayBuffer>` so results go straight into RTCDataChannel.send / Blob. */
function frame(
  op: number,
  payloadLength: number,
  lengthField: number,
): { bytes: Uint8Array<ArrayBuffer>; view: DataView } {
  const bytes = new Uint8Array(HEADER + payloadLength);
  const view = viewOf(bytes);
  view.setUint8(0, op);
  view.setUint16(1, lengthField & 0xffff);
  return { bytes, view };
}

/** Client → server; scroll is always written in the current 5-byte form. */
export function encodeClientMessage(msg: ClientMessage): Uint8Array<ArrayBuffer> {
  switch (msg.type) {
    case 'move': {
      const { bytes, view } = frame(OP_MOVE, 4, 4);
      view.setUint16(3, u16(msg.x));
      view.setUint16(5, u16(msg.y));
      return bytes;
    }
    case 'scroll': {
      const { bytes, view } = frame(OP_SCROLL, SCROLL_LENGTH, SCROLL_LENGTH);
      view.setInt16(3, i16(msg.deltaX));
      view.setInt16(5, i16(msg.deltaY));
      view.setUint8(7, msg.controlKey ? 1 : 0);
      return bytes;
    }
    case 'keyDown':
    case 'keyUp': {
      const { bytes, view } = frame(msg.type === 'keyDown' ? OP_KEY_DOWN : OP_KEY_UP, 4, 4);
      view.setUint32(3, u32(msg.keysym));
      return bytes;
    }
    case 'buttonDown':
    case 'buttonUp': {
      const { bytes, view } = frame(msg.type === 'buttonDown' ? OP_BUTTON_DOWN : OP_BUTTON_UP, 4, 4);
      view.setUint32(3, u32(msg.button));
      return bytes;
    }
    case 'ping': {
      const { bytes, view } = frame(OP_PING, 8, 8);
      view.setUint32(3, u32(msg.clientTs1));
      view.setUint32(7, u32(msg.clientTs2));
      return bytes;
    }
    case 'touchBegin':
    case 'touchUpdate':
    case 'touchEnd': {
      const op = { touchBegin: OP_TOUCH_BEGIN, touchUpdate: OP_TOUCH_UPDATE, touchEnd: OP_TOUCH_END }[msg.type];
      const { bytes, view } = frame(op, TOUCH_LENGTH, TOUCH_LENGTH);
      view.setUint32(3, u32(msg.touchId));
      view.setInt32(7, i32(msg.x));
      view.setInt32(11, i32(msg.y));
      view.setUint8(15, u8(msg.pressure));
      return bytes;
    }
  }
}

export function encodeCursorPosition(x: number, y: number): Uint8Array<ArrayBuffer> {
  const { bytes, view } = frame(OP_CURSOR_POSITION, 4, CURSOR_POSITION_SIZE);
  view.setUint16(3, u16(x));
  view.setUint16(5, u16(y));
  return bytes;
}

/** The length field wraps for images over 64 KiB; readers use the message size instead. */
export function encodeCursorImage(
  width: number,
  height: number,
  xhot: number,
  yhot: number,
  png: Uint8Array,
): Uint8Array<ArrayBuffer> {
  const total = CURSOR_IMAGE_HEADER_SIZE + png.length;
  const { bytes, view } = frame(OP_CURSOR_IMAGE, total - HEADER, total);
  view.setUint16(3, u16(width));
  view.setUint16(5, u16(height));
  view.setUint16(7, u16(xhot));
  view.setUint16(9, u16(yhot));
  bytes.set(png, CURSOR_IMAGE_HEADER_SIZE);
  return bytes;
}

export function encodePong(clientTs1: number, clientTs2: number, nowMs: number): Uint8Array<ArrayBuffer> {
  const [serverTs1, serverTs2] = splitTimestamp(nowMs);
  const { bytes, view } = frame(OP_PONG, PONG_SIZE - HEADER, PONG_SIZE);
  view.setUint32(3, u32(clientTs1));
  view.setUint32(7, u32(clientTs2));
  view.setUint32(11, serverTs1);
  view.setUint32(15, serverTs2);
  return bytes;
}

/**
 * Server → client (§8.2). Fixed-size messages must carry their exact total size in the
 * length field; the cursor image's field is not checked since it wraps at 64 KiB and the
 * PNG runs to the end of the message.
 */
export function decodeServerMessage(bytes: Uint8Array): ServerMessage | DecodeError {
  if (bytes.length < HEADER) return fail(`truncated header: ${bytes.length} of ${HEADER} bytes`);
  const view = viewOf(bytes);
  const op = view.getUint8(0);
  const length = view.getUint16(1);
  const fixed = (name: string, size: number): DecodeError | null => {
    if (length !== size) return fail(`bad length for ${name}: ${length}, expected ${size}`);
    if (bytes.length < size) return fail(`truncated ${name}: ${bytes.length} of ${size} bytes`);
    return null;
  };

  switch (op) {
    case OP_CURSOR_POSITION:
      return (
        fixed('cursor position', CURSOR_POSITION_SIZE) ?? {
          type: 'cursorPosition',
          x: view.getUint16(3),
          y: view.getUint16(5),
        }
      );
    case OP_CURSOR_IMAGE:
      if (bytes.length < CURSOR_IMAGE_HEADER_SIZE) {
        return fail(`truncated cursor image: ${bytes.length} of at least ${CURSOR_IMAGE_HEADER_SIZE} bytes`);
      }
      return {
        type: 'cursorImage',
        width: view.getUint16(3),
        height: view.getUint16(5),
        xhot: view.getUint16(7),
        yhot: view.getUint16(9),
        png: bytes.slice(CURSOR_IMAGE_HEADER_SIZE),
      };
    case OP_PONG:
      return (
        fixed('pong', PONG_SIZE) ?? {
          type: 'pong',
          clientTs1: view.getUint32(3),
          clientTs2: view.getUint32(7),
          serverTs1: view.getUint32(11),
          serverTs2: view.getUint32(15),
        }
      );
    default:
      return fail(`unknown opcode ${hex(op)}`);
  }
}
