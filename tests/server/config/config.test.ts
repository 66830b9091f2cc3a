import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { parseDuration } from '../../../server/src/config/codecs.js';
import {
  ConfigError,
  OPTIONS,
  envName,
  helpText,
  loadConfig,
  wantsHelp,
  type Config,
} from '../../../server/src/config/index.js';

const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

// A config in /etc/neko would be picked up by discovery and change the "no file" results.
const ETC_CONFIG = ['neko.yaml', 'neko.yml', 'neko.json', 'neko.toml'].some((f) => existsSync(`/etc/neko/${f}`));
const skipIfEtc = ETC_CONFIG ? 'a config file exists in /etc/neko' : false;

const tempDirs: string[] = [];
after(() => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

function tempDir(files: Record<string, string> = {}): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'neko-config-'));
  tempDirs.push(dir);
  for (const [name, content] of Object.entries(files)) writeFileSync(path.join(dir, name), content);
  return dir;
}

function load(argv: string[] = [], env: NodeJS.ProcessEnv = {}, cwd = tempDir()): Config {
  return loadConfig(argv, env, cwd);
}

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected a ConfigError');
}

describe('defaults (contract §11)', { skip: skipIfEtc }, () => {
  const c = load();

  it('root and server', () => {
    assert.equal(c.config, '');
    assert.equal(c.debug, false);
    assert.equal(c.legacy, true);
    assert.deepEqual(c.log, { level: 'info', time: 'unix', json: false, nocolor: false, dir: '' });
    assert.equal(c.server.bind, '127.0.0.1:8080');
    assert.equal(c.server.cert, '');
    assert.equal(c.server.key, '');
    assert.equal(c.server.proxy, false);
    assert.equal(c.server.static, '');
    assert.equal(c.server.path_prefix, '/');
    assert.equal(c.server.pprof, false);
    assert.equal(c.server.metrics, true);
    assert.deepEqual(c.server.cors, []);
    assert.equal(c.server.client_dir, path.join(PROJECT_ROOT, 'client', 'dist'));
    assert.equal(c.server.max_ws_payload, 64 * 1024);
    assert.equal(c.server.max_body, 1024 * 1024);
    assert.equal(c.server.ws_rate, 200);
  });

  it('session', () => {
    assert.deepEqual(c.session, {
      file: '',
      private_mode: false,
      locked_logins: false,
      locked_controls: false,
      control_protection: false,
      implicit_hosting: false,
      inactive_cursors: false,
      merciful_reconnect: true,
      heartbeat_interval: 10,
      api_token: '',
      expire_disconnected: 3600000,
      cookie: {
        enabled: false,
        name: 'NEKO_SESSION',
        expiration: 24 * 3600 * 1000,
        secure: true,
        http_only: true,
        domain: '',
        path: '',
        partitioned: false,
      },
    });
  });

  it('member', () => {
    assert.equal(c.member.provider, 'multiuser');
    assert.deepEqual(c.member.file, { path: '', hash: true });
    assert.deepEqual(c.member.object.users, []);
    assert.equal(c.member.multiuser.user_password, 'neko');
    assert.equal(c.member.multiuser.admin_password, 'admin');
    assert.deepEqual(c.member.multiuser.user_profile, {});
    assert.deepEqual(c.member.multiuser.admin_profile, {});
  });

  it('desktop', () => {
    assert.equal(c.desktop.display, '');
    assert.deepEqual(c.desktop.screen, { width: 1280, height: 720, rate: 30 });
    assert.deepEqual(c.desktop.input, { enabled: true, socket: '/tmp/xf86-input-neko.sock' });
    assert.equal(c.desktop.unminimize, true);
    assert.equal(c.desktop.upload_drop, true);
    assert.equal(c.desktop.file_chooser_dialog, false);
    assert.equal(c.desktop.upload_max_files, 64);
    assert.equal(c.desktop.upload_max_file_size, 512 << 20);
    assert.equal(c.desktop.upload_max_total_size, 1 << 30);
    assert.equal(c.desktop.server, 'auto');
    assert.equal(c.desktop.window_manager, 'openbox');
    assert.equal(c.desktop.app, 'chromium');
    assert.equal(c.desktop.home_page, '');
    assert.equal(c.desktop.app_window_timeout, 30_000);
    assert.equal(c.desktop.background, 0x2e4057);
    assert.equal(c.desktop.audio, true);
  });

  it('capture', () => {
    // idle_after is an extension (ms).
    assert.deepEqual(c.capture.video, { display: '', codec: 'vp8', ids: [], pipelines: {}, pipeline: '', idle_after: 100, grabber: 'auto' });
    assert.deepEqual(c.capture.audio, { device: 'audio_output.monitor', codec: 'opus', pipeline: '' });
    assert.deepEqual(c.capture.broadcast, {
      audio_bitrate: 128,
      video_bitrate: 4096,
      preset: 'veryfast',
      pipeline: '',
      url: '',
      autostart: true,
    });
    assert.deepEqual(c.capture.screencast, { enabled: false, rate: '10/1', quality: 60, pipeline: '' });
    assert.deepEqual(c.capture.webcam, { enabled: false, device: '/dev/video0', width: 1280, height: 720 });
    assert.deepEqual(c.capture.microphone, { enabled: true, device: 'audio_input' });
  });

  it('webrtc', () => {
    assert.equal(c.webrtc.icelite, false);
    assert.equal(c.webrtc.icetrickle, true);
    assert.deepEqual(c.webrtc.iceservers, { frontend: [], backend: [] });
    assert.equal(c.webrtc.epr, '');
    assert.equal(c.webrtc.tcpmux, 0);
    assert.equal(c.webrtc.udpmux, 0);
    assert.deepEqual(c.webrtc.nat1to1, []);
    assert.equal(c.webrtc.ip_retrieval_url, 'https://checkip.amazonaws.com');
    assert.deepEqual(c.webrtc.estimator, {
      enabled: false,
      passive: false,
      debug: false,
      initial_bitrate: 1000000,
      read_interval: 2000,
      stable_duration: 12000,
      unstable_duration: 6000,
      stalled_duration: 24000,
      downgrade_backoff: 10000,
      upgrade_backoff: 5000,
      diff_threshold: 0.15,
    });
  });

  it('plugins', () => {
    assert.deepEqual(c.plugins, { enabled: false, dir: './bin/plugins', required: false });
    assert.deepEqual(c.chat, { enabled: true });
    assert.deepEqual(c.filetransfer, {
      enabled: false,
      dir: '/home/neko/Downloads',
      refresh_interval: 30000,
      user_download: false,
      user_upload: false,
      user_delete: false,
      upload_max_files: 64,
      upload_max_file_size: 1 << 30,
      upload_max_total_size: 1 << 30,
    });
    assert.deepEqual(c.openinapp, { enabled: false, open_command: 'xdg-open' });
  });

  it('every stored table key is present in the result', () => {
    for (const option of OPTIONS.filter((o) => o.stored)) {
      let node: unknown = c;
      for (const part of option.key.split('.')) node = (node as Record<string, unknown>)[part];
      assert.notEqual(node, undefined, option.key);
    }
  });
});

describe('precedence: defaults < file < env < flags', () => {
  const yaml = [
    'server:',
    '  bind: 0.0.0.0:1111',
    '  cors: [https://a.example, https://b.example]',
    'session:',
    '  cookie:',
    '    enabled: true',
    '    expiration: 90m',
    'desktop:',
    '  screen: 1920x1080@60',
    'member:',
    '  multiuser:',
    '    user_password: 1234',
    '',
  ].join('\n');

  it('a file overrides defaults', () => {
    const c = load(['--config', 'my.yaml'], {}, tempDir({ 'my.yaml': yaml }));
    assert.equal(c.server.bind, '0.0.0.0:1111');
    assert.deepEqual(c.server.cors, ['https://a.example', 'https://b.example']);
    assert.equal(c.session.cookie.enabled, true);
    assert.equal(c.session.cookie.expiration, 90 * 60 * 1000);
    assert.deepEqual(c.desktop.screen, { width: 1920, height: 1080, rate: 60 });
    assert.equal(c.member.multiuser.user_password, '1234');
    assert.equal(c.session.cookie.name, 'NEKO_SESSION', 'untouched keys keep their default');
  });

  it('env overrides the file, flags override env', () => {
    const cwd = tempDir({ 'my.yaml': yaml });
    const env = { NEKO_CONFIG: 'my.yaml', NEKO_SERVER_BIND: '0.0.0.0:2222', NEKO_SESSION_COOKIE_ENABLED: 'no' };
    const fromEnv = load([], env, cwd);
    assert.equal(fromEnv.config, path.join(cwd, 'my.yaml'));
    assert.equal(fromEnv.server.bind, '0.0.0.0:2222');
    assert.equal(fromEnv.session.cookie.enabled, false);
    assert.equal(fromEnv.session.cookie.expiration, 90 * 60 * 1000, 'file value survives where env is silent');

    const fromFlag = load(['--server.bind', '0.0.0.0:3333', '--session.cookie.enabled'], env, cwd);
    assert.equal(fromFlag.server.bind, '0.0.0.0:3333');
    assert.equal(fromFlag.session.cookie.enabled, true);
  });

  it('--config beats NEKO_CONFIG', () => {
    const cwd = tempDir({ 'a.yaml': 'server: {bind: "a:1"}', 'b.yaml': 'server: {bind: "b:2"}' });
    assert.equal(load(['--config=b.yaml'], { NEKO_CONFIG: 'a.yaml' }, cwd).server.bind, 'b:2');
  });

  it('a JSON file works', () => {
    const cwd = tempDir({ 'neko.json': JSON.stringify({ webrtc: { epr: '50000-50010', icelite: true } }) });
    const c = load(['--config', 'neko.json'], {}, cwd);
    assert.equal(c.webrtc.epr, '50000-50010');
    assert.equal(c.webrtc.icelite, true);
  });

  it('neko.yaml in the working dir is discovered', { skip: skipIfEtc }, () => {
    const cwd = tempDir({ 'neko.yaml': 'chat:\n  enabled: false\n' });
    const c = load([], {}, cwd);
    assert.equal(c.chat.enabled, false);
    assert.equal(c.config, path.join(cwd, 'neko.yaml'));
  });

  it('empty sections and null values in a file are ignored', () => {
    const c = load(['--config', 'n.yaml'], {}, tempDir({ 'n.yaml': 'session:\nserver:\n  static: ~\n' }));
    assert.equal(c.server.static, '');
  });
});

describe('flags', () => {
  it('accepts --key value, --key=value, bare booleans and --flag=false', () => {
    const c = load(['--debug', '--server.metrics=false', '--log.level', 'debug', '--webrtc.udpmux=59000']);
    assert.equal(c.debug, true);
    assert.equal(c.server.metrics, false);
    assert.equal(c.log.level, 'debug');
    assert.equal(c.webrtc.udpmux, 59000);
  });

  it('a boolean flag never consumes the next argument', () => {
    const err = configError(() => load(['--debug', 'false']));
    assert.match(err.message, /unexpected argument "false"/);
  });

  it('unknown flags are rejected', () => {
    const err = configError(() => load(['--server.bnid', 'x:1']));
    assert.equal(err.key, 'server.bnid');
    assert.equal(err.source, 'flag');
    assert.match(err.message, /unknown flag --server\.bnid/);
  });

  it('a value flag without a value is rejected', () => {
    assert.match(configError(() => load(['--server.bind'])).message, /--server\.bind needs a value/);
    assert.match(configError(() => load(['--server.bind', '--debug'])).message, /needs a value/);
  });

  it('--help / -h are recognised and do not break loading', () => {
    assert.equal(wantsHelp(['--debug', '-h']), true);
    assert.equal(wantsHelp(['--help']), true);
    assert.equal(wantsHelp(['--debug']), false);
    assert.equal(load(['--help']).debug, false);
  });

  it('structured values take JSON on the command line', () => {
    const c = load(['--webrtc.iceservers.frontend', '[{"urls":"turn:t.example:3478","username":"u","credential":"p"}]']);
    assert.deepEqual(c.webrtc.iceservers.frontend, [{ urls: ['turn:t.example:3478'], username: 'u', credential: 'p' }]);
  });
});

describe('env parsing', () => {
  it('lists accept commas and/or whitespace, or a JSON array', () => {
    assert.deepEqual(load([], { NEKO_CAPTURE_VIDEO_IDS: 'hq, lq  mq,,' }).capture.video.ids, ['hq', 'lq', 'mq']);
    assert.deepEqual(load([], { NEKO_CAPTURE_VIDEO_IDS: '["hq","lq"]' }).capture.video.ids, ['hq', 'lq']);
    assert.deepEqual(load([], { NEKO_WEBRTC_NAT1TO1: '1.2.3.4\n5.6.7.8' }).webrtc.nat1to1, ['1.2.3.4', '5.6.7.8']);
    assert.deepEqual(load([], { NEKO_SERVER_CORS: '*' }).server.cors, ['*']);
    assert.deepEqual(load([], { NEKO_SERVER_CORS: '' }).server.cors, []);
  });

  it('ICE servers: JSON, with bare url strings normalised to arrays', () => {
    const c = load([], {
      NEKO_WEBRTC_ICESERVERS_FRONTEND: '[{"urls":"stun:a.example:3478"},{"urls":["turn:b.example"],"username":"u","credential":"c"}]',
      NEKO_WEBRTC_ICESERVERS_BACKEND: 'stun:c.example:3478, stun:d.example:3478',
    });
    assert.deepEqual(c.webrtc.iceservers.frontend, [
      { urls: ['stun:a.example:3478'] },
      { urls: ['turn:b.example'], username: 'u', credential: 'c' },
    ]);
    assert.deepEqual(c.webrtc.iceservers.backend, [{ urls: ['stun:c.example:3478'] }, { urls: ['stun:d.example:3478'] }]);
  });

  it('member users, profiles and pipelines take JSON', () => {
    const c = load([], {
      NEKO_MEMBER_PROVIDER: 'object',
      NEKO_MEMBER_OBJECT_USERS: '[{"username":"ann","password":"pw","profile":{"name":"Ann","is_admin":true}},{"username":"bob","password":"x"}]',
      NEKO_MEMBER_MULTIUSER_USER_PROFILE: '{"can_host":false,"plugins":{"chat.can_send":false}}',
      NEKO_CAPTURE_VIDEO_PIPELINES: '{"hq":{"fps":25,"gst_encoder":"vp8enc","gst_params":{"target-bitrate":"3072000"},"show_pointer":true}}',
    });
    assert.equal(c.member.provider, 'object');
    assert.deepEqual(c.member.object.users, [
      { username: 'ann', password: 'pw', profile: { name: 'Ann', is_admin: true } },
      { username: 'bob', password: 'x', profile: {} },
    ]);
    assert.deepEqual(c.member.multiuser.user_profile, { can_host: false, plugins: { 'chat.can_send': false } });
    assert.deepEqual(c.capture.video.pipelines, {
      hq: { fps: '25', gst_encoder: 'vp8enc', gst_params: { 'target-bitrate': '3072000' }, show_pointer: true },
    });
  });

  it('booleans accept true/false/1/0/yes/no in any case', () => {
    for (const [raw, want] of [['true', true], ['1', true], ['YES', true], ['False', false], ['0', false], ['no', false]] as const) {
      assert.equal(load([], { NEKO_CHAT_ENABLED: raw }).chat.enabled, want, raw);
    }
  });

  it('an empty value clears a string key', () => {
    const c = load([], { NEKO_DESKTOP_APP: '', NEKO_DESKTOP_WINDOW_MANAGER: '' });
    assert.equal(c.desktop.app, '');
    assert.equal(c.desktop.window_manager, '');
  });

  it('media codecs: case-insensitive, unknown names fall back (contract §9.1)', () => {
    assert.equal(load([], { NEKO_CAPTURE_VIDEO_CODEC: 'H264' }).capture.video.codec, 'h264');
    assert.equal(load([], { NEKO_CAPTURE_VIDEO_CODEC: 'mpeg2' }).capture.video.codec, 'vp8');
    assert.equal(load([], { NEKO_CAPTURE_AUDIO_CODEC: 'g722' }).capture.audio.codec, 'g722');
    assert.equal(load([], { NEKO_CAPTURE_AUDIO_CODEC: 'aac' }).capture.audio.codec, 'opus');
  });

  it('unrelated NEKO_* variables are ignored', () => {
    assert.equal(load([], { NEKO_PASSWORD: 'legacy', NEKO_SOMETHING: 'x' }).member.multiuser.user_password, 'neko');
  });

  it('a relative server.client_dir is taken from the working dir', () => {
    const cwd = tempDir();
    assert.equal(load([], { NEKO_SERVER_CLIENT_DIR: 'www' }, cwd).server.client_dir, path.join(cwd, 'www'));
  });
});

describe('durations', () => {
  it('parses Go-style durations into milliseconds', () => {
    const cases: [string, number][] = [
      ['24h', 86_400_000],
      ['90m', 5_400_000],
      ['1h30m', 5_400_000],
      ['30s', 30_000],
      ['2s', 2000],
      ['1.5h', 5_400_000],
      ['500ms', 500],
      ['1m30s250ms', 90_250],
      ['0', 0],
    ];
    for (const [input, ms] of cases) assert.equal(parseDuration(input), ms, input);
  });

  it('rejects malformed durations', () => {
    for (const input of ['', '10', 'h', '1d', '-1s', '1h 30m', '1.2.3s', 's30']) {
      assert.equal(parseDuration(input), null, input);
    }
  });

  it('applies to every duration key', () => {
    const c = load([], {
      NEKO_SESSION_COOKIE_EXPIRATION: '1h30m',
      NEKO_FILETRANSFER_REFRESH_INTERVAL: '2s',
      NEKO_WEBRTC_ESTIMATOR_READ_INTERVAL: '250ms',
    });
    assert.equal(c.session.cookie.expiration, 5_400_000);
    assert.equal(c.filetransfer.refresh_interval, 2000);
    assert.equal(c.webrtc.estimator.read_interval, 250);
  });
});

describe('bad values give a ConfigError naming the key and source', () => {
  const cases: [string, NodeJS.ProcessEnv, string][] = [
    ['session.heartbeat_interval', { NEKO_SESSION_HEARTBEAT_INTERVAL: 'ten' }, 'not an integer'],
    ['session.heartbeat_interval', { NEKO_SESSION_HEARTBEAT_INTERVAL: '1.5' }, 'not an integer'],
    ['session.cookie.enabled', { NEKO_SESSION_COOKIE_ENABLED: 'maybe' }, 'not a boolean'],
    ['session.cookie.expiration', { NEKO_SESSION_COOKIE_EXPIRATION: '3600' }, 'not a duration'],
    ['desktop.screen', { NEKO_DESKTOP_SCREEN: '1280x720' }, 'not a screen size'],
    ['member.provider', { NEKO_MEMBER_PROVIDER: 'ldap' }, 'not one of'],
    ['server.bind', { NEKO_SERVER_BIND: 'localhost' }, 'not host:port'],
    ['server.bind', { NEKO_SERVER_BIND: '0.0.0.0:99999' }, 'not a port number'],
    ['webrtc.epr', { NEKO_WEBRTC_EPR: '59100-59000' }, 'not a valid port range'],
    ['webrtc.udpmux', { NEKO_WEBRTC_UDPMUX: '70000' }, 'outside'],
    ['capture.screencast.quality', { NEKO_CAPTURE_SCREENCAST_QUALITY: '101' }, 'outside'],
    ['server.ws_rate', { NEKO_SERVER_WS_RATE: '0' }, 'outside'],
    ['server.max_body', { NEKO_SERVER_MAX_BODY: '' }, 'not an integer'],
    ['webrtc.iceservers.frontend', { NEKO_WEBRTC_ICESERVERS_FRONTEND: '[{"url":"stun:x"}]' }, 'unknown field'],
    ['webrtc.iceservers.frontend', { NEKO_WEBRTC_ICESERVERS_FRONTEND: '[{"urls":' }, 'not valid JSON'],
    ['member.object.users', { NEKO_MEMBER_OBJECT_USERS: '[{"password":"x"}]' }, 'username must not be empty'],
    ['member.multiuser.admin_profile', { NEKO_MEMBER_MULTIUSER_ADMIN_PROFILE: '{"is_admin":"sure"}' }, 'is_admin'],
    ['capture.video.pipelines', { NEKO_CAPTURE_VIDEO_PIPELINES: '{"hq":{"fsp":25}}' }, 'hq: fsp: unknown pipeline field'],
    ['server.path_prefix', { NEKO_SERVER_PATH_PREFIX: 'neko' }, 'must start with /'],
  ];
  for (const [key, env, reason] of cases) {
    it(`${key} from env ${JSON.stringify(Object.values(env)[0])}`, () => {
      const err = configError(() => load([], env));
      assert.equal(err.key, key);
      assert.equal(err.source, 'env');
      assert.ok(err.message.includes(key), err.message);
      assert.ok(err.message.includes(envName(key)), err.message);
      assert.ok(err.message.includes(reason), err.message);
    });
  }

  it('from a flag', () => {
    const err = configError(() => load(['--desktop.screen=big']));
    assert.equal(err.key, 'desktop.screen');
    assert.equal(err.source, 'flag');
    assert.match(err.message, /desktop\.screen from flag --desktop\.screen/);
  });

  it('from a file, naming the file', () => {
    const cwd = tempDir({ 'n.yaml': 'session:\n  merciful_reconnect: perhaps\n' });
    const err = configError(() => load(['--config', 'n.yaml'], {}, cwd));
    assert.equal(err.key, 'session.merciful_reconnect');
    assert.equal(err.source, 'file');
    assert.ok(err.message.includes(path.join(cwd, 'n.yaml')), err.message);
  });

  it('a bad lower layer is reported even when a higher one overrides it', () => {
    const cwd = tempDir({ 'n.yaml': 'server:\n  ws_rate: fast\n' });
    const err = configError(() => load(['--config', 'n.yaml', '--server.ws_rate', '100'], {}, cwd));
    assert.equal(err.source, 'file');
  });

  it('unknown keys in a file are rejected', () => {
    const cwd = tempDir({ 'n.yaml': 'session:\n  cookie:\n    enabeld: true\n' });
    const err = configError(() => load(['--config', 'n.yaml'], {}, cwd));
    assert.equal(err.key, 'session.cookie.enabeld');
    assert.match(err.message, /unknown key session\.cookie\.enabeld/);
  });

  it('a scalar where a section belongs is rejected', () => {
    const err = configError(() => load(['--config', 'n.yaml'], {}, tempDir({ 'n.yaml': 'session: 3\n' })));
    assert.match(err.message, /session must be a map/);
  });

  it('TOML files are refused with a clear message', () => {
    const cwd = tempDir({ 'neko.toml': '[server]\nbind = "0.0.0.0:8080"\n' });
    assert.match(configError(() => load(['--config', 'neko.toml'], {}, cwd)).message, /TOML is not supported/);
  });

  it('an unreadable or malformed file is a ConfigError', () => {
    assert.match(configError(() => load(['--config', 'missing.yaml'])).message, /config file .*missing\.yaml/);
    const cwd = tempDir({ 'bad.yaml': 'server: [unclosed\n', 'list.yaml': '- a\n- b\n' });
    configError(() => load(['--config', 'bad.yaml'], {}, cwd));
    assert.match(configError(() => load(['--config', 'list.yaml'], {}, cwd)).message, /top level must be a map/);
  });
});

describe('deprecated webrtc.iceservers list', () => {
  it('fills frontend and backend when both are empty', () => {
    const cwd = tempDir({ 'n.yaml': 'webrtc:\n  iceservers:\n    - urls: stun:old.example:3478\n' });
    const c = load(['--config', 'n.yaml'], {}, cwd);
    assert.deepEqual(c.webrtc.iceservers.frontend, [{ urls: ['stun:old.example:3478'] }]);
    assert.deepEqual(c.webrtc.iceservers.backend, [{ urls: ['stun:old.example:3478'] }]);
  });

  it('is ignored when either list is set', () => {
    const c = load([], {
      NEKO_WEBRTC_ICESERVERS: 'stun:old.example:3478',
      NEKO_WEBRTC_ICESERVERS_FRONTEND: 'stun:new.example:3478',
    });
    assert.deepEqual(c.webrtc.iceservers.frontend, [{ urls: ['stun:new.example:3478'] }]);
    assert.deepEqual(c.webrtc.iceservers.backend, []);
  });

  it('coexists with the frontend/backend map form in a file', () => {
    const cwd = tempDir({ 'n.yaml': 'webrtc:\n  iceservers:\n    backend: ["stun:b.example"]\n' });
    assert.deepEqual(load(['--config', 'n.yaml'], {}, cwd).webrtc.iceservers.backend, [{ urls: ['stun:b.example'] }]);
  });
});

describe('help text and the option table', () => {
  const help = helpText();

  it('lists every key with its flag, env var, default and description', () => {
    for (const option of OPTIONS) {
      const line = help.split('\n').findIndex((l) => l.startsWith(`  --${option.key}`) && /[\s[]/.test(l[option.key.length + 4] ?? ''));
      assert.notEqual(line, -1, `missing --${option.key}`);
      const [flagLine, descLine] = help.split('\n').slice(line, line + 2);
      assert.ok(flagLine!.includes(`$${envName(option.key)}`), flagLine);
      assert.ok(descLine!.includes(option.description), descLine);
      assert.ok(descLine!.includes(`(default ${JSON.stringify(option.default)})`), descLine);
    }
    assert.match(help, /-h, --help/);
  });

  it('env names follow the contract rule and are unique', () => {
    assert.equal(envName('session.cookie.enabled'), 'NEKO_SESSION_COOKIE_ENABLED');
    assert.equal(envName('webrtc.iceservers.frontend'), 'NEKO_WEBRTC_ICESERVERS_FRONTEND');
    assert.equal(envName('capture.video.ids'), 'NEKO_CAPTURE_VIDEO_IDS');
    const names = OPTIONS.map((o) => envName(o.key));
    assert.equal(new Set(names).size, names.length);
  });

  it('every env var and flag is accepted by the loader', () => {
    // Feeding each default back through env and flags proves names and parsers line up.
    const asText = (raw: unknown) => (typeof raw === 'string' ? raw : JSON.stringify(raw));
    const env = Object.fromEntries(OPTIONS.map((o) => [envName(o.key), asText(o.default)]));
    const argv = OPTIONS.map((o) => `--${o.key}=${asText(o.default)}`);
    assert.deepEqual(load(argv, env), load());
  });
});
