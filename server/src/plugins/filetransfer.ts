import { watch, type FSWatcher } from 'node:fs';
import { mkdir, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import type { Logger } from '../log.js';
import type { MemberProfile } from '../members/types.js';
import type { SessionManager } from '../sessions/manager.js';
import type { Session } from '../sessions/session.js';
import type { Settings } from '../sessions/types.js';
import type { EventTable } from '../websocket/gateway.js';
import { pluginAllows } from './permissions.js';

/** Contract §10.2 `files[]` entry. */
export interface FileEntry {
  name: string;
  type: 'file' | 'dir';
  size?: number;
}

export type FileAction = 'download' | 'upload' | 'delete';

export interface FileTransferOptions {
  /** `filetransfer.enabled`. */
  enabled: boolean;
  /** `filetransfer.dir`: the one folder files are listed from and stored into. */
  dir: string;
  /** `filetransfer.refresh_interval`, in ms. */
  refreshIntervalMs: number;
  /** `filetransfer.user_download|user_upload|user_delete`: what non-admins may do. */
  userDownload: boolean;
  userUpload: boolean;
  userDelete: boolean;
  sessions: SessionManager;
  logger: Logger;
}

/** Names given to uploads while they are being received; never listed. */
export const UPLOAD_TEMP_PREFIX = '.neko-upload-';
/** A listing stops here so a huge folder cannot produce a huge event for every client. */
export const MAX_LISTED_FILES = 1000;
/** File-system events arrive in bursts (an upload is several); one rescan serves a burst. */
const WATCH_DEBOUNCE_MS = 100;

/** Thrown for a name that is empty or tries to leave the folder. */
export class BadFilename extends Error {
  constructor() {
    super('bad filename');
  }
}

/**
 * Turns a client-supplied name into a plain entry name of the folder (its basename), or
 * throws BadFilename: empty, NUL, and any `..` path segment are refused outright rather
 * than cleaned up, as the contract asks.
 */
export function entryName(name: string): string {
  if (name === '' || name.includes('\0') || /\.\.(\/|$)/.test(name)) throw new BadFilename();
  const base = path.posix.basename(path.posix.normalize(name));
  if (base === '' || base === '.' || base === '..' || base === '/' || base.startsWith(UPLOAD_TEMP_PREFIX)) {
    throw new BadFilename();
  }
  return base;
}

/**
 * The file transfer plugin (contract §10.2): keeps the listing of one folder, tells clients
 * when it changes, and answers who may download, upload and delete.
 */
export class FileTransferPlugin {
  private files: FileEntry[] = [];
  private watcher: FSWatcher | null = null;
  private timer: NodeJS.Timeout | null = null;
  private debounce: NodeJS.Timeout | null = null;
  private scanning: Promise<boolean> = Promise.resolve(false);
  private closed = false;
  private readonly log: Logger;
  /** Absolute, so paths built from it compare equal to the upload parser's. */
  readonly dir: string;
  private readonly onProfile = (session: Session, previous: MemberProfile) => {
    const now = session.profile;
    if (now.is_admin !== previous.is_admin || !isDeepStrictEqual(now.plugins, previous.plugins)) this.sendUpdate(session);
  };
  private readonly onSettings = (next: Settings, previous: Settings) => {
    if (!isDeepStrictEqual(next.plugins, previous.plugins)) this.broadcastUpdate();
  };

  private constructor(private readonly opts: FileTransferOptions) {
    this.log = opts.logger;
    this.dir = path.resolve(opts.dir);
  }

  /** Creates the folder if needed, lists it and starts watching it (only when enabled). */
  static async start(opts: FileTransferOptions): Promise<FileTransferPlugin> {
    const plugin = new FileTransferPlugin(opts);
    if (!opts.enabled) return plugin;
    try {
      await mkdir(plugin.dir, { recursive: true });
    } catch (err) {
      plugin.log.error({ err, dir: opts.dir }, 'cannot create the file transfer folder');
    }
    await plugin.rescan();
    plugin.startWatching();
    plugin.timer = setInterval(() => void plugin.refresh(), opts.refreshIntervalMs);
    opts.sessions.on('profile', plugin.onProfile);
    opts.sessions.on('settings', plugin.onSettings);
    return plugin;
  }

  /** Plugin enabled for this session (§10's three layers). */
  enabledFor(session: Session): boolean {
    return pluginAllows(this.opts.enabled, this.opts.sessions, session, 'filetransfer.enabled');
  }

  /** Whether the session may perform `action`, assuming the plugin is enabled for it. */
  allows(session: Session, action: FileAction): boolean {
    if (session.isAdmin) return true;
    if (action === 'download') return this.opts.userDownload;
    if (action === 'upload') return this.opts.userUpload;
    return this.opts.userDelete;
  }

  /** Absolute path of a client-named entry; throws BadFilename. */
  pathOf(name: string): string {
    return path.join(this.dir, entryName(name));
  }

  /** Connect-time `filetransfer/update`. */
  init(session: Session): void {
    this.sendUpdate(session);
  }

  handlers(): EventTable {
    return {
      'filetransfer/update': async (session) => {
        if (!this.enabledFor(session)) return;
        const changed = await this.rescan();
        if (changed) this.broadcastUpdate();
        else this.sendUpdate(session);
      },
    };
  }

  /** Rescans soon (coalescing bursts); used after uploads, deletes and folder events. */
  scheduleRefresh(): void {
    if (this.closed || !this.opts.enabled || this.debounce) return;
    this.debounce = setTimeout(() => {
      this.debounce = null;
      void this.refresh();
    }, WATCH_DEBOUNCE_MS);
  }

  private async refresh(): Promise<void> {
    if (await this.rescan()) this.broadcastUpdate();
  }

  /** Re-reads the folder; resolves true when the listing changed. Scans never overlap. */
  rescan(): Promise<boolean> {
    this.scanning = this.scanning.then(async () => {
      if (this.closed) return false;
      const files = await this.list();
      if (isDeepStrictEqual(files, this.files)) return false;
      this.files = files;
      return true;
    });
    return this.scanning;
  }

  private async list(): Promise<FileEntry[]> {
    let entries;
    try {
      entries = await readdir(this.dir, { withFileTypes: true });
    } catch (err) {
      this.log.warn({ err: (err as Error).message, dir: this.dir }, 'cannot list the file transfer folder');
      return [];
    }
    const names = entries
      .map((e) => e.name)
      .filter((name) => !name.startsWith(UPLOAD_TEMP_PREFIX))
      .sort();
    if (names.length > MAX_LISTED_FILES) {
      this.log.warn({ count: names.length, listed: MAX_LISTED_FILES }, 'file transfer folder listing truncated');
      names.length = MAX_LISTED_FILES;
    }
    const out: FileEntry[] = [];
    for (const name of names) {
      try {
        // stat, not lstat: a link to a folder is offered as the folder it points to.
        const st = await stat(path.join(this.dir, name));
        out.push(st.isDirectory() ? { name, type: 'dir' } : { name, type: 'file', size: st.size });
      } catch {
        // removed while listing, or a dangling link: not offered
      }
    }
    return out;
  }

  private payloadFor(session: Session): Record<string, unknown> {
    const enabled = this.enabledFor(session);
    return {
      enabled,
      root_dir: this.opts.dir,
      user_download: this.opts.userDownload,
      user_upload: this.opts.userUpload,
      user_delete: this.opts.userDelete,
      files: enabled ? this.files : null,
    };
  }

  private sendUpdate(session: Session): void {
    session.send('filetransfer/update', this.payloadFor(session));
  }

  private broadcastUpdate(): void {
    for (const session of this.opts.sessions.connectedSessions()) this.sendUpdate(session);
  }

  private startWatching(): void {
    try {
      this.watcher = watch(this.dir, { persistent: false }, () => this.scheduleRefresh());
      this.watcher.on('error', (err) => {
        // The folder itself went away; the periodic rescan still notices when it returns.
        this.log.warn({ err: err.message }, 'file transfer folder watch stopped');
        this.watcher?.close();
        this.watcher = null;
      });
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'cannot watch the file transfer folder; relying on periodic rescans');
    }
  }

  /** Stops watching and rescanning; idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.watcher?.close();
    this.watcher = null;
    if (this.timer) clearInterval(this.timer);
    if (this.debounce) clearTimeout(this.debounce);
    this.timer = this.debounce = null;
    this.opts.sessions.off('profile', this.onProfile);
    this.opts.sessions.off('settings', this.onSettings);
  }
}
