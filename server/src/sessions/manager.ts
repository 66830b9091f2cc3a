import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Logger } from '../log.js';
import { unprocessable } from '../errors.js';
import { fullProfile, type MemberProfile } from '../members/types.js';
import { timestamp } from '../time.js';
import { Session } from './session.js';
import type { ControlStatus, SessionPeer, SessionSocket, Settings, Stats } from './types.js';

export const API_SESSION_ID = 'API';

interface ManagerEvents {
  created: [Session];
  deleted: [Session];
  profile: [Session, MemberProfile];
  connected: [Session];
  disconnected: [Session];
  /** Host changed; `previous` is the host before the change. */
  host: [next: Session | null, previous: Session | null];
  settings: [next: Settings, previous: Settings, changedBy: Session | null];
}

export interface SessionManagerOptions {
  settings: Settings;
  apiToken: string;
  logger: Logger;
}

/** 64 characters from `[_-0-9a-zA-Z]`: base64url of 48 random bytes is exactly that. */
function newToken(): string {
  return randomBytes(48).toString('base64url');
}

/**
 * Owns every session, the token index, the host and the room settings, and emits the
 * contract's session/control/settings events to connected sockets, so REST and WebSocket
 * paths produce the same broadcasts.
 */
export class SessionManager extends EventEmitter<ManagerEvents> {
  private readonly byId = new Map<string, Session>();
  private readonly byToken = new Map<string, Session>();
  private hostSession: Session | null = null;
  private current: Settings;
  private readonly apiSession: Session | null;
  readonly startedAt = timestamp();
  private lastUserLeftAt: string | undefined;
  private lastAdminLeftAt: string | undefined;
  /** Peer closes still running; shutdown waits for them so sockets and encoders are released. */
  private readonly closingPeers = new Set<Promise<void>>();

  constructor(private readonly opts: SessionManagerOptions) {
    super();
    this.current = { ...opts.settings };
    // Control protection starts the room locked until an admin arrives (contract §6).
    if (this.current.control_protection) this.current.locked_controls = true;
    this.apiSession = opts.apiToken
      ? new Session(API_SESSION_ID, opts.apiToken, {
          ...fullProfile('API Session'),
          can_connect: false,
          sends_inactive_cursor: false,
          can_see_inactive_cursors: false,
          can_share_media: false,
        })
      : null;
  }

  /** Creates a session for a member that just logged in (contract §1.3 rules). */
  create(id: string, profile: MemberProfile): Session {
    const existing = this.byId.get(id);
    if (existing) {
      if (existing.state.is_connected) throw unprocessable('session already connected');
      this.delete(existing);
    }
    const session = new Session(id, newToken(), profile);
    this.byId.set(id, session);
    this.byToken.set(session.token, session);
    this.opts.logger.info({ session_id: id }, 'session created');
    this.broadcast('session/created', session.data());
    this.emit('created', session);
    return session;
  }

  /**
   * Re-registers a session saved before a restart, keeping its token. Nobody is connected
   * yet, so nothing is broadcast; returns null when the id or token is already taken.
   */
  restore(id: string, token: string, profile: MemberProfile): Session | null {
    if (this.byId.has(id) || this.byToken.has(token) || token === this.apiSession?.token) return null;
    const session = new Session(id, token, profile);
    this.byId.set(id, session);
    this.byToken.set(token, session);
    return session;
  }

  get(id: string): Session | undefined {
    return this.byId.get(id);
  }

  /** Resolves a token, including the configured API token's virtual session. */
  byTokenValue(token: string): Session | undefined {
    if (this.apiSession && token === this.apiSession.token) return this.apiSession;
    return this.byToken.get(token);
  }

  list(): Session[] {
    return [...this.byId.values()];
  }

  connectedSessions(): Session[] {
    return this.list().filter((s) => s.state.is_connected && s.socket);
  }

  /** Removes a session: its socket is told why and closed, its peer closed, its token dies. */
  delete(session: Session): boolean {
    if (this.byId.get(session.id) !== session) return false;
    this.byId.delete(session.id);
    this.byToken.delete(session.token);
    const socket = session.socket;
    if (socket) {
      this.detachSocket(session, socket);
      socket.disconnect('session deleted');
    }
    // A host that took control over REST has no socket to detach, yet must not outlive its session.
    if (this.hostSession === session) this.setHost(null, session);
    this.closePeer(session.peer);
    session.peer = null;
    this.opts.logger.info({ session_id: session.id }, 'session deleted');
    this.broadcast('session/deleted', { id: session.id });
    this.emit('deleted', session);
    return true;
  }

  /** Closes the session's WebSocket (telling it why) and its WebRTC peer; session and token stay. */
  disconnect(session: Session, message: string): void {
    const socket = session.socket;
    if (socket) {
      this.detachSocket(session, socket);
      socket.disconnect(message);
    }
    this.closePeer(session.peer);
  }

  updateProfile(session: Session, profile: MemberProfile): void {
    const previous = session.profile;
    session.profile = profile;
    this.broadcast('session/profile', { id: session.id, ...profile });
    this.emit('profile', session, previous);
  }

  /** Attaches a WebSocket; an already attached one is replaced (merciful reconnect). */
  attachSocket(session: Session, socket: SessionSocket): void {
    const old = session.socket;
    session.socket = socket;
    if (old && old !== socket) old.disconnect('connection replaced');
    if (!session.state.is_connected) {
      session.state.is_connected = true;
      session.state.connected_since = timestamp();
      delete session.state.not_connected_since;
      if (session.isAdmin) this.lastAdminLeftAt = undefined;
      else this.lastUserLeftAt = undefined;
      this.emit('connected', session);
    }
  }

  /** Detaches `socket` if it is still the session's one; a replaced socket is ignored. */
  detachSocket(session: Session, socket: SessionSocket): void {
    if (session.socket !== socket) return;
    session.socket = null;
    session.state.is_connected = false;
    session.state.not_connected_since = timestamp();
    delete session.state.connected_since;
    if (this.hostSession === session) this.setHost(null, session);
    const left = this.connectedSessions().filter((s) => s.isAdmin === session.isAdmin);
    if (left.length === 0) {
      if (session.isAdmin) this.lastAdminLeftAt = timestamp();
      else this.lastUserLeftAt = timestamp();
    }
    this.broadcastState(session);
    this.emit('disconnected', session);
  }

  setWatching(session: Session, watching: boolean): void {
    if (session.state.is_watching === watching) return;
    session.state.is_watching = watching;
    if (watching) {
      session.state.watching_since = timestamp();
      delete session.state.not_watching_since;
    } else {
      session.state.not_watching_since = timestamp();
      delete session.state.watching_since;
    }
    this.broadcastState(session);
  }

  broadcastState(session: Session): void {
    this.broadcast('session/state', { id: session.id, ...session.state });
  }

  get host(): Session | null {
    return this.hostSession;
  }

  controlStatus(): ControlStatus {
    return this.hostSession ? { has_host: true, host_id: this.hostSession.id } : { has_host: false };
  }

  /** Changes the host and broadcasts `control/host` with `id` = the session that caused it. */
  setHost(next: Session | null, causedBy: Session | null): void {
    const previous = this.hostSession;
    if (previous === next) return;
    this.hostSession = next;
    this.broadcast('control/host', { id: causedBy?.id ?? '', ...this.controlStatus() });
    this.emit('host', next, previous);
  }

  get settings(): Settings {
    return this.current;
  }

  /** Applies new settings and broadcasts `system/settings` with the id of who changed them. */
  updateSettings(next: Settings, changedBy: Session | null): void {
    const previous = this.current;
    this.current = { ...next };
    this.broadcast('system/settings', { id: changedBy?.id ?? '', ...this.current });
    this.emit('settings', this.current, previous, changedBy);
  }

  stats(): Stats {
    const connected = this.connectedSessions();
    const admins = connected.filter((s) => s.isAdmin).length;
    return {
      ...this.controlStatus(),
      server_started_at: this.startedAt,
      total_users: connected.length - admins,
      ...(this.lastUserLeftAt ? { last_user_left_at: this.lastUserLeftAt } : {}),
      total_admins: admins,
      ...(this.lastAdminLeftAt ? { last_admin_left_at: this.lastAdminLeftAt } : {}),
    };
  }

  /** Sends an event to every connected session, optionally filtered. */
  broadcast(event: string, payload?: unknown, filter?: (s: Session) => boolean): void {
    for (const session of this.byId.values()) {
      if (!session.socket) continue;
      if (filter && !filter(session)) continue;
      session.send(event, payload);
    }
  }

  /**
   * Disconnects every socket and closes every peer, resolving once every peer close (also
   * those started earlier by delete or disconnect) has finished; sessions themselves stay
   * (persistence). Idempotent.
   */
  async close(): Promise<void> {
    for (const session of this.byId.values()) {
      this.closePeer(session.peer);
      session.peer = null;
      session.socket?.disconnect('server shutdown');
      session.socket = null;
    }
    await Promise.all([...this.closingPeers]);
  }

  private closePeer(peer: SessionPeer | null): void {
    if (!peer) return;
    // peer.close() starts right away; a failure is logged, never thrown at the caller.
    const tracked = (async () => {
      try {
        await peer.close();
      } catch (err) {
        this.opts.logger.warn({ err }, 'peer close failed');
      }
    })();
    this.closingPeers.add(tracked);
    void tracked.then(() => this.closingPeers.delete(tracked));
  }
}
