import type { MemberProfile } from '../members/types.js';

/** Contract §2.2. */
export interface SessionState {
  is_connected: boolean;
  connected_since?: string;
  not_connected_since?: string;
  is_watching: boolean;
  watching_since?: string;
  not_watching_since?: string;
}

/** Contract §2.3 Settings: the runtime room flags. */
export interface Settings {
  private_mode: boolean;
  locked_logins: boolean;
  locked_controls: boolean;
  control_protection: boolean;
  implicit_hosting: boolean;
  inactive_cursors: boolean;
  merciful_reconnect: boolean;
  heartbeat_interval: number;
  plugins: Record<string, unknown> | null;
}

export interface SessionData {
  id: string;
  profile: MemberProfile;
  state: SessionState;
}

/** What the session layer needs from a WebSocket connection. */
export interface SessionSocket {
  send(event: string, payload?: unknown): void;
  /** Sends `system/disconnect {message}` and closes the socket. */
  disconnect(message: string): void;
}

/** What the session layer needs from a WebRTC peer. */
export interface SessionPeer {
  /** Sends a binary data-channel message (dropped while the channel is not open). */
  send(bytes: Uint8Array): void;
  /** Stops or resumes media forwarding without closing the connection (private mode). */
  setPaused(paused: boolean): void;
  /** May finish asynchronously; SessionManager.close() waits for it. */
  close(): void | Promise<void>;
}

export interface ControlStatus {
  has_host: boolean;
  host_id?: string;
}

/** Contract §2.3 Stats; a `*_left_at` is set when its count drops to 0, cleared when one connects. */
export interface Stats extends ControlStatus {
  server_started_at: string;
  total_users: number;
  last_user_left_at?: string;
  total_admins: number;
  last_admin_left_at?: string;
}
