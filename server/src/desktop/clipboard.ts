import type { ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import type { Logger } from '../log.js';
import { execFile, spawn } from '../process/spawn.js';
import type { X11Client } from './x11-client.js';

/** Contract §2.3 Clipboard. */
export interface ClipboardContent {
  text?: string;
  html?: string;
}

export interface ClipboardOptions {
  display: string;
  logger: Logger;
  /** Largest clipboard content read back, text or image (default 32 MiB). */
  maxBytes?: number;
  /** Pause between a change of owner and reading the new text (default 100 ms). */
  settleMs?: number;
}

export interface ClipboardEvents {
  /** The desktop's clipboard now holds this text (set by a desktop application). */
  text: [string];
}

/** Text targets in order of preference; STRING is Latin-1 by definition. */
const TEXT_TARGETS = ['UTF8_STRING', 'text/plain;charset=utf-8', 'STRING', 'TEXT'];
const HTML_TARGET = 'text/html';
const IMAGE_TARGET = 'image/png';
/** What `xclip -verbose` prints once it owns the selection and serves it. */
const OWNING = 'Waiting for selection requests';
const OWN_TIMEOUT_MS = 5000;
const READ_TIMEOUT_MS = 5000;

/**
 * The X CLIPBOARD selection, read and written with xclip: xclip already speaks the
 * selection protocol in full (TARGETS, INCR transfers of large content), which an in-process
 * owner would have to reimplement. A selection needs a live owner, so every write leaves an
 * xclip process serving it until another client takes the selection over (then it exits by
 * itself); close() ends the one still serving.
 */
export class Clipboard extends EventEmitter<ClipboardEvents> {
  private readonly log: Logger;
  private readonly maxBytes: number;
  private readonly owners = new Set<ChildProcess>();
  /** Last text the room knows about (set by us or already reported), to report changes only. */
  private known: string | undefined;
  private settleTimer: NodeJS.Timeout | null = null;
  private checking: Promise<void> | null = null;
  private recheck = false;
  /** Writes run one after another: each new owner ends the ones before it. */
  private writing: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(private readonly opts: ClipboardOptions) {
    super();
    this.log = opts.logger;
    this.maxBytes = opts.maxBytes ?? 32 << 20;
  }

  /** Text and HTML currently offered; fields are absent when the owner does not offer them. */
  async read(): Promise<ClipboardContent> {
    const targets = await this.targets();
    const out: ClipboardContent = {};
    const textTarget = TEXT_TARGETS.find((t) => targets.includes(t));
    if (textTarget) {
      const bytes = await this.xclipOut(textTarget);
      const text = bytes.toString(textTarget === 'STRING' ? 'latin1' : 'utf8');
      if (text) out.text = text;
    }
    if (targets.includes(HTML_TARGET)) {
      const html = (await this.xclipOut(HTML_TARGET)).toString('utf8');
      if (html) out.html = html;
    }
    return out;
  }

  /** The clipboard as PNG bytes; rejects when the owner offers no image/png. */
  async readImage(): Promise<Buffer> {
    const targets = await this.targets();
    if (!targets.includes(IMAGE_TARGET)) throw new Error('clipboard holds no image/png');
    return this.xclipOut(IMAGE_TARGET);
  }

  /**
   * Takes the selection with this content: HTML alone when `html` is non-empty, else the
   * text. Resolves once the new owner serves it, so a read right after sees it.
   */
  write(content: ClipboardContent): Promise<void> {
    const next = this.writing.then(async () => {
      if (this.closed) throw new Error('clipboard closed');
      const html = content.html ?? '';
      const target = html ? HTML_TARGET : 'UTF8_STRING';
      const data = html || (content.text ?? '');
      if (!html) this.known = data;
      const previous = [...this.owners];
      await this.serve(target, Buffer.from(data, 'utf8'));
      // They lost the selection and are exiting anyway; this just doesn't wait for them.
      for (const owner of previous) killGroup(owner);
    });
    this.writing = next.catch(() => {});
    return next;
  }

  /**
   * Watches `client` for clipboard owner changes (XFIXES) and emits `text` when the text
   * differs from what the room last knew. Call again for each new connection.
   */
  async attach(client: X11Client): Promise<void> {
    if (this.closed) return;
    const clipboard = await client.internAtom('CLIPBOARD');
    const eventCode = await client.watchSelection(clipboard);
    client.on('event', (ev) => {
      if (ev.type === eventCode && ev.name === 'SelectionNotify' && ev.selection === clipboard) this.changed();
    });
  }

  /** Ends the xclip still serving our content; idempotent. */
  close(): void {
    this.closed = true;
    if (this.settleTimer) clearTimeout(this.settleTimer);
    this.settleTimer = null;
    for (const owner of this.owners) killGroup(owner);
    this.owners.clear();
  }

  private changed(): void {
    if (this.closed || this.settleTimer) return;
    this.settleTimer = setTimeout(() => {
      this.settleTimer = null;
      void this.check();
    }, this.opts.settleMs ?? 100);
  }

  /** One read at a time; a change seen meanwhile triggers one more read after it. */
  private check(): Promise<void> {
    if (this.checking) {
      this.recheck = true;
      return this.checking;
    }
    this.checking = (async () => {
      do {
        this.recheck = false;
        try {
          const { text } = await this.read();
          if (text !== undefined && text !== this.known && !this.closed) {
            this.known = text;
            this.emit('text', text);
          }
        } catch (err) {
          this.log.debug({ err }, 'clipboard not readable after owner change');
        }
      } while (this.recheck && !this.closed);
      this.checking = null;
    })();
    return this.checking;
  }

  private async targets(): Promise<string[]> {
    try {
      const out = await this.xclipOut('TARGETS');
      return out.toString('latin1').split('\n').map((t) => t.trim()).filter(Boolean);
    } catch {
      return []; // no owner, or one that does not answer TARGETS: nothing to offer
    }
  }

  private xclipOut(target: string): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      execFile(
        'xclip',
        ['-o', '-selection', 'clipboard', '-t', target],
        { env: this.env(), encoding: 'buffer', maxBuffer: this.maxBytes, timeout: READ_TIMEOUT_MS },
        (err, stdout, stderr) => {
          if (err) reject(new Error(`xclip -o -t ${target}: ${stderr.toString('utf8').trim() || err.message}`));
          else resolve(stdout);
        },
      );
    });
  }

  /** Starts an xclip owning the selection with `data` as `target`; resolves once it serves. */
  private serve(target: string, data: Buffer): Promise<void> {
    return new Promise((resolve, reject) => {
      // -verbose keeps xclip in the foreground (so it can be supervised) and says when it owns.
      const child = spawn('xclip', ['-verbose', '-selection', 'clipboard', '-t', target, '-i'], {
        env: this.env(),
        detached: true,
        stdio: ['pipe', 'ignore', 'pipe'],
      });
      let settled = false;
      let said = '';
      const settle = (err?: Error) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (err) {
          killGroup(child);
          reject(err);
        } else {
          resolve();
        }
      };
      const timer = setTimeout(() => settle(new Error('xclip did not take the clipboard in time')), OWN_TIMEOUT_MS);
      this.owners.add(child);
      child.once('error', (err) => settle(err));
      child.once('exit', (code, signal) => {
        this.owners.delete(child);
        settle(new Error(`xclip exited before owning the clipboard (${signal ?? code}): ${said.trim()}`));
      });
      // Keep draining: xclip reports every request it serves, and a full pipe would stall it.
      child.stderr?.on('data', (chunk: Buffer) => {
        if (settled) return;
        said = (said + chunk.toString('utf8')).slice(-2048);
        if (said.includes(OWNING)) settle();
      });
      child.stdin?.on('error', () => {}); // an early exit is reported through 'exit'
      child.stdin?.end(data);
    });
  }

  private env(): NodeJS.ProcessEnv {
    return { ...process.env, DISPLAY: this.opts.display };
  }
}

function killGroup(child: ChildProcess): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, 'SIGTERM');
  } catch {
    // already gone
  }
}
