import type { Config } from '../config/index.js';
import type { Settings } from './types.js';

/** Contract §11.2: the eight room flags and the heartbeat interval seed the runtime Settings. */
export function initialSettings(session: Config['session']): Settings {
  return {
    private_mode: session.private_mode,
    locked_logins: session.locked_logins,
    locked_controls: session.locked_controls,
    control_protection: session.control_protection,
    implicit_hosting: session.implicit_hosting,
    inactive_cursors: session.inactive_cursors,
    merciful_reconnect: session.merciful_reconnect,
    heartbeat_interval: session.heartbeat_interval,
    plugins: null,
  };
}
