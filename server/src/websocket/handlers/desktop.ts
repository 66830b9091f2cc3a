import type { Input } from '../../desktop/input.js';
import { KeyboardMapError, MODIFIER_NAMES, type KeyboardModifiers } from '../../desktop/keyboard.js';
import type { DesktopRoom } from '../../desktop/room.js';
import type { ControlPolicy } from '../../sessions/control.js';
import type { SessionManager } from '../../sessions/manager.js';
import type { Session } from '../../sessions/session.js';
import type { EventTable } from '../gateway.js';
import { EventRefused, PayloadError, int, object, optionalBool, optionalObject, optionalString, string } from '../payload.js';

const XK_Control_L = 0xffe3;
const XK = { a: 0x61, c: 0x63, v: 0x76, x: 0x78 };
const U16 = 0xffff;

export interface DesktopHandlersOptions {
  sessions: SessionManager;
  control: ControlPolicy;
  room: DesktopRoom;
  input: Input;
}

/**
 * `screen/set`, `clipboard/set`, `keyboard/*` and the clipboard shortcuts `control/cut`,
 * `copy`, `select_all`, `paste` (contract §5.3). Refused and failed events are dropped
 * without a reply (the connection logs them); the shortcuts run the implicit control
 * request first, like every `control/*` input.
 */
export function desktopHandlers(opts: DesktopHandlersOptions): EventTable {
  const { sessions, control, room, input } = opts;
  const { clipboard, keyboard } = room.features;
  const isHost = (session: Session) => sessions.host === session;
  const shortcut = (keysym: number) => {
    input.keyDown(XK_Control_L);
    input.keyDown(keysym);
    input.keyUp(keysym);
    input.keyUp(XK_Control_L);
  };
  return {
    'screen/set': async (session, payload) => {
      const body = object(payload);
      const size = { width: int(body, 'width', 1, U16), height: int(body, 'height', 1, U16), rate: int(body, 'rate', 0, U16) };
      if (!session.isAdmin) throw new EventRefused('not admin');
      await room.setScreen(size, session);
    },

    'clipboard/set': async (session, payload) => {
      const text = string(object(payload), 'text');
      if (!session.profile.can_access_clipboard) throw new EventRefused('cannot access clipboard');
      if (!isHost(session)) throw new EventRefused('not host');
      await clipboard.write({ text });
    },

    'keyboard/map': async (session, payload) => {
      const body = object(payload);
      const map = { layout: string(body, 'layout'), variant: optionalString(body, 'variant') ?? '' };
      if (!isHost(session)) throw new EventRefused('not host');
      try {
        await keyboard.setMap(map);
      } catch (err) {
        throw err instanceof KeyboardMapError ? new PayloadError(err.message) : err;
      }
    },

    'keyboard/modifiers': async (session, payload) => {
      const body = object(payload);
      const patch: Partial<KeyboardModifiers> = {};
      for (const name of MODIFIER_NAMES) {
        const value = optionalBool(body, name);
        if (value !== undefined) patch[name] = value;
      }
      if (!isHost(session)) throw new EventRefused('not host');
      await keyboard.setModifiers(patch);
    },

    'control/cut': (session) => {
      if (control.inputAllowed(session)) shortcut(XK.x);
    },
    'control/copy': (session) => {
      if (control.inputAllowed(session)) shortcut(XK.c);
    },
    'control/select_all': (session) => {
      if (control.inputAllowed(session)) shortcut(XK.a);
    },
    'control/paste': async (session, payload) => {
      const text = optionalString(optionalObject(payload), 'text');
      if (!control.inputAllowed(session)) return;
      // The text goes in first so Ctrl+V pastes it; without clipboard access, or when the
      // write fails, the keys still go.
      try {
        if (text && session.profile.can_access_clipboard) await clipboard.write({ text });
      } finally {
        shortcut(XK.v);
      }
    },
  };
}
