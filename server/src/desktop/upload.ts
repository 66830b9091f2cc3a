import { randomBytes } from 'node:crypto';
import { link, mkdir, mkdtemp, rm, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, extname, join } from 'node:path';
import type { Logger } from '../log.js';

/** A file received from a client, spooled to disk under the upload folder. */
export interface IncomingFile {
  /** The name the client gave it; checked with uploadName() before use. */
  name: string;
  /** Where the spooled bytes are. */
  path: string;
}

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
 * - multipart parts are spooled to a folder per request under `.incoming` inside it, so
 *   nothing a client sends is ever written outside this folder.
 */
export class Uploads {
  /** The upload folder (drop target); created with the first upload. */
  readonly dir: string;
  /** Where multipart parts are written while a request is parsed. */
  readonly incomingDir: string;
  private readonly logger: Logger;
  private created: Promise<void> | null = null;
  private closing: Promise<void> | null = null;

  constructor(opts: UploadsOptions) {
    // Unguessable, and created without `recursive` below: a folder planted under this name
    // in a shared temp dir makes the upload fail instead of being used.
    this.dir = join(opts.parent ?? tmpdir(), `neko-upload-${randomBytes(9).toString('base64url')}`);
    this.incomingDir = join(this.dir, '.incoming');
    this.logger = opts.logger;
  }

  /** Moves dropped files into the upload folder; returns where each one landed. */
  async drop(files: IncomingFile[]): Promise<string[]> {
    await this.ensure();
    return this.place(files, this.dir);
  }

  /** Moves files into a new sub-folder for a file chooser dialog; returns that folder. */
  async dialogBatch(files: IncomingFile[]): Promise<string> {
    await this.ensure();
    const dir = join(this.dir, `.dialog-${randomBytes(6).toString('hex')}`);
    await mkdir(dir, { mode: 0o700 });
    await this.place(files, dir);
    return dir;
  }

  /**
   * A private spool folder for one request's parts. Removing the whole folder afterwards
   * (discardSpool) also catches parts a parser created after it had already failed.
   */
  async spool(): Promise<string> {
    await this.ensure();
    return mkdtemp(join(this.incomingDir, 'request-'));
  }

  /** Deletes a request's spool folder with whatever was not placed. */
  async discardSpool(spool: string): Promise<void> {
    if (dirname(spool) !== this.incomingDir) throw new Error(`${spool} is not a spool folder`);
    await rm(spool, { recursive: true, force: true });
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

  /** Servers that never receive an upload leave no folder behind. */
  private ensure(): Promise<void> {
    this.created ??= (async () => {
      await mkdir(this.dir, { mode: 0o700 });
      await mkdir(this.incomingDir, { mode: 0o700 });
      this.logger.info({ dir: this.dir }, 'upload folder created');
    })();
    return this.created;
  }

  private async place(files: IncomingFile[], dir: string): Promise<string[]> {
    const names = files.map((f) => uploadName(f.name));
    const placed: string[] = [];
    for (const [i, file] of files.entries()) placed.push(await this.placeOne(file.path, dir, names[i]!));
    return placed;
  }

  /**
   * Never replaces an existing file: a taken name gets " (1)", " (2)", … before its
   * extension. link() fails on an existing target, so two uploads cannot race for a name;
   * the spool folder is inside the upload folder, so source and target share a filesystem.
   */
  private async placeOne(source: string, dir: string, name: string): Promise<string> {
    const ext = extname(name);
    const stem = ext && ext !== name ? name.slice(0, -ext.length) : name;
    for (let n = 0; n < 1000; n++) {
      const target = join(dir, n === 0 ? name : `${stem} (${n})${ext}`);
      try {
        await link(source, target);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') continue;
        throw err;
      }
      await unlink(source);
      return target;
    }
    throw new Error(`no free name for ${name} in ${dir}`);
  }
}
