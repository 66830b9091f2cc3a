import { randomBytes } from 'node:crypto';
import { chmod, chown, mkdir, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { Folder, errorCode } from '../files/folder.js';
import { UploadSpool, type SpooledFile } from '../files/spool.js';
import type { Logger } from '../log.js';
import type { RunAs } from '../process/spawn.js';

/** A file received from a client, spooled to disk under the upload folder. */
export interface IncomingFile {
  /** The name the client gave it; checked with uploadName() before use. */
  name: string;
  /** The spooled bytes, from a spool of this upload folder. */
  file: SpooledFile;
}

/** Where multipart parts are written while a request is parsed, inside the upload folder. */
const INCOMING = '.incoming';

/** A client file name that cannot be used as a plain file name. */
export class UploadNameError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UploadNameError';
  }
}

const MAX_NAME_BYTES = 255;

/**
 * Accepts a client-supplied file name only if it is a plain name: no path separators of
 * either kind, no NUL or other control characters, not `.`/`..` or empty, at most 255
 * bytes. Hostile names are refused rather than cleaned up, so what lands on the desktop is
 * exactly what the user sent or nothing.
 */
export function uploadName(name: string): string {
  if (name === '' || name === '.' || name === '..') throw new UploadNameError('empty or relative file name');
  if (name.includes('/') || name.includes('\\')) throw new UploadNameError('file name contains a path separator');
  if (/[\u0000-\u001f\u007f]/.test(name)) throw new UploadNameError('file name contains control characters');
  if (Buffer.byteLength(name, 'utf8') > MAX_NAME_BYTES) throw new UploadNameError('file name too long');
  return name;
}

export interface UploadsOptions {
  logger: Logger;
  /** Parent of the upload folder (default: the OS temp directory). */
  parent?: string;
  /** The desktop user, who gets the files and may read the folders (default: only us). */
  owner?: RunAs | null;
}

/**
 * The upload folder of this server: a fresh directory under the temp dir, created with the
 * first upload (servers that never get one leave nothing behind) and removed on close.
 *
 * - dropped files land directly in it, and from there they are dragged onto the window at
 *   the drop point (xdnd.ts), as if from a file manager. Where no window takes drops (the
 *   bare root of our window-manager-only session, which has no file manager or desktop
 *   icons) this folder is where they stay for the user to open;
 * - files for a file chooser dialog go to a fresh sub-folder per upload, so the dialog can
 *   be pointed at that folder and select everything in it;
 * - multipart parts are spooled to `.incoming` inside it, so nothing a client sends is ever
 *   written outside this folder.
 *
 * Every access goes through the folder opened by descriptor and checked to be the one
 * created (files/folder.ts): a link planted in it, even in place of `.incoming`, is never
 * written or read through.
 */
export class Uploads {
  /** The upload folder (drop target); created with the first upload. */
  readonly dir: string;
  private readonly logger: Logger;
  private readonly owner: RunAs | null;
  private created: Promise<string> | null = null;
  private closing: Promise<void> | null = null;

  constructor(opts: UploadsOptions) {
    // Unguessable, and created without `recursive` below: a folder planted under this name
    // in a shared temp dir makes the upload fail instead of being used.
    this.dir = join(opts.parent ?? tmpdir(), `neko-upload-${randomBytes(9).toString('base64url')}`);
    this.logger = opts.logger;
    this.owner = opts.owner ?? null;
  }

  /** Moves dropped files into the upload folder; returns where each one landed. */
  async drop(files: IncomingFile[]): Promise<string[]> {
    const folder = await this.open();
    try {
      return await this.place(files, folder, this.dir);
    } finally {
      await folder.close();
    }
  }

  /** Moves files into a new sub-folder for a file chooser dialog; returns that folder. */
  async dialogBatch(files: IncomingFile[]): Promise<string> {
    const name = `.dialog-${randomBytes(6).toString('hex')}`;
    const dir = join(this.dir, name);
    const folder = await this.open();
    try {
      await folder.mkdir(name, 0o700);
      const batch = await folder.openDir(name);
      try {
        await this.share(dir);
        await this.place(files, batch, dir);
      } finally {
        await batch.close();
      }
    } finally {
      await folder.close();
    }
    return dir;
  }

  /**
   * A spool for one request's parts, capped at `maxFileBytes` a part. Closing it removes
   * whatever was not placed, including parts a parser created after it had already failed.
   */
  async spool(maxFileBytes: number): Promise<UploadSpool> {
    const folder = await this.open();
    try {
      return new UploadSpool(await folder.openDir(INCOMING), { prefix: 'part-', maxFileBytes });
    } finally {
      await folder.close();
    }
  }

  /** Removes the upload folder and everything in it; idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      const created = this.created;
      // Later uploads fail on the missing folder instead of recreating it.
      this.created = Promise.reject(new Error('uploads closed'));
      this.created.catch(() => {});
      if (!created) return;
      await created.catch(() => {});
      await rm(this.dir, { recursive: true, force: true });
      this.logger.debug({ dir: this.dir }, 'upload folder removed');
    })().catch((err: unknown) => this.logger.warn({ err, dir: this.dir }, 'upload folder not removed'));
    return this.closing;
  }

  /**
   * The upload folder, created with the first upload (servers that never get one leave no
   * folder behind), opened by descriptor and checked to still be the one created.
   */
  private async open(): Promise<Folder> {
    this.created ??= (async () => {
      await mkdir(this.dir, { mode: 0o700 });
      await this.share(this.dir);
      await mkdir(join(this.dir, INCOMING), { mode: 0o700 });
      this.logger.info({ dir: this.dir }, 'upload folder created');
      return realpath(this.dir);
    })();
    return Folder.open(this.dir, await this.created);
  }

  /**
   * Lets the desktop user's group into a folder of ours, read-only: the apps open dropped
   * files from it, but the user must not add entries (a planted link) where we write.
   */
  private async share(dir: string): Promise<void> {
    if (!this.owner) return;
    await chown(dir, process.getuid?.() ?? -1, this.owner.gid);
    await chmod(dir, 0o750);
  }

  /** Places files in `folder`, whose path is `dir`; returns the path of each one. */
  private async place(files: IncomingFile[], folder: Folder, dir: string): Promise<string[]> {
    const names = files.map((f) => uploadName(f.name));
    const placed: string[] = [];
    for (const [i, file] of files.entries()) placed.push(join(dir, await this.placeOne(file.file, folder, names[i]!)));
    return placed;
  }

  /**
   * Never replaces an existing entry (a planted link included): a taken name gets " (1)",
   * " (2)", … before its extension. The move is a link() that fails on an existing target,
   * so two uploads cannot race for a name; the spool is inside the upload folder, so source
   * and target share a filesystem. Returns the name used.
   */
  private async placeOne(file: SpooledFile, folder: Folder, name: string): Promise<string> {
    const ext = extname(name);
    const stem = ext && ext !== name ? name.slice(0, -ext.length) : name;
    for (let n = 0; n < 1000; n++) {
      const target = n === 0 ? name : `${stem} (${n})${ext}`;
      try {
        await file.moveTo(folder, target, false);
      } catch (err) {
        if (errorCode(err) === 'EEXIST') continue;
        throw err;
      }
      if (this.owner) await folder.lchown(target, this.owner.uid, this.owner.gid);
      return target;
    }
    throw new Error(`no free name for ${name}`);
  }
}
