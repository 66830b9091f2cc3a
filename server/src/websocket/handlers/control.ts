import type { Input } from '../../desktop/input.js';
import type { TouchEmulator } from '../../desktop/touch.js';
import type { ControlPolicy } from '../../sessions/control.js';
import type { Session } from '../../sessions/session.js';
import type { EventTable } from '../gateway.js';
import { int, object, optionalBool, optionalInt, type Obj } from '../payload.js';

const U16 = 0xffff;
const U32 = 0xffffffff;
const I16 = 0x7fff;
const I32_MIN = -0x80000000;
const I32_MAX = 0x7fffffff;

/** Validates a payload fully and returns the input to apply, so bad input never takes control. */
type InputParser = (body: Obj) => () => void;

export interface ControlHandlerOptions {
  /** Collects pointer moves of sessions that did not get control (`session/cursors`). */
  inactiveCursors?: { record(session: Session, x: number, y: number): void };
  /** Touch events drive the pointer through it; without one they are dropped. */
  touch?: TouchEmulator;
}

/**
 * `control/*` events: requesting and releasing control, and the JSON input fallback for
 * clients without a data channel. Every input event first runs the request logic (§6).
 */
export function controlHandlers(control: ControlPolicy, input: Input, opts: ControlHandlerOptions = {}): EventTable {
  const position = (body: Obj) => {
    const x = optionalInt(body, 'x', 0, U16);
    const y = optionalInt(body, 'y', 0, U16);
    return x !== undefined && y !== undefined ? { x, y } : null;
  };
  const withInput = (parse: InputParser) => (session: Session, payload: unknown) => {
    const apply = parse(object(payload));
    if (control.inputAllowed(session)) apply();
  };
  /** Button/key events: an optional move first, then `press` with the validated code. */
  const pressInput = (key: 'code' | 'keysym', press: (code: number) => void): InputParser => (body) => {
    const at = position(body);
    const code = int(body, key, 0, U32);
    return () => {
      if (at) input.move(at.x, at.y);
      press(code);
    };
  };
  /** Touch events: `touch_id`, `x`, `y` required (contract §5.3); pressure is not used. */
  const touchInput = (apply: (id: number, x: number, y: number) => void): InputParser => (body) => {
    const id = int(body, 'touch_id', 0, U32);
    const x = int(body, 'x', I32_MIN, I32_MAX);
    const y = int(body, 'y', I32_MIN, I32_MAX);
    return () => apply(id, x, y);
  };
  return {
    'control/request': (session) => {
      control.request(session);
    },
    'control/release': (session) => {
      control.release(session);
    },
    'control/move': (session, payload) => {
      const body = object(payload);
      const x = int(body, 'x', 0, U16);
      const y = int(body, 'y', 0, U16);
      if (control.inputAllowed(session)) input.move(x, y);
      else opts.inactiveCursors?.record(session, x, y);
    },
    'control/scroll': withInput((body) => {
      let dx = int(body, 'delta_x', -I16, I16);
      let dy = int(body, 'delta_y', -I16, I16);
      if (dx === 0 && dy === 0) {
        dx = optionalInt(body, 'x', -I16, I16) ?? 0;
        dy = optionalInt(body, 'y', -I16, I16) ?? 0;
      }
      const controlKey = optionalBool(body, 'control_key') ?? false;
      return () => input.scroll(dx, dy, controlKey);
    }),
    'control/buttondown': withInput(pressInput('code', (code) => input.buttonDown(code))),
    'control/buttonup': withInput(pressInput('code', (code) => input.buttonUp(code))),
    'control/buttonpress': withInput(
      pressInput('code', (code) => {
        input.buttonDown(code);
        input.buttonUp(code);
      }),
    ),
    'control/keydown': withInput(pressInput('keysym', (keysym) => input.keyDown(keysym))),
    'control/keyup': withInput(pressInput('keysym', (keysym) => input.keyUp(keysym))),
    'control/keypress': withInput(
      pressInput('keysym', (keysym) => {
        input.keyDown(keysym);
        input.keyUp(keysym);
      }),
    ),
    'control/touchbegin': withInput(touchInput((id, x, y) => opts.touch?.begin(id, x, y))),
    'control/touchupdate': withInput(touchInput((id, x, y) => opts.touch?.update(id, x, y))),
    'control/touchend': withInput(touchInput((id, x, y) => opts.touch?.end(id, x, y))),
  };
}
