// The slice of the wire contract (docs: protocol.md §2, §5, §10) this viewer reads or writes.

/** Flat `"<plugin>.<setting>"` keys (contract §2.1); may be null when never set. */
export type PluginSettings = Record<string, unknown> | null;

export interface MemberProfile {
  name: string;
  is_admin: boolean;
  can_host: boolean;
  can_watch: boolean;
  can_login?: boolean;
  can_connect?: boolean;
  can_share_media?: boolean;
  can_access_clipboard?: boolean;
  sends_inactive_cursor?: boolean;
  can_see_inactive_cursors?: boolean;
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

/** Contract §2.3 KeyboardMap. */
export interface KeyboardMap {
  layout: string;
  variant: string;
}

/** Contract §10.1 `chat/message` as the server delivers it. */
export interface ChatMessage {
  id: string;
  created: string;
  content: { text: string };
}

/** Contract §10.2 `filetransfer/update`. */
export interface FileTransferUpdate {
  enabled: boolean;
  root_dir?: string;
  user_download: boolean;
  user_upload: boolean;
  user_delete: boolean;
  files: Array<{ name: string; type: 'file' | 'dir'; size?: number }> | null;
}

/** Contract §9.2 PeerVideo: the stream this peer receives. */
export interface PeerVideo {
  disabled: boolean;
  id: string;
  video?: string;
  auto: boolean;
}

/** Contract §2.3 BroadcastStatus. */
export interface BroadcastStatus {
  is_active: boolean;
  url?: string;
}

/** Contract §2.3 MemberData. */
export interface MemberData {
  id: string;
  profile: MemberProfile;
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

/** Contract §5.3 `send/unicast` as delivered; subjects of our own are listed in room.ts. */
export interface Unicast {
  sender: string;
  receiver: string;
  subject: string;
  body: unknown;
}

export interface ServerEvents {
  'system/init': {
    session_id: string;
    control_host: ControlHost;
    screen_size: ScreenSize;
    sessions: Record<string, SessionData>;
    settings: Settings;
    touch_events?: boolean;
    webrtc: { videos: string[] };
  };
  'system/admin': { screen_sizes_list: ScreenSize[] | null; broadcast_status?: BroadcastStatus };
  'system/settings': { id?: string } & Partial<Settings>;
  'system/disconnect': { message: string };
  'session/created': SessionData;
  'session/deleted': { id: string };
  'session/profile': { id: string } & MemberProfile;
  'session/state': { id: string } & SessionState;
  'control/host': ControlHost;
  'control/request': { id: string };
  'screen/updated': { id?: string } & ScreenSize;
  'clipboard/updated': { text: string };
  'signal/provide': { sdp: string; iceservers?: IceServer[] | null; video?: PeerVideo };
  'signal/video': PeerVideo;
  'signal/offer': { sdp: string };
  'signal/answer': { sdp: string };
  'signal/restart': { sdp: string };
  'signal/candidate': IceCandidate;
  'signal/close': null;
  'send/unicast': Unicast;
  'file_chooser_dialog/opened': { id: string };
  'file_chooser_dialog/closed': { id: string };
  'filetransfer/update': FileTransferUpdate;
  'chat/init': { enabled: boolean };
  'chat/message': ChatMessage;
  'broadcast/status': BroadcastStatus;
}

export interface ClientEvents {
  'client/heartbeat': undefined;
  'signal/request': { video: Record<string, never>; audio: Record<string, never> };
  'signal/answer': { sdp: string };
  'signal/offer': { sdp: string };
  'signal/candidate': IceCandidate;
  'control/request': undefined;
  'control/release': undefined;
  'control/move': { x: number; y: number };
  'control/scroll': { delta_x: number; delta_y: number; control_key: boolean };
  'control/buttondown': { code: number };
  'control/buttonup': { code: number };
  'control/keydown': { keysym: number };
  'control/keyup': { keysym: number };
  'control/paste': { text?: string };
  'screen/set': ScreenSize;
  'clipboard/set': { text: string };
  'keyboard/map': KeyboardMap;
  'send/unicast': { receiver: string; subject: string; body: unknown };
  'filetransfer/update': undefined;
  'chat/message': { text: string };
  'signal/video': { selector?: { type: 'exact' | 'nearest'; id: string }; auto?: boolean };
}

export type ServerEvent = keyof ServerEvents;
export type ClientEvent = keyof ClientEvents;

/** Error body of every failed REST call. */
export interface ApiError {
  code: number;
  message: string;
}
