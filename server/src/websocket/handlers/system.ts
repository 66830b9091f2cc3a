import type { Logger } from '../../log.js';
import { RateLimiter } from '../../rate-limiter.js';
import type { Session } from '../../sessions/session.js';
import type { EventTable } from '../gateway.js';
import { EventRefused, PayloadError } from '../payload.js';

const LEVELS = new Set(['trace', 'debug', 'info', 'warn', 'error', 'fatal']);
const MAX_CLIENT_LOGS = 50;
/** Client log lines per second a session may write into our log (also its burst). */
const CLIENT_LOG_LINES_PER_S = 20;

/** Client heartbeat and client-side logs (contract §5.3). */
export function systemHandlers(logger: Logger): EventTable {
  const clientLog = logger.child({ module: 'client' });
  // Every accepted system/logs event may carry 50 lines: without a budget of its own a client
  // could write 50 lines per event at the full event rate.
  const budgets = new WeakMap<Session, RateLimiter>();
  return {
    'client/heartbeat': () => {},
    'system/logs': (session, payload) => {
      if (!Array.isArray(payload)) throw new PayloadError('logs must be an array');
      let budget = budgets.get(session);
      if (!budget) budgets.set(session, (budget = new RateLimiter(CLIENT_LOG_LINES_PER_S)));
      let over = 0;
      for (const entry of payload.slice(0, MAX_CLIENT_LOGS)) {
        if (typeof entry !== 'object' || entry === null) continue;
        if (!budget.take()) {
          over++;
          continue;
        }
        const { level, fields, message } = entry as Record<string, unknown>;
        const lvl = typeof level === 'string' && LEVELS.has(level) ? level : 'info';
        const extra = typeof fields === 'object' && fields !== null ? fields : {};
        clientLog[lvl as 'info']({ session_id: session.id, fields: extra }, String(message ?? ''));
      }
      if (over) throw new EventRefused(`${over} client log lines over the limit`, 'warn');
    },
  };
}
