import { readFile } from 'node:fs/promises';
import type { Logger } from '../log.js';
import { AtomicFile } from '../members/atomic-file.js';
import { mergeProfile, type MemberProfile } from '../members/types.js';
import type { SessionManager } from './manager.js';

export interface SessionPersistenceOptions {
  /** `session.file`. */
  path: string;
  sessions: SessionManager;
  logger: Logger;
}

/** Contract §1.5: one entry of the session file, with these exact key names. */
interface SavedSession {
  Id: string;
  Token: string;
  Profile: MemberProfile;
}

/** Permissions missing from a saved profile are not granted. */
const NOTHING_GRANTED: MemberProfile = {
  name: '',
  is_admin: false,
  can_login: false,
  can_connect: false,
  can_watch: false,
  can_host: false,
  can_share_media: false,
  can_access_clipboard: false,
  sends_inactive_cursor: false,
  can_see_inactive_cursors: false,
  plugins: null,
};

const MAX_TOKEN_LENGTH = 256;

function parseEntry(entry: unknown): SavedSession | null {
  if (typeof entry !== 'object' || entry === null) return null;
  const { Id, Token, Profile } = entry as Record<string, unknown>;
  if (typeof Id !== 'string' || Id === '' || typeof Token !== 'string' || Token === '' || Token.length > MAX_TOKEN_LENGTH) return null;
  if (typeof Profile !== 'object' || Profile === null || Array.isArray(Profile)) return null;
  return { Id, Token, Profile: mergeProfile(NOTHING_GRANTED, Profile) };
}

/**
 * Keeps sessions (id, token, profile) in `session.file` so tokens survive a restart
 * (contract §1.5): loaded once at startup, rewritten atomically after every create, profile
 * update and delete. Connection state is not kept: after a restart nobody is connected.
 */
export class SessionPersistence {
  private closed = false;
  private readonly save = () => this.write();

  private constructor(
    private readonly file: AtomicFile,
    private readonly opts: SessionPersistenceOptions,
  ) {
    opts.sessions.on('created', this.save);
    opts.sessions.on('deleted', this.save);
    opts.sessions.on('profile', this.save);
  }

  /** Restores the saved sessions into the manager, then follows its changes. */
  static async open(opts: SessionPersistenceOptions): Promise<SessionPersistence> {
    const file = new AtomicFile(opts.path);
    await file.removeStaleTemp();
    let restored = 0;
    let skipped = 0;
    for (const entry of await SessionPersistence.load(opts)) {
      const saved = parseEntry(entry);
      if (saved && opts.sessions.restore(saved.Id, saved.Token, saved.Profile)) restored++;
      else skipped++;
    }
    opts.logger.info({ path: opts.path, restored, skipped }, 'sessions restored');
    return new SessionPersistence(file, opts);
  }

  /** A missing or unreadable file means no sessions: losing them only costs a new login. */
  private static async load(opts: SessionPersistenceOptions): Promise<unknown[]> {
    let text: string;
    try {
      text = await readFile(opts.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') opts.logger.error({ err, path: opts.path }, 'session file unreadable');
      return [];
    }
    try {
      const data: unknown = JSON.parse(text);
      if (Array.isArray(data)) return data;
      opts.logger.error({ path: opts.path }, 'session file is not a JSON array; starting without sessions');
    } catch (err) {
      opts.logger.error({ err, path: opts.path }, 'session file is not valid JSON; starting without sessions');
    }
    return [];
  }

  private render(): string {
    const entries: SavedSession[] = this.opts.sessions
      .list()
      .map((s) => ({ Id: s.id, Token: s.token, Profile: s.profile }));
    return `${JSON.stringify(entries)}\n`;
  }

  private write(): void {
    this.file.write(() => this.render()).catch((err: unknown) => {
      this.opts.logger.error({ err, path: this.opts.path }, 'could not save sessions');
    });
  }

  /** Stops following changes and waits for the last write; idempotent. */
  async close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      this.opts.sessions.off('created', this.save);
      this.opts.sessions.off('deleted', this.save);
      this.opts.sessions.off('profile', this.save);
    }
    await this.file.flush();
  }
}
