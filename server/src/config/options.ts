import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  bindAddress,
  bool,
  directory,
  duration,
  float,
  fraction,
  iceServers,
  int,
  mediaCodec,
  memberUsers,
  oneOf,
  portRange,
  profile,
  screen,
  stringList,
  text,
  urlPath,
  videoPipelines,
  InvalidValue,
  type Codec,
} from './codecs.js';

/** Raw defaults are written the way a user would write them in a YAML file. */
type RawDefault = string | number | boolean | readonly unknown[] | Record<string, unknown>;

export interface OptionDef<K extends string = string, T = unknown, Stored extends boolean = boolean> {
  /** Dotted YAML path; also the flag name and (upper-cased) the env var name. */
  readonly key: K;
  readonly codec: Codec<T>;
  readonly default: RawDefault;
  readonly description: string;
  /**
   * false for a key that only feeds a fallback of other keys and therefore has no place of
   * its own in Config (its path is a prefix of other keys).
   */
  readonly stored: Stored;
  /** Parsed so neko configurations load, but nothing reads it; its description says so. */
  readonly inert?: true;
}

function opt<K extends string, T>(
  key: K,
  codec: Codec<T>,
  dflt: RawDefault,
  description: string,
): OptionDef<K, T, true> {
  return { key, codec, default: dflt, description, stored: true };
}

/** A contract key this server accepts but does not act on; `why` ends up in `--help`. */
function inert<K extends string, T>(
  key: K,
  codec: Codec<T>,
  dflt: RawDefault,
  description: string,
  why: string,
): OptionDef<K, T, true> {
  return { key, codec, default: dflt, description: `${description}: accepted for compatibility; no effect (${why})`, stored: true, inert: true };
}

function fallbackOnly<K extends string, T>(
  key: K,
  codec: Codec<T>,
  dflt: RawDefault,
  description: string,
): OptionDef<K, T, false> {
  return { key, codec, default: dflt, description, stored: false };
}

function findProjectRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('config: cannot locate the project root (no package.json above this module)');
    dir = parent;
  }
  return dir;
}

/** The viewer ships with the server, so its default location follows the code, not the cwd. */
const DEFAULT_CLIENT_DIR = path.join(findProjectRoot(), 'client', 'dist');

/** `#rrggbb` as 0xRRGGBB, '' (none) as null. The `#` may be left out: YAML reads it as a comment unless quoted. */
const colour: Codec<number | null> = {
  hint: '<#rrggbb>',
  parse(raw, ctx) {
    const s = text.parse(raw, ctx).trim();
    if (s === '') return null;
    if (!/^#?[0-9a-fA-F]{6}$/.test(s)) throw new InvalidValue(`${JSON.stringify(raw)} is not a colour like #2e4057`);
    return Number.parseInt(s.replace('#', ''), 16);
  },
};

/**
 * Embedding origins for CSP frame-ancestors: `'self'`, `'none'` (quotes optional), `*`, or
 * origins like `https://app.example` or `https://*.example`; no paths, which CSP would ignore.
 */
const frameOrigins: Codec<string[]> = {
  hint: stringList.hint,
  parse(raw, ctx) {
    const list = stringList.parse(raw, ctx).map((s) => (/^'?(self|none)'?$/i.test(s) ? `'${s.replace(/'/g, '').toLowerCase()}'` : s));
    for (const s of list) {
      if (s === "'self'" || s === "'none'" || s === '*') continue;
      if (!/^https?:\/\/(\*\.)?[a-z0-9.-]+(:\d{1,5})?$/i.test(s) && !/^https?:\/\/\[[0-9a-f:.]+\](:\d{1,5})?$/i.test(s)) {
        throw new InvalidValue(`${JSON.stringify(s)} is not an origin like https://app.example, 'self', 'none' or *`);
      }
    }
    if (list.includes("'none'") && list.length > 1) throw new InvalidValue("'none' cannot be combined with other origins");
    return list.length === 0 ? ["'self'"] : list;
  },
};

const port = int(0, 65535);
const positive = int(1);
const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'panic', 'disabled'] as const;
const VIDEO_CODECS = ['vp8', 'vp9', 'av1', 'h264', 'h265'] as const;
const AUDIO_CODECS = ['opus', 'g722', 'pcmu', 'pcma'] as const;

/**
 * The single source of truth: help text, env names, flag names, parsing and the Config type
 * are all derived from this table. Order here is the order in `--help`.
 */
export const OPTIONS = [
  // 11.1 Root / server
  opt('config', text, '', 'configuration file, YAML or JSON (empty: neko.yaml|yml|json in /etc/neko/ or the working dir)'),
  opt('debug', bool, false, 'raise the log level to debug (trace stays trace)'),
  inert('legacy', bool, true, 'enable the neko v2 compatibility layer', 'the v2 protocol is out of scope'),
  opt('log.level', oneOf(LOG_LEVELS), 'info', 'minimum log level'),
  opt('log.time', oneOf(['unix', 'unixms', 'unixmicro']), 'unix', 'unit of the time field of JSON logs: seconds, milliseconds or microseconds since the epoch (terminal logs show local time)'),
  opt('log.json', bool, false, 'JSON lines on a terminal too (logs that go to a pipe or a file are always JSON lines; on a terminal they are human-readable)'),
  opt('log.nocolor', bool, false, 'no colours in terminal logs (a non-empty NO_COLOR variable does the same)'),
  opt('log.dir', text, '', 'write logs as JSON lines to neko-latest.log in this directory instead of stdout (the previous run\'s file is renamed neko.<time>.log)'),
  opt('server.bind', bindAddress, '127.0.0.1:8080', 'HTTP listen address'),
  opt('server.cert', text, '', 'TLS certificate file; TLS is on when cert and key are both set'),
  opt('server.key', text, '', 'TLS private key file'),
  opt('server.proxy', bool, false, 'trust X-Forwarded-For / X-Real-IP for the client address (extension: and X-Forwarded-Host / -Proto for the WebSocket origin check)'),
  opt('server.static', text, '', 'serve this directory at / instead of server.client_dir'),
  opt('server.path_prefix', urlPath, '/', 'URL path prefix all routes live under'),
  inert('server.pprof', bool, false, 'expose /debug/pprof/ diagnostics', 'Node has no pprof endpoints; use node --inspect'),
  opt('server.metrics', bool, true, 'expose Prometheus metrics at /metrics'),
  opt('server.cors', stringList, [], 'allowed CORS and WebSocket origins (* = all); empty disables CORS (extension: with session.cookie.enabled a WebSocket from neither our own nor a listed origin gets 403)'),
  opt('server.client_dir', directory, DEFAULT_CLIENT_DIR, 'built viewer served at / (server.static wins when set)'),
  opt('server.max_ws_payload', positive, 65536, 'largest accepted WebSocket message, in bytes'),
  opt('server.max_body', positive, 1048576, 'largest accepted REST JSON body, in bytes'),
  opt('server.ws_rate', positive, 200, 'hard limit of WebSocket events per second per socket'),
  opt('server.login_failures', positive, 10, 'failed logins allowed per client address within server.login_window; then 429'),
  opt('server.login_window', duration, '1m', 'window of the failed- and successful-login limits (stored in ms)'),
  opt('server.login_successes', positive, 30, 'extension: successful logins allowed per client address within server.login_window; then 429'),

  // 11.2 Session
  opt('session.file', text, '', 'persist sessions to this JSON file (empty: memory only)'),
  opt('session.private_mode', bool, false, 'initial room setting: private mode'),
  opt('session.locked_logins', bool, false, 'initial room setting: only admins may log in'),
  opt('session.locked_controls', bool, false, 'initial room setting: only admins may take control'),
  opt('session.control_protection', bool, false, 'initial room setting: lock controls while no admin is connected'),
  opt('session.implicit_hosting', bool, false, 'initial room setting: input from a non-host makes it host'),
  opt('session.inactive_cursors', bool, false, 'initial room setting: share cursors of non-hosts'),
  opt('session.merciful_reconnect', bool, true, 'a new WebSocket of a connected session replaces the old one'),
  opt('session.heartbeat_interval', positive, 10, 'client heartbeat interval advertised to clients, in seconds'),
  opt('session.api_token', text, '', 'static token for an admin API session (empty: disabled)'),
  opt('session.expire_disconnected', duration, '1h', 'extension: multiuser and noauth providers delete a session (session/deleted) once it has had no WebSocket and no REST request for this long (stored in ms; 0: never)'),
  opt('session.cookie.enabled', bool, false, 'carry the session token in a cookie'),
  opt('session.cookie.name', text, 'NEKO_SESSION', 'session cookie name'),
  opt('session.cookie.expiration', duration, '24h', 'session cookie lifetime (stored in ms)'),
  opt('session.cookie.secure', bool, true, 'mark the cookie Secure (and SameSite=None)'),
  opt('session.cookie.http_only', bool, true, 'mark the cookie HttpOnly'),
  opt('session.cookie.domain', text, '', 'cookie Domain attribute (empty: omitted)'),
  opt('session.cookie.path', text, '', 'cookie Path attribute (empty: omitted)'),
  opt('session.cookie.partitioned', bool, false, 'extension: mark the cookie Partitioned (CHIPS), which browsers blocking third-party cookies need to keep it inside a cross-site iframe; only with secure'),
  opt('share.key', text, '', 'extension: Ed25519 private key (PKCS#8 PEM text or file) that signs share links (empty: the one kept in share.dir)'),
  opt('share.dir', text, '', 'extension: state folder for share links: the generated signing key (share-key.pem, mode 0600) and the registry of links, uses left and revocations (shares.json); empty: memory only, links die with the process'),
  opt('embed.origins', frameOrigins, ["'self'"], "extension: origins allowed to embed the viewer in a frame (CSP frame-ancestors, X-Frame-Options) and to drive it with postMessage: 'self', 'none', * or origins like https://app.example"),

  // 11.3 Member
  opt('member.provider', oneOf(['multiuser', 'file', 'object', 'noauth']), 'multiuser', 'member provider'),
  opt('member.file.path', text, '', 'file provider: JSON members file'),
  opt('member.file.hash', bool, true, 'file provider: legacy (non-scrypt) passwords in the file are base64(SHA-256), else clear; new ones are always stored as scrypt'),
  opt('member.object.users', memberUsers, [], 'object provider: users as [{username,password,profile}]'),
  opt('member.multiuser.user_password', text, 'neko', 'multiuser provider: password for users'),
  opt('member.multiuser.admin_password', text, 'admin', 'multiuser provider: password for admins'),
  opt('member.multiuser.user_profile', profile, {}, 'multiuser provider: profile fields merged over the user defaults'),
  opt('member.multiuser.admin_profile', profile, {}, 'multiuser provider: profile fields merged over the admin defaults'),

  // 11.4 Desktop
  opt('desktop.display', text, '', 'X display to use (empty: $DISPLAY, else start our own X server)'),
  opt('desktop.screen', screen, '1280x720@30', 'initial screen size and refresh rate'),
  opt('desktop.input.enabled', bool, true, 'tell clients that touch events are accepted (touch_events); touches drive the pointer'),
  inert('desktop.input.socket', text, '/tmp/xf86-input-neko.sock', 'xf86-input-neko driver socket', 'touch is emulated on the pointer, no driver is used'),
  inert('desktop.unminimize', bool, true, 'restore minimized windows', 'not implemented'),
  opt('desktop.upload_drop', bool, true, 'allow dropping uploaded files onto the desktop'),
  opt('desktop.file_chooser_dialog', bool, false, 'answer file chooser dialogs with uploads (experimental)'),
  opt('desktop.upload_max_files', positive, 64, 'extension: most files in one upload drop or dialog request; more: 413'),
  opt('desktop.upload_max_file_size', positive, 512 << 20, 'extension: largest file of an upload drop or dialog request, in bytes; larger: 413, nothing kept'),
  opt('desktop.upload_max_total_size', positive, 1 << 30, 'extension: largest total of the files of one upload drop or dialog request, in bytes; larger: 413, nothing kept'),
  opt('desktop.server', oneOf(['auto', 'xorg', 'xvfb']), 'auto', 'X server to start when no display is given: xorg (Xorg + dummy driver, screen resizable at runtime, needs root), xvfb (fixed size), auto (xorg, or xvfb with a warning where Xorg cannot run)'),
  opt('desktop.window_manager', text, 'openbox', 'window manager to start with our X server (empty: none)'),
  opt('desktop.app', text, 'chromium', 'application to start on our X server: chromium (the built-in browser set-up: maximized, its profile in the desktop user\'s home, desktop.home_page first, downloads saved to filetransfer.dir without asking, no first-run prompts or background traffic), or any command line (e.g. xterm), or empty for none'),
  opt('desktop.home_page', text, '', 'extension: first page of the built-in chromium app (empty: a local welcome page about the room)'),
  opt('desktop.app_window_timeout', duration, '30s', 'extension: /health answers 503 until the app has mapped its window, after every start; past this long it reports the app as no_window (stored in ms)'),
  opt('desktop.background', colour, '#2e4057', 'extension: colour of our X server\'s desktop behind the windows (empty: black)'),
  opt('desktop.audio', bool, true, 'start PulseAudio when we manage the desktop'),
  opt('desktop.user', text, 'neko', 'extension: unprivileged user the window manager, app and open-in-app commands run as when the server runs as root (created when missing; never root); a server that is not root runs them as itself'),
  opt('desktop.first_display', int(0, 65535), 99, 'extension: lowest X display number our own X server may take'),

  // 11.5 Capture
  opt('capture.video.display', text, '', 'X display to capture (empty: the desktop\'s display)'),
  opt('capture.video.codec', mediaCodec(VIDEO_CODECS, 'vp8'), 'vp8', 'video codec (unknown names fall back to vp8)'),
  opt('capture.video.ids', stringList, [], 'video stream ids, highest quality first (empty: [main])'),
  opt('capture.video.pipelines', videoPipelines, {}, 'per stream id: width, height, fps, bitrate, gst_* settings, show_pointer; extension: a stream without fps follows the screen mode\'s rate (neko fixes the default stream at 25 fps)'),
  opt('capture.video.pipeline', text, '', 'single-stream GStreamer pipeline (ignored when pipelines are set)'),
  opt('capture.video.idle_after', duration, '100ms', 'extension: with ximagesrc, the screen capture shared by the built-in video streams pauses after this long without any change on the screen (X DAMAGE) and resumes at the next change or viewer, grabbing that change at once instead of at its next frame time; the damage-driven grabber needs no pause (stored in ms; 0: never pause, and grab every frame period with either grabber)'),
  opt('capture.video.grabber', oneOf(['auto', 'ximagesrc']), 'auto', 'extension: what grabs the screen for the shared capture: auto (the damage-driven source built from server/native, which grabs when the screen changes and a change after a key or button press at once; ximagesrc when it is not built) or ximagesrc (a grab every frame period)'),
  opt('capture.audio.device', text, 'audio_output.monitor', 'PulseAudio source to capture'),
  opt('capture.audio.codec', mediaCodec(AUDIO_CODECS, 'opus'), 'opus', 'audio codec (unknown names fall back to opus)'),
  opt('capture.audio.pipeline', text, '', 'custom GStreamer audio pipeline'),
  opt('capture.broadcast.audio_bitrate', int(), 128, 'broadcast audio bitrate, in kbit/s'),
  opt('capture.broadcast.video_bitrate', int(), 4096, 'broadcast video bitrate, in kbit/s'),
  opt('capture.broadcast.preset', text, 'veryfast', 'broadcast x264 preset'),
  opt('capture.broadcast.pipeline', text, '', 'custom broadcast pipeline ({url}, {device}, {display}, {hostname})'),
  opt('capture.broadcast.url', text, '', 'RTMP URL to broadcast to'),
  opt('capture.broadcast.autostart', bool, true, 'start broadcasting at startup when a URL is set'),
  opt('capture.screencast.enabled', bool, false, 'enable the JPEG screencast (cast.jpg)'),
  opt('capture.screencast.rate', fraction, '10/1', 'screencast frame rate as a fraction'),
  opt('capture.screencast.quality', int(0, 100), 60, 'screencast JPEG quality (0-100)'),
  opt('capture.screencast.pipeline', text, '', 'custom screencast pipeline: accepted for compatibility; ignored with a warning (frames are grabbed from X and encoded in-process)'),
  inert('capture.webcam.enabled', bool, false, 'accept a client webcam track', 'client video tracks are ignored'),
  inert('capture.webcam.device', text, '/dev/video0', 'loopback video device for the webcam', 'client video tracks are ignored'),
  inert('capture.webcam.width', positive, 1280, 'webcam width', 'client video tracks are ignored'),
  inert('capture.webcam.height', positive, 720, 'webcam height', 'client video tracks are ignored'),
  opt('capture.microphone.enabled', bool, true, 'accept a client microphone track'),
  opt('capture.microphone.device', text, 'audio_input', 'PulseAudio sink for the microphone'),

  // 11.6 WebRTC
  opt('webrtc.icelite', bool, false, 'run as an ICE-lite agent'),
  opt('webrtc.icetrickle', bool, true, 'trickle ICE candidates (false: send them in the offer)'),
  opt('webrtc.gather_timeout', duration, '5s', 'extension: with icetrickle false, the longest wait for ICE gathering; the offer then carries the candidates found so far (stored in ms)'),
  fallbackOnly('webrtc.iceservers', iceServers, [], 'deprecated: ICE servers for frontend and backend when both are empty'),
  opt('webrtc.iceservers.frontend', iceServers, [], 'ICE servers sent to clients: [{urls,username?,credential?}]'),
  opt('webrtc.iceservers.backend', iceServers, [], 'ICE servers used by the server agent'),
  opt('webrtc.epr', portRange, '', 'UDP port range min-max (empty: 59000-59100 unless a mux port is set)'),
  opt('webrtc.tcpmux', port, 0, 'single TCP port for ICE (0: off)'),
  opt('webrtc.udpmux', port, 0, 'single UDP port for ICE (0: off; wins over epr)'),
  opt('webrtc.nat1to1', stringList, [], 'public IPs that replace host candidate addresses'),
  opt('webrtc.ip_retrieval_url', text, 'https://checkip.amazonaws.com', 'URL asked once at startup for the public IP when nat1to1 is empty and server.bind is not loopback-only (empty: never)'),
  opt('webrtc.estimator.enabled', bool, false, 'switch streams from bandwidth estimation'),
  opt('webrtc.estimator.passive', bool, false, 'estimate but never switch'),
  opt('webrtc.estimator.debug', bool, false, 'log estimator decisions'),
  opt('webrtc.estimator.initial_bitrate', int(), 1000000, 'initial bandwidth estimate, in bit/s'),
  opt('webrtc.estimator.read_interval', duration, '2s', 'estimate sampling interval (stored in ms)'),
  opt('webrtc.estimator.stable_duration', duration, '12s', 'stable time before upgrading (stored in ms)'),
  opt('webrtc.estimator.unstable_duration', duration, '6s', 'unstable time before downgrading (stored in ms)'),
  opt('webrtc.estimator.stalled_duration', duration, '24s', 'stall time before downgrading (stored in ms)'),
  opt('webrtc.estimator.downgrade_backoff', duration, '10s', 'wait after a downgrade (stored in ms)'),
  opt('webrtc.estimator.upgrade_backoff', duration, '5s', 'wait after an upgrade (stored in ms)'),
  opt('webrtc.estimator.diff_threshold', float(0, 1), 0.15, 'relative bitrate difference that counts as a change'),

  // 11.7 Plugins
  inert('plugins.enabled', bool, false, 'load external plugins', 'neko\'s Go plugins cannot be loaded'),
  inert('plugins.dir', text, './bin/plugins', 'external plugin directory', 'neko\'s Go plugins cannot be loaded'),
  inert('plugins.required', bool, false, 'fail startup when a plugin cannot be loaded', 'neko\'s Go plugins cannot be loaded'),
  opt('chat.enabled', bool, true, 'enable the chat plugin'),
  opt('filetransfer.enabled', bool, false, 'enable the file transfer plugin'),
  opt('filetransfer.dir', text, '/home/neko/Downloads', 'file transfer root directory'),
  opt('filetransfer.refresh_interval', duration, '30s', 'file list rescan interval (stored in ms)'),
  opt('filetransfer.user_download', bool, false, 'non-admins may download'),
  opt('filetransfer.user_upload', bool, false, 'non-admins may upload'),
  opt('filetransfer.user_delete', bool, false, 'non-admins may delete'),
  opt('filetransfer.upload_max_files', positive, 64, 'extension: most files in one file transfer upload; more: 413'),
  opt('filetransfer.upload_max_file_size', positive, 1 << 30, 'extension: largest file of a file transfer upload, in bytes; larger: 413, nothing kept'),
  opt('filetransfer.upload_max_total_size', positive, 1 << 30, 'extension: largest total of the files of one file transfer upload, in bytes; larger: 413, nothing kept'),
  opt('openinapp.enabled', bool, false, 'enable the open-in-app plugin'),
  opt('openinapp.open_command', text, 'xdg-open', 'command that opens a link on the desktop'),
];

export type AnyOption = (typeof OPTIONS)[number];

/** Contract §11: `NEKO_` + key upper-cased with dots replaced by underscores. */
export function envName(key: string): string {
  return `NEKO_${key.toUpperCase().replaceAll('.', '_')}`;
}

type Head<K extends string> = K extends `${infer H}.${string}` ? H : K;
type Shift<O, H extends string> =
  O extends OptionDef<infer K, infer T, true> ? (K extends `${H}.${infer R}` ? OptionDef<R, T, true> : never) : never;
type ValueOf<O> = O extends OptionDef<string, infer T, true> ? T : never;
// `& {}` makes editors and compiler errors show the expanded fields instead of `Tree<...>`.
type Tree<O extends OptionDef<string, unknown, true>> = {
  [H in Head<O['key']>]: [Extract<O, { key: H }>] extends [never]
    ? Tree<Shift<O, H>>
    : ValueOf<Extract<O, { key: H }>>;
} & {};

export type ConfigTree = Tree<Extract<AnyOption, { stored: true }>>;
