import { constants, type Stats } from 'node:fs';
import { lchown, link, lstat, mkdir, open, readdir, readlink, rename, unlink, type FileHandle } from 'node:fs/promises';

const { O_RDONLY, O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW, O_NONBLOCK, O_DIRECTORY } = constants;

/** The folder's path no longer leads to the directory it was set up as (replaced by a link, moved, removed). */
export class FolderMoved extends Error {
  constructor(path: string) {
    super(`${path} is no longer the folder it was set up as`);
    this.name = 'FolderMoved';
  }
}

/** A symbolic link, a file with more than one hard link, or no regular file at all: never read. */
export class NotAPlainFile extends Error {
  constructor(name: string) {
    super(`${name} is not a plain file`);
    this.name = 'NotAPlainFile';
  }
}

/** The error code of a failed file-system call. */
export function errorCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | null)?.code;
}

/**
 * A directory held open by descriptor, so that nothing in it is ever reached through a link
 * that leads out of it.
 *
 * Entries are addressed as `/proc/self/fd/<fd>/<name>`: the kernel resolves that through the
 * open directory itself, not through its path again (the openat() Node lacks). A folder, or
 * any parent of it, swapped for a symbolic link after it was opened redirects nothing. The
 * last component is never followed (O_NOFOLLOW, lstat, link/rename/unlink act on the entry).
 * Names are single entries: no separator, never `.` or `..`.
 */
export class Folder {
  private closing: Promise<void> | null = null;

  private constructor(private readonly handle: FileHandle) {}

  /**
   * Opens the folder at `path`, which must still be the directory whose real path is `real`
   * (taken with realpath() when the folder was set up). The check is made on the opened
   * descriptor, so there is no window between checking and using it.
   */
  static async open(path: string, real: string): Promise<Folder> {
    let handle: FileHandle;
    try {
      handle = await open(path, O_RDONLY | O_DIRECTORY);
    } catch (err) {
      if (errorCode(err) === 'ENOENT' || errorCode(err) === 'ENOTDIR') throw new FolderMoved(path);
      throw err;
    }
    const folder = new Folder(handle);
    try {
      if ((await readlink(folder.base)) !== real) throw new FolderMoved(path);
    } catch (err) {
      await folder.close();
      throw err;
    }
    return folder;
  }

  private get base(): string {
    return `/proc/self/fd/${this.handle.fd}`;
  }

  private at(name: string): string {
    if (name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\0')) {
      throw new Error(`not a folder entry name: ${JSON.stringify(name)}`);
    }
    return `${this.base}/${name}`;
  }

  /** A sub-folder that is a directory itself, not a link to one. */
  async openDir(name: string): Promise<Folder> {
    return new Folder(await open(this.at(name), O_RDONLY | O_DIRECTORY | O_NOFOLLOW));
  }

  /** Creates a sub-folder; fails with EEXIST on any entry of that name, a dangling link included. */
  async mkdir(name: string, mode: number): Promise<void> {
    await mkdir(this.at(name), { mode });
  }

  /**
   * Opens a plain file for reading: a regular file with exactly one link, so neither a
   * symbolic link nor a hard link to a file elsewhere is read. Checked on the opened
   * descriptor. Throws NotAPlainFile for anything else, ENOENT when there is nothing.
   */
  async openFile(name: string): Promise<{ handle: FileHandle; stats: Stats }> {
    let handle: FileHandle;
    try {
      // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer forever.
      handle = await open(this.at(name), O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
    } catch (err) {
      if (errorCode(err) === 'ELOOP') throw new NotAPlainFile(name);
      throw err;
    }
    try {
      const stats = await handle.stat();
      if (!stats.isFile() || stats.nlink !== 1) throw new NotAPlainFile(name);
      return { handle, stats };
    } catch (err) {
      await handle.close();
      throw err;
    }
  }

  /** Creates a new file for writing; fails with EEXIST on any entry of that name, a link included. */
  async create(name: string, mode = 0o666): Promise<FileHandle> {
    return open(this.at(name), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode);
  }

  /** Entry names (unsorted), without looking at what they are. */
  async names(): Promise<string[]> {
    return readdir(this.base);
  }

  /** What the entry itself is, never what a link points to. */
  async lstat(name: string): Promise<Stats> {
    return lstat(this.at(name));
  }

  /** Gives the entry itself (a link, never its target) to `uid`:`gid`. */
  async lchown(name: string, uid: number, gid: number): Promise<void> {
    await lchown(this.at(name), uid, gid);
  }

  /** Removes the entry itself (a link, never its target). */
  async unlink(name: string): Promise<void> {
    await unlink(this.at(name));
  }

  /** Renames an entry of this folder to `name` in `to` (same file system), replacing an entry that is not a folder. */
  async rename(from: string, to: Folder, name: string): Promise<void> {
    await rename(this.at(from), to.at(name));
  }

  /** Links an entry of this folder as `name` in `to` (same file system); fails with EEXIST rather than replace. */
  async link(from: string, to: Folder, name: string): Promise<void> {
    await link(this.at(from), to.at(name));
  }

  /** Idempotent. */
  close(): Promise<void> {
    this.closing ??= this.handle.close();
    return this.closing;
  }
}
