import type { Logger } from '../../log.js';
import type { EventTable } from '../gateway.js';
import { PayloadError } from '../payload.js';

const LEVELS = new Set(['trace', 'debug', 'info', 'warn', 'error', 'fatal']);
const MAX_CLIENT_LOGS = 50;

/** Client heartbeat and client-side logs (contract §5.3). */
export function systemHandlers(logger: Logger): EventTable {
  const clientLog = logger.child({ module: 'client' });
  return {
    'client/heartbeat': () => {},
    'system/logs': (session, payload) => {
      if (!Array.isArray(payload)) throw new PayloadError('logs must be an array');
      for (const entry of payload.slice(0, MAX_CLIENT_LOGS)) {
        if (typeof entry !== 'object' || entry === null) continue;
        const { level, fields, message } = entry as Record<string, unknown>;
        const lvl = typeof level === 'string' && LEVELS.has(level) ? level : 'info';
        const extra = typeof fields === 'object' && fields !== null ? fields : {};
        clientLog[lvl as 'info']({ session_id: session.id, fields: extra }, String(message ?? ''));
      }
    },
  };
}
