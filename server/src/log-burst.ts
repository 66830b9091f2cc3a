import type { Logger } from './log.js';
import type { BurstLog } from './rate-limiter.js';

/**
 * Writes a line about something a client can repeat at will (a refused, malformed or
 * rate-limited event, a refused upgrade, a broken request) only when it starts a burst of
 * `burst`; the line carries the size of the burst before it. A line whose level is off
 * does not count, so a run of invisible debug lines cannot swallow a visible warning.
 */
export function logBurst(
  burst: BurstLog,
  logger: Logger,
  level: 'debug' | 'info' | 'warn' | 'error',
  fields: Record<string, unknown>,
  message: string,
): void {
  if (!logger.isLevelEnabled(level)) return;
  const previous = burst.hit();
  if (previous === null) return;
  logger[level](previous ? { ...fields, previous_burst: previous } : fields, message);
}
