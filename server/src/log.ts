import { pino, type Logger } from 'pino';

export type { Logger };

export interface LogOptions {
  level?: string;
  /** Where JSON lines go; defaults to stdout. Tests pass a stream to capture them. */
  destination?: NodeJS.WritableStream;
}

/** neko's level names that pino spells differently. */
const LEVEL_ALIASES: Record<string, string> = { panic: 'fatal', disabled: 'silent' };

/** Root logger; every module takes `root.child({ module: 'name' })`. */
export function createLogger(opts: LogOptions = {}): Logger {
  const requested = opts.level ?? 'info';
  const level = LEVEL_ALIASES[requested] ?? requested;
  return opts.destination
    ? pino({ level, base: undefined }, opts.destination as pino.DestinationStream)
    : pino({ level, base: undefined });
}

/** A logger that writes nothing, for unit tests that do not inspect logs. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
