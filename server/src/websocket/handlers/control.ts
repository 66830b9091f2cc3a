import type { Input } from '../../desktop/input.js';
import type { ControlPolicy } from '../../sessions/control.js';
import type { Session } from '../../sessions/session.js';
import type { EventTable } from '../gateway.js';
import { int, object, optionalBool, optionalInt, type Obj } from '../payload.js';

const U16 = 0xffff;
const U32 = 0xffffffff;
const I16 = 0x7fff;

/**
 * `control/*` events: requesting and releasing control, and the JSON input fallback for
 * clients without a data channel. Every input event first runs the request logic (§6).
 */
export function controlHandlers(control: ControlPolicy, input: Input): EventTable {
  const asHost = (session: Session): boolean => {
    const outcome = control.request(session);
    return outcome === 'granted' || outcome === 'already-host';
  };
  const moveFirst = (body: Obj) => {
    const x = optionalInt(body, 'x', 0, U16);
    const y = optionalInt(body, 'y', 0, U16);
    if (x !== undefined && y !== undefined) input.move(x, y);
  };
  const withInput = (apply: (body: Obj) => void) => (session: Session, payload: unknown) => {
    const body = object(payload);
    if (asHost(session)) apply(body);
  };
  return {
    'control/request': (session) => {
      control.request(session);
    },
    'control/release': (session) => {
      control.release(session);
    },
    'control/move': withInput((body) => input.move(int(body, 'x', 0, U16), int(body, 'y', 0, U16))),
    'control/scroll': withInput((body) => {
      let dx = int(body, 'delta_x', -I16, I16);
      let dy = int(body, 'delta_y', -I16, I16);
      if (dx === 0 && dy === 0) {
        dx = optionalInt(body, 'x', -I16, I16) ?? 0;
        dy = optionalInt(body, 'y', -I16, I16) ?? 0;
      }
      input.scroll(dx, dy, optionalBool(body, 'control_key') ?? false);
    }),
    'control/buttondown': withInput((body) => {
      moveFirst(body);
      input.buttonDown(int(body, 'code', 0, U32));
    }),
    'control/buttonup': withInput((body) => {
      moveFirst(body);
      input.buttonUp(int(body, 'code', 0, U32));
    }),
    'control/buttonpress': withInput((body) => {
      moveFirst(body);
      const code = int(body, 'code', 0, U32);
      input.buttonDown(code);
      input.buttonUp(code);
    }),
    'control/keydown': withInput((body) => {
      moveFirst(body);
      input.keyDown(int(body, 'keysym', 0, U32));
    }),
    'control/keyup': withInput((body) => {
      moveFirst(body);
      input.keyUp(int(body, 'keysym', 0, U32));
    }),
    'control/keypress': withInput((body) => {
      moveFirst(body);
      const keysym = int(body, 'keysym', 0, U32);
      input.keyDown(keysym);
      input.keyUp(keysym);
    }),
  };
}
