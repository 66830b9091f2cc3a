import { open, rename, rm } from 'node:fs/promises';
import path from 'node:path';

interface PendingWrite {
  render: () => string;
  promise: Promise<void>;
}

/**
 * A file replaced atomically: content goes to one fixed sibling temp file, is fsynced, then
 * renamed over the target, so a reader — or a restart after the process is killed at any
 * instant — sees either the previous or the new complete content, and at most one stale
 * temp file can ever be left behind.
 *
 * Writes run one at a time. A write requested while another is queued joins the queued one,
 * whose content is rendered only when it starts, so bursts collapse into one write of the
 * latest state. Used for the member file and the session file.
 */
export class AtomicFile {
  readonly tempPath: string;
  private running: Promise<void> = Promise.resolve();
  private pending: PendingWrite | null = null;

  constructor(
    readonly path: string,
    private readonly mode = 0o600,
  ) {
    this.tempPath = `${path}.tmp`;
  }

  /** Resolves once a write that started after this call, with content from `render`, is on disk. */
  write(render: () => string): Promise<void> {
    if (this.pending) {
      this.pending.render = render;
      return this.pending.promise;
    }
    const pending: PendingWrite = { render, promise: Promise.resolve() };
    pending.promise = this.running
      .catch(() => {})
      .then(() => {
        this.pending = null;
        return this.replace(pending.render());
      });
    this.pending = pending;
    this.running = pending.promise;
    return pending.promise;
  }

  /** Waits for every requested write to finish (failures were reported to their callers). */
  async flush(): Promise<void> {
    await this.running.catch(() => {});
  }

  /** Removes a temp file a killed process may have left. */
  async removeStaleTemp(): Promise<void> {
    await rm(this.tempPath, { force: true });
  }

  private async replace(content: string): Promise<void> {
    const handle = await open(this.tempPath, 'w', this.mode);
    try {
      await handle.writeFile(content);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(this.tempPath, this.path);
    await syncDirectory(path.dirname(this.path));
  }
}

/** Makes the rename itself durable. */
async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r').catch(() => null);
  if (!handle) return;
  try {
    await handle.sync();
  } catch {
    // Some filesystems refuse to fsync a directory; the rename has happened all the same.
  } finally {
    await handle.close();
  }
}
