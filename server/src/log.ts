import { existsSync, mkdirSync, renameSync } from 'node:fs';
import path from 'node:path';
import { pino, type Logger } from 'pino';
import { prettyFactory } from 'pino-pretty';

export type { Logger };

/** Contract §11.1 `log.time`: the unit of the `time` field of JSON lines. */
export type LogTime = 'unix' | 'unixms' | 'unixmicro';

export interface LogOptions {
  level?: string;
  /** JSON lines even on a terminal (`log.json`). Anything that is not a terminal always gets JSON. */
  json?: boolean;
  /** No ANSI colours on a terminal (`log.nocolor`; a non-empty `NO_COLOR` in `env` does the same). */
  noColor?: boolean;
  /** Unit of the JSON `time` field; terminal lines show local wall-clock time instead. */
  time?: LogTime;
  /** Write to `<dir>/neko-latest.log` instead of stdout (`log.dir`); see LOG_FILE. */
  dir?: string;
  /** Where lines go when `dir` is empty; defaults to stdout. Tests pass a stream to capture them. */
  destination?: NodeJS.WritableStream;
  /** Read for NO_COLOR; defaults to process.env. */
  env?: NodeJS.ProcessEnv;
}

/** The file neko writes in `log.dir`; the previous run's file is kept under a dated name. */
export const LOG_FILE = 'neko-latest.log';

/** neko's level names that pino spells differently. */
const LEVEL_ALIASES: Record<string, string> = { panic: 'fatal', disabled: 'silent' };

const TIME_FIELD: Record<LogTime, () => string> = {
  unix: () => `,"time":${Math.floor(Date.now() / 1000)}`,
  unixms: () => `,"time":${Date.now()}`,
  unixmicro: () => `,"time":${Math.floor((performance.timeOrigin + performance.now()) * 1000)}`,
};

/** The logger options the configuration asks for (contract §11.1 `debug` and `log.*`). */
export function logOptions(config: {
  debug: boolean;
  log: { level: string; json: boolean; nocolor: boolean; time: LogTime; dir: string };
}): LogOptions {
  const { level, json, nocolor, time, dir } = config.log;
  // As in neko, `debug` raises the level to debug but never hides trace.
  return { level: config.debug && level !== 'trace' ? 'debug' : level, json, noColor: nocolor, time, dir };
}

/**
 * Root logger; every module takes `root.child({ module: 'name' })`. A terminal gets
 * human-readable lines (pino-pretty); files, pipes and `json` get one JSON object per line.
 * Throws when `dir` cannot be created or written.
 */
export function createLogger(opts: LogOptions = {}): Logger {
  const requested = opts.level ?? 'info';
  const level = LEVEL_ALIASES[requested] ?? requested;
  const target: NodeJS.WritableStream | pino.DestinationStream = opts.dir
    ? openLogFile(opts.dir)
    : (opts.destination ?? process.stdout);
  const terminal = (target as { isTTY?: boolean }).isTTY === true;
  if (terminal && !opts.json) {
    const colour = !opts.noColor && !(opts.env ?? process.env).NO_COLOR;
    // Formatted in the write call, so a line is on the terminal before the next statement runs.
    const prettify = prettyFactory({
      colorize: colour,
      translateTime: 'SYS:HH:MM:ss.l',
      ignore: 'module',
      messageFormat: (log, messageKey) => (log.module ? `[${String(log.module)}] ` : '') + String(log[messageKey] ?? ''),
    });
    const pretty = { write: (line: string) => void target.write(prettify(line)) };
    return pino({ level, base: undefined }, pretty);
  }
  const timestamp = TIME_FIELD[opts.time ?? 'unixms'];
  return pino({ level, base: undefined, timestamp }, target as pino.DestinationStream);
}

/** Like neko: the last run's file is renamed `neko.<UTC time>.log`, then a fresh one is opened. */
function openLogFile(dir: string): pino.DestinationStream {
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, LOG_FILE);
  if (existsSync(file)) {
    const stamp = new Date().toISOString().replaceAll(':', '-');
    renameSync(file, path.join(dir, `neko.${stamp}.log`));
  }
  return pino.destination({ dest: file, sync: true });
}

/** A logger that writes nothing, for unit tests that do not inspect logs. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
