// The slice of the wire contract (docs: protocol.md §2, §5) this viewer reads or writes.

/** Flat `"<plugin>.<setting>"` keys (contract §2.1); may be null when never set. */
export type PluginSettings = Record<string, unknown> | null;

export interface MemberProfile {
  name: string;
  is_admin: boolean;
  can_host: boolean;
  can_watch: boolean;
  plugins?: PluginSettings;
}

export interface SessionState {
  is_connected: boolean;
  is_watching: boolean;
}

export interface SessionData {
  id: string;
  profile: MemberProfile;
  state: SessionState;
}

export interface ScreenSize {
  width: number;
  height: number;
  rate: number;
}

export interface ControlHost {
  id?: string;
  has_host: boolean;
  host_id?: string;
}

/** The room settings exactly as the server defines them (one source for the wire shape). */
import type { Settings } from '../../server/src/sessions/types.js';
export type { Settings };

/** The room flags an admin can switch from the viewer. */
export type SettingsFlag = 'private_mode' | 'locked_controls' | 'implicit_hosting';

/** Contract §10.1 `chat/message` as the server delivers it. */
export interface ChatMessage {
  id: string;
  created: string;
  content: { text: string };
}

export interface IceServer {
  urls: string[];
  username?: string;
  credential?: string;
}

export interface IceCandidate {
  candidate: string;
  sdpMid?: string | null;
  sdpMLineIndex?: number | null;
  usernameFragment?: string | null;
}

export interface ServerEvents {
  'system/init': {
    session_id: string;
    control_host: ControlHost;
    screen_size: ScreenSize;
    sessions: Record<string, SessionData>;
    settings: Settings;
    webrtc: { videos: string[] };
  };
  'system/settings': { id?: string } & Partial<Settings>;
  'system/disconnect': { message: string };
  'session/created': SessionData;
  'session/deleted': { id: string };
  'session/profile': { id: string } & MemberProfile;
  'session/state': { id: string } & SessionState;
  'control/host': ControlHost;
  'control/request': { id: string };
  'screen/updated': { id?: string } & ScreenSize;
  'signal/provide': { sdp: string; iceservers?: IceServer[] | null };
  'signal/offer': { sdp: string };
  'signal/restart': { sdp: string };
  'signal/candidate': IceCandidate;
  'signal/close': null;
  'chat/init': { enabled: boolean };
  'chat/message': ChatMessage;
}

export interface ClientEvents {
  'client/heartbeat': undefined;
  'signal/request': { video: Record<string, never>; audio: Record<string, never> };
  'signal/answer': { sdp: string };
  'signal/candidate': IceCandidate;
  'control/request': undefined;
  'control/release': undefined;
  'control/move': { x: number; y: number };
  'control/scroll': { delta_x: number; delta_y: number; control_key: boolean };
  'control/buttondown': { code: number };
  'control/buttonup': { code: number };
  'control/keydown': { keysym: number };
  'control/keyup': { keysym: number };
  'chat/message': { text: string };
}

export type ServerEvent = keyof ServerEvents;
export type ClientEvent = keyof ClientEvents;

/** Error body of every failed REST call. */
export interface ApiError {
  code: number;
  message: string;
}
