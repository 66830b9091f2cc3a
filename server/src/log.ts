import { pino, type Logger } from 'pino';

export type { Logger };

export interface LogOptions {
  level?: string;
  /** Where JSON lines go; defaults to stdout. Tests pass a stream to capture them. */
  destination?: NodeJS.WritableStream;
}

/** Root logger; every module takes `root.child({ module: 'name' })`. */
export function createLogger(opts: LogOptions = {}): Logger {
  const level = opts.level ?? process.env.NEKO_LOG_LEVEL ?? 'info';
  return opts.destination
    ? pino({ level, base: undefined }, opts.destination as pino.DestinationStream)
    : pino({ level, base: undefined });
}

/** A logger that writes nothing, for unit tests that do not inspect logs. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
