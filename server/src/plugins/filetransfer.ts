import { watch, type FSWatcher } from 'node:fs';
import { mkdir, realpath } from 'node:fs/promises';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { Folder } from '../files/folder.js';
import type { UploadLimits } from '../files/multipart.js';
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
  /** `filetransfer.upload_max_files|upload_max_file_size|upload_max_total_size`. */
  uploadLimits: UploadLimits;
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
  readonly dir: string;
  /**
   * The folder's real path when it was set up. Every access checks the folder still is that
   * directory, so a folder later swapped for a link (to /etc, say) is refused.
   */
  private real: string | null = null;
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
    await plugin.realPath().catch(() => {});
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

  get uploadLimits(): UploadLimits {
    return this.opts.uploadLimits;
  }

  /**
   * The folder, opened so that nothing is reached through a link out of it; throws
   * FolderMoved when its path no longer leads to it. The caller closes it.
   */
  async openFolder(): Promise<Folder> {
    return Folder.open(this.dir, await this.realPath());
  }

  /** Taken once; only a folder missing at start is resolved later, once it exists. */
  private async realPath(): Promise<string> {
    this.real ??= await realpath(this.dir);
    return this.real;
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
    let folder: Folder;
    try {
      folder = await this.openFolder();
    } catch (err) {
      this.log.warn({ err: (err as Error).message, dir: this.dir }, 'cannot list the file transfer folder');
      return [];
    }
    try {
      return await this.entries(folder);
    } catch (err) {
      this.log.warn({ err: (err as Error).message, dir: this.dir }, 'cannot list the file transfer folder');
      return [];
    } finally {
      await folder.close();
    }
  }

  /**
   * Offers what can be downloaded, and folders: links (symbolic, or a file with other hard
   * links, which may be outside) are not offered, nor looked through, and neither are FIFOs,
   * sockets or devices.
   */
  private async entries(folder: Folder): Promise<FileEntry[]> {
    const names = (await folder.names()).filter((name) => !name.startsWith(UPLOAD_TEMP_PREFIX)).sort();
    if (names.length > MAX_LISTED_FILES) {
      this.log.warn({ count: names.length, listed: MAX_LISTED_FILES }, 'file transfer folder listing truncated');
      names.length = MAX_LISTED_FILES;
    }
    const out: FileEntry[] = [];
    for (const name of names) {
      const st = await folder.lstat(name).catch(() => null); // removed while listing
      if (st?.isDirectory()) out.push({ name, type: 'dir' });
      else if (st?.isFile() && st.nlink === 1) out.push({ name, type: 'file', size: st.size });
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
