import type { MemberProfile } from '../members/types.js';
import type { SessionData, SessionPeer, SessionSocket, SessionState } from './types.js';

/** One logged-in member: its token, profile, connection state and attached transports. */
export class Session {
  socket: SessionSocket | null = null;
  peer: SessionPeer | null = null;
  readonly state: SessionState = { is_connected: false, is_watching: false };
  /** Epoch ms of the last authenticated REST request (or creation): REST use keeps a session alive. */
  lastUsedAt = Date.now();

  constructor(
    readonly id: string,
    readonly token: string,
    public profile: MemberProfile,
  ) {}

  touch(): void {
    this.lastUsedAt = Date.now();
  }

  get isAdmin(): boolean {
    return this.profile.is_admin;
  }

  send(event: string, payload?: unknown): void {
    this.socket?.send(event, payload);
  }

  data(): SessionData {
    return { id: this.id, profile: this.profile, state: { ...this.state } };
  }
}
