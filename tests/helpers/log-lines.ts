import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../../server/src/log.js';

export type LogLine = Record<string, unknown> & { msg?: string };

/**
 * A logger whose JSON lines a test reads and waits on: a log line is often the only sign
 * that the server made a decision (refused a track, gave up on a pipeline).
 */
export class LogLines {
  readonly lines: LogLine[] = [];
  readonly logger: Logger;
  private readonly waiters = new Set<(line: LogLine) => void>();

  constructor(level = 'info') {
    let partial = '';
    const destination = new Writable({
      write: (chunk: Buffer, _encoding, done) => {
        const text = partial + chunk.toString('utf8');
        const complete = text.split('\n');
        partial = complete.pop()!;
        for (const raw of complete) {
          if (!raw) continue;
          const line = JSON.parse(raw) as LogLine;
          this.lines.push(line);
          for (const waiter of this.waiters) waiter(line);
        }
        done();
      },
    });
    this.logger = createLogger({ level, destination });
  }

  /** The first line (already written or to come) for which `match` holds. */
  waitFor(what: string, match: (line: LogLine) => boolean, timeoutMs = 10_000): Promise<LogLine> {
    const seen = this.lines.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const waiter = (line: LogLine) => {
        if (!match(line)) return;
        this.waiters.delete(waiter);
        clearTimeout(timer);
        resolve(line);
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for the log line: ${what}`));
      }, timeoutMs);
      this.waiters.add(waiter);
    });
  }
}
