import assert from 'node:assert/strict';
import { beforeEach, describe, test } from 'node:test';
import { HttpError } from '../../../server/src/errors.js';
import { silentLogger } from '../../../server/src/log.js';
import { fullProfile, type MemberProfile } from '../../../server/src/members/types.js';
import { ControlPolicy } from '../../../server/src/sessions/control.js';
import { SessionManager } from '../../../server/src/sessions/manager.js';
import type { Session } from '../../../server/src/sessions/session.js';
import { initialSettings } from '../../../server/src/sessions/settings.js';
import { loadConfig } from '../../../server/src/config/index.js';
import { SettingsEffects } from '../../../server/src/sessions/settings-effects.js';
import type { SessionPeer, SessionSocket, Settings } from '../../../server/src/sessions/types.js';

const DEFAULTS: Settings = initialSettings(loadConfig([], {}).session);

class FakeSocket implements SessionSocket {
  readonly sent: Array<{ event: string; payload?: any }> = [];
  send(event: string, payload?: unknown): void {
    this.sent.push({ event, payload });
  }
  disconnect(): void {}
  of(event: string): any[] {
    return this.sent.filter((m) => m.event === event).map((m) => m.payload);
  }
}

class FakePeer implements SessionPeer {
  paused = false;
  send(): void {}
  setPaused(paused: boolean): void {
    this.paused = paused;
  }
  close(): void {}
}

interface World {
  sessions: SessionManager;
  control: ControlPolicy;
  effects: SettingsEffects;
  join(id: string, profile?: Partial<MemberProfile>): { session: Session; socket: FakeSocket; peer: FakePeer };
}

function world(settings: Partial<Settings> = {}): World {
  const sessions = new SessionManager({ settings: { ...DEFAULTS, ...settings }, apiToken: '', logger: silentLogger() });
  const effects = new SettingsEffects({ sessions, logger: silentLogger() });
  return {
    sessions,
    control: new ControlPolicy(sessions, silentLogger()),
    effects,
    join(id, profile = {}) {
      const session = sessions.create(id, { ...fullProfile(id), is_admin: false, ...profile });
      const socket = new FakeSocket();
      const peer = new FakePeer();
      sessions.attachSocket(session, socket);
      session.peer = peer;
      return { session, socket, peer };
    },
  };
}

function httpError(fn: () => unknown, status: number, message: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof HttpError, `expected an HttpError, got ${String(err)}`);
    assert.deepEqual(err.body(), { code: status, message });
    return true;
  });
}

describe('ControlPolicy: WebSocket request/release (contract §6)', () => {
  let w: World;
  beforeEach(() => {
    w = world();
  });

  test('no host → granted; host present → the host is asked, the caller stays non-host', () => {
    const a = w.join('a');
    const b = w.join('b');
    assert.equal(w.control.request(a.session), 'granted');
    assert.equal(w.sessions.host, a.session);
    assert.deepEqual(b.socket.of('control/host').at(-1), { id: 'a', has_host: true, host_id: 'a' });
    assert.equal(w.control.request(a.session), 'already-host');
    assert.equal(w.control.request(b.session), 'requested');
    assert.equal(w.sessions.host, a.session);
    assert.deepEqual(a.socket.of('control/request'), [{ id: 'b' }]);
    assert.deepEqual(b.socket.of('control/request'), [], 'only the host is asked');
  });

  test('implicit hosting hands control over immediately', () => {
    w.effects.update({ implicit_hosting: true }, null);
    const a = w.join('a');
    const b = w.join('b');
    w.control.request(a.session);
    assert.equal(w.control.request(b.session), 'granted');
    assert.equal(w.sessions.host, b.session);
    assert.deepEqual(a.socket.of('control/request'), []);
  });

  test('denied without can_host, in private mode (non-admin) and when locked (non-admin)', () => {
    const noHost = w.join('n', { can_host: false });
    const user = w.join('u');
    const admin = w.join('adm', { is_admin: true });
    assert.equal(w.control.request(noHost.session), 'denied');
    w.effects.update({ locked_controls: true }, null);
    assert.equal(w.control.request(user.session), 'denied');
    assert.equal(w.control.request(admin.session), 'granted');
    w.control.reset(admin.session);
    w.effects.update({ locked_controls: false, private_mode: true }, null);
    assert.equal(w.control.request(user.session), 'denied');
    assert.equal(w.control.inputAllowed(user.session), false);
    assert.equal(w.control.request(admin.session), 'granted');
  });

  test('release: only the host', () => {
    const a = w.join('a');
    const b = w.join('b');
    w.control.request(a.session);
    assert.equal(w.control.release(b.session), false);
    assert.equal(w.control.release(a.session), true);
    assert.equal(w.sessions.host, null);
    assert.deepEqual(b.socket.of('control/host').at(-1), { id: 'a', has_host: false });
  });
});

describe('ControlPolicy: REST semantics (contract §3.3)', () => {
  let w: World;
  beforeEach(() => {
    w = world();
  });

  test('request: granted, then 202-style request to the host even from the host itself and with implicit hosting', () => {
    const a = w.join('a');
    const b = w.join('b');
    assert.equal(w.control.restRequest(a.session), 'granted');
    assert.equal(w.control.restRequest(a.session), 'requested');
    assert.deepEqual(a.socket.of('control/request'), [{ id: 'a' }]);
    w.effects.update({ implicit_hosting: true }, null);
    assert.equal(w.control.restRequest(b.session), 'requested');
    assert.equal(w.sessions.host, a.session, 'REST never takes control from a host');
    assert.deepEqual(a.socket.of('control/request').at(-1), { id: 'b' });
  });

  test('request while locked: 403 for users with no host, admins pass; users still reach a present host', () => {
    const u = w.join('u');
    const admin = w.join('adm', { is_admin: true });
    w.effects.update({ locked_controls: true }, null);
    httpError(() => w.control.restRequest(u.session), 403, 'controls are locked');
    assert.equal(w.control.restRequest(admin.session), 'granted');
    assert.equal(w.control.restRequest(u.session), 'requested');
  });

  test('release 422 when not host; take; give; reset', () => {
    const a = w.join('a');
    const b = w.join('b');
    const admin = w.join('adm', { is_admin: true });
    const noHost = w.join('n', { can_host: false });
    httpError(() => w.control.restRelease(a.session), 422, 'session is not the host');
    w.control.take(admin.session);
    assert.equal(w.sessions.host, admin.session);
    httpError(() => w.control.give(admin.session, 'nobody'), 404, 'target session was not found');
    httpError(() => w.control.give(admin.session, 'n'), 400, 'target session is not allowed to host');
    w.control.give(admin.session, 'b');
    assert.deepEqual(a.socket.of('control/host').at(-1), { id: 'adm', has_host: true, host_id: 'b' });
    w.control.restRelease(b.session);
    assert.equal(w.sessions.host, null);
    const before = a.socket.of('control/host').length;
    w.control.reset(admin.session);
    assert.equal(a.socket.of('control/host').length, before, 'resetting with no host changes nothing');
    w.control.request(a.session);
    w.control.reset(admin.session);
    assert.deepEqual(noHost.socket.of('control/host').at(-1), { id: 'adm', has_host: false });
  });

  test('give refuses a private-mode non-admin target', () => {
    const a = w.join('a');
    const admin = w.join('adm', { is_admin: true });
    w.effects.update({ private_mode: true }, admin.session);
    httpError(() => w.control.give(admin.session, a.session.id), 400, 'target session is not allowed to host');
  });
});

describe('SettingsEffects (contract §3.3 Settings POST, §5.1, §6)', () => {
  test('partial merge; plugins merged key by key, null clears; system/settings carries the caller id', () => {
    const w = world();
    const a = w.join('a');
    w.effects.update({ plugins: { 'chat.enabled': false } }, a.session);
    w.effects.update({ implicit_hosting: true, plugins: { 'filetransfer.enabled': true } }, a.session);
    assert.deepEqual(w.sessions.settings, {
      ...DEFAULTS,
      implicit_hosting: true,
      plugins: { 'chat.enabled': false, 'filetransfer.enabled': true },
    });
    assert.deepEqual(a.socket.of('system/settings').at(-1), { id: 'a', ...w.sessions.settings });
    w.effects.update({ plugins: null }, null);
    assert.equal(w.sessions.settings.plugins, null);
    assert.equal(a.socket.of('system/settings').at(-1).id, '');
  });

  test('private mode: clears a user host, pauses non-admin peers, resumes them when off', () => {
    const w = world();
    const user = w.join('u');
    const admin = w.join('adm', { is_admin: true });
    w.control.request(user.session);
    w.effects.update({ private_mode: true }, admin.session);
    assert.equal(w.sessions.host, null);
    assert.deepEqual(user.socket.of('control/host').at(-1), { id: 'adm', has_host: false });
    assert.equal(user.peer.paused, true);
    assert.equal(admin.peer.paused, false);
    w.effects.update({ private_mode: false }, admin.session);
    assert.equal(user.peer.paused, false);
  });

  test('private mode keeps an admin host', () => {
    const w = world();
    const admin = w.join('adm', { is_admin: true });
    w.control.request(admin.session);
    w.effects.update({ private_mode: true }, admin.session);
    assert.equal(w.sessions.host, admin.session);
  });

  test('locked controls clear a user host but keep an admin host', () => {
    const w = world();
    const user = w.join('u');
    const admin = w.join('adm', { is_admin: true });
    w.control.request(user.session);
    w.effects.update({ locked_controls: true }, admin.session);
    assert.equal(w.sessions.host, null);
    w.effects.update({ locked_controls: false }, admin.session);
    w.control.take(admin.session);
    w.effects.update({ locked_controls: true }, admin.session);
    assert.equal(w.sessions.host, admin.session);
  });

  test('control protection: starts locked; enabling it with no admin connected locks; last admin leaving locks', () => {
    const initial = world({ control_protection: true });
    assert.equal(initial.sessions.settings.locked_controls, true);

    const w = world();
    const user = w.join('u');
    w.effects.update({ control_protection: true }, null);
    assert.equal(w.sessions.settings.locked_controls, true, 'no admin connected → locked');
    assert.equal(user.socket.of('system/settings').length, 1, 'one update, one system/settings');

    const v = world();
    const watcher = v.join('u');
    const admin = v.join('adm', { is_admin: true });
    v.effects.update({ control_protection: true }, admin.session);
    assert.equal(v.sessions.settings.locked_controls, false, 'an admin is connected → stays unlocked');
    v.control.request(watcher.session);
    v.sessions.detachSocket(admin.session, admin.socket);
    assert.equal(v.sessions.settings.locked_controls, true);
    assert.deepEqual(watcher.socket.of('system/settings').at(-1), { id: 'adm', ...v.sessions.settings });
    assert.equal(v.sessions.host, null, 'locking clears the user host');
  });

  test('a user leaving does not lock; a second admin staying keeps it unlocked', () => {
    const w = world();
    const a1 = w.join('a1', { is_admin: true });
    const a2 = w.join('a2', { is_admin: true });
    const u = w.join('u');
    w.effects.update({ control_protection: true }, a1.session);
    w.sessions.detachSocket(u.session, u.socket);
    w.sessions.detachSocket(a1.session, a1.socket);
    assert.equal(w.sessions.settings.locked_controls, false);
    w.sessions.detachSocket(a2.session, a2.socket);
    assert.equal(w.sessions.settings.locked_controls, true);
  });

  test('losing admin while private mode is on pauses the peer and drops host', () => {
    const w = world();
    const admin = w.join('adm', { is_admin: true });
    w.control.request(admin.session);
    w.effects.update({ private_mode: true }, admin.session);
    w.sessions.updateProfile(admin.session, { ...admin.session.profile, is_admin: false });
    assert.equal(admin.peer.paused, true);
    assert.equal(w.sessions.host, null);
  });

  test('close() is idempotent and stops the effects', () => {
    const w = world();
    const user = w.join('u');
    w.effects.close();
    w.effects.close();
    w.sessions.updateSettings({ ...w.sessions.settings, private_mode: true }, null);
    assert.equal(user.peer.paused, false);
  });
});
