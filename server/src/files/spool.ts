import { randomBytes } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { Writable } from 'node:stream';
import { errorCode, type Folder } from './folder.js';

/** A file part beyond its size cap. `httpCode` is how formidable marks its own limit errors. */
export class UploadTooLarge extends Error {
  readonly httpCode = 413;

  constructor(limit: number) {
    super(`file larger than ${limit} bytes`);
    this.name = 'UploadTooLarge';
  }
}

export interface UploadSpoolOptions {
  /** Temporary files are named this plus random hex. */
  prefix: string;
  /** Largest accepted file part, in bytes. */
  maxFileBytes: number;
}

/** A received file, as the spool hands it on. */
export interface SpooledFile {
  /** Bytes received. */
  readonly size: number;
  /**
   * Moves the file to `name` in `to` (same file system). `replace` swaps out an existing entry
   * (a link included, never followed); otherwise an existing entry fails it with EEXIST.
   */
  moveTo(to: Folder, name: string, replace: boolean): Promise<void>;
}

/**
 * Writes one part to a new file of the spool's folder: created exclusively and without
 * following links, and cut off with UploadTooLarge as soon as it passes the cap (formidable
 * only compares a part with `maxFileSize` once it has been received in full).
 */
class PartWriter extends Writable {
  size = 0;
  private handle: FileHandle | null = null;
  /** Settles once the file, if one was created, is closed again. */
  readonly settled: Promise<void>;
  private settle!: () => void;

  constructor(
    private readonly folder: Folder | null,
    readonly name: string,
    private readonly max: number,
  ) {
    super();
    this.settled = new Promise((resolve) => (this.settle = resolve));
  }

  override _construct(callback: (err?: Error | null) => void): void {
    if (!this.folder) {
      callback(new Error('the upload is already over'));
      return;
    }
    this.folder.create(this.name).then(
      (handle) => {
        this.handle = handle;
        callback();
      },
      (err: Error) => callback(err),
    );
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (err?: Error | null) => void): void {
    if (this.size + chunk.length > this.max) {
      callback(new UploadTooLarge(this.max));
      return;
    }
    this.writeAll(chunk).then(() => callback(), callback);
  }

  private async writeAll(chunk: Buffer): Promise<void> {
    for (let offset = 0; offset < chunk.length; ) {
      const { bytesWritten } = await this.handle!.write(chunk, offset, chunk.length - offset);
      offset += bytesWritten;
      this.size += bytesWritten;
    }
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    const handle = this.handle;
    this.handle = null;
    const done = (closeErr?: Error) => {
      this.settle();
      callback(err ?? closeErr);
    };
    if (handle) handle.close().then(() => done(), done);
    else done();
  }
}

interface Part {
  writer: PartWriter;
  /** Moved on: no longer the spool's to remove. */
  taken: boolean;
}

/**
 * Receives a multipart request's file parts (formidable's `fileWriteStreamHandler`) into
 * temporary files of one folder, and on close removes every one that was not moved on:
 * partial parts of a refused upload, parts under other field names, and parts formidable
 * opens after it has already failed. Owns the folder it is given.
 */
export class UploadSpool {
  private readonly parts = new Map<object, Part>();
  private closing: Promise<void> | null = null;

  constructor(
    readonly folder: Folder,
    private readonly opts: UploadSpoolOptions,
  ) {}

  /** formidable's `fileWriteStreamHandler`: one writer per file part. */
  readonly writer = (file?: object): Writable => {
    const name = `${this.opts.prefix}${randomBytes(12).toString('hex')}`;
    const writer = new PartWriter(this.closing ? null : this.folder, name, this.opts.maxFileBytes);
    this.parts.set(file ?? writer, { writer, taken: false });
    return writer;
  };

  /**
   * `files` in the order their parts began in the request. formidable lists a file when its
   * write stream finishes, which with asynchronous writes is not the order the client sent.
   */
  inSentOrder<T extends object>(files: readonly T[]): T[] {
    const order = new Map([...this.parts.keys()].map((file, i) => [file, i]));
    return [...files].sort((a, b) => (order.get(a) ?? Infinity) - (order.get(b) ?? Infinity));
  }

  /** A file formidable received through this spool. */
  file(file: object): SpooledFile {
    const part = this.parts.get(file);
    if (!part) throw new Error('not a file of this upload');
    return {
      size: part.writer.size,
      moveTo: async (to, name, replace) => {
        if (part.taken) throw new Error(`${name}: already moved`);
        if (replace) {
          await this.folder.rename(part.writer.name, to, name);
        } else {
          await this.folder.link(part.writer.name, to, name);
          await this.folder.unlink(part.writer.name);
        }
        part.taken = true;
      },
    };
  }

  /** Stops writing, removes what was not moved on and closes the folder; idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      const removed = await Promise.allSettled(
        [...this.parts.values()].map(async (part) => {
          part.writer.destroy();
          await part.writer.settled;
          if (part.taken) return;
          await this.folder.unlink(part.writer.name).catch((err: unknown) => {
            if (errorCode(err) !== 'ENOENT') throw err;
          });
        }),
      );
      await this.folder.close();
      const failed = removed.find((r) => r.status === 'rejected');
      if (failed) throw failed.reason;
    })();
    return this.closing;
  }
}
