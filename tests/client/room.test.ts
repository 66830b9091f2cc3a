import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { MemberProfile, ServerEvents, Settings } from '../../client/src/protocol.js';
import {
  CHAT_HISTORY,
  CHAT_MAX_LENGTH,
  blankedByPrivateMode,
  canReceiveChat,
  canSendChat,
  chatText,
  clockTime,
  controlBlocked,
  implicitHosting,
  initialRoom,
  isHost,
  MAX_REQUESTS,
  memberName,
  reduceRoom,
  roster,
  self,
  unread,
  type RoomAction,
  type RoomState,
} from '../../client/src/room.js';

const profile = (name: string, extra: Partial<MemberProfile> = {}): MemberProfile => ({
  name,
  is_admin: false,
  can_host: true,
  can_watch: true,
  ...extra,
});
const online = { is_connected: true, is_watching: false };
const settings: Settings = {
  private_mode: false,
  locked_logins: false,
  locked_controls: false,
  control_protection: false,
  implicit_hosting: false,
  inactive_cursors: false,
  merciful_reconnect: true,
  heartbeat_interval: 10,
  plugins: null,
};

function init(me: string, hostId?: string): ServerEvents['system/init'] {
  return {
    session_id: me,
    control_host: hostId ? { id: '', has_host: true, host_id: hostId } : { id: '', has_host: false },
    screen_size: { width: 1280, height: 720, rate: 30 },
    sessions: {
      'alice-1': { id: 'alice-1', profile: profile('alice'), state: online },
      'bob-2': { id: 'bob-2', profile: profile('bob'), state: { is_connected: true, is_watching: true } },
      'root-3': { id: 'root-3', profile: profile('root', { is_admin: true }), state: { is_connected: false, is_watching: false } },
    },
    settings,
    webrtc: { videos: ['hd'] },
  };
}

const run = (actions: RoomAction[], from: RoomState = initialRoom()): RoomState => actions.reduce(reduceRoom, from);
const host = (hostId: string | null, by = 'x'): RoomAction => ({
  type: 'control/host',
  payload: hostId ? { id: by, has_host: true, host_id: hostId } : { id: by, has_host: false },
});
const chat = (id: string, text: string, created = '2025-01-02T03:04:05.123456789Z'): RoomAction => ({
  type: 'chat/message',
  payload: { id, created, content: { text } },
});

describe('room reducer: members', () => {
  it('system/init seeds me, the members with their state, host and settings', () => {
    const r = run([{ type: 'system/init', payload: init('alice-1', 'bob-2') }]);
    assert.equal(r.sessionId, 'alice-1');
    assert.equal(r.hostId, 'bob-2');
    assert.equal(isHost(r), false);
    assert.equal(r.members.size, 3);
    assert.equal(self(r)?.profile.name, 'alice');
    assert.deepEqual(r.settings, settings);
  });

  it('session created / profile / state / deleted keep the list current', () => {
    let r = run([{ type: 'system/init', payload: init('alice-1') }]);
    r = reduceRoom(r, { type: 'session/created', payload: { id: 'carol-4', profile: profile('carol'), state: { is_connected: false, is_watching: false } } });
    assert.equal(memberName(r, 'carol-4'), 'carol');
    r = reduceRoom(r, { type: 'session/state', payload: { id: 'carol-4', is_connected: true, is_watching: true } });
    assert.deepEqual(r.members.get('carol-4')?.state, { is_connected: true, is_watching: true });
    r = reduceRoom(r, { type: 'session/profile', payload: { id: 'carol-4', ...profile('Carol C') } });
    assert.equal(memberName(r, 'carol-4'), 'Carol C');
    assert.equal(r.members.get('carol-4')?.state.is_watching, true, 'a profile change keeps the state');
    r = reduceRoom(r, { type: 'session/deleted', payload: { id: 'carol-4' } });
    assert.equal(r.members.has('carol-4'), false);
    assert.equal(memberName(r, 'carol-4'), 'carol-4', 'unknown ids fall back to the id');
  });

  it('a state for an unknown session changes nothing', () => {
    const r = run([{ type: 'system/init', payload: init('alice-1') }]);
    assert.equal(reduceRoom(r, { type: 'session/state', payload: { id: 'ghost', is_connected: true, is_watching: false } }), r);
  });

  it('roster lists connected members first, by name, with host/you/admin flags', () => {
    const r = run([{ type: 'system/init', payload: init('bob-2', 'alice-1') }]);
    assert.deepEqual(
      roster(r).map((m) => [m.name, m.you, m.host, m.admin, m.connected, m.watching]),
      [
        ['alice', false, true, false, true, false],
        ['bob', true, false, false, true, true],
        ['root', false, false, true, false, false],
      ],
    );
  });

  it('system/settings merges the change (without the id of who made it)', () => {
    const r = run([
      { type: 'system/init', payload: init('alice-1') },
      { type: 'system/settings', payload: { id: 'root-3', ...settings, implicit_hosting: true } },
    ]);
    assert.equal(r.settings?.implicit_hosting, true);
    assert.equal('id' in (r.settings ?? {}), false);
  });
});

describe('room reducer: control handover', () => {
  const base = () => run([{ type: 'system/init', payload: init('alice-1') }]);

  it('requesting while someone else is host shows "requested" until the host changes', () => {
    let r = reduceRoom(base(), host('bob-2'));
    r = reduceRoom(r, { type: 'requested' });
    assert.equal(r.requested, true);
    r = reduceRoom(r, host('alice-1', 'bob-2'));
    assert.equal(isHost(r), true);
    assert.equal(r.requested, false);
  });

  it('requesting with no host or as host is not a pending request', () => {
    assert.equal(reduceRoom(base(), { type: 'requested' }).requested, false);
    const mine = reduceRoom(base(), host('alice-1'));
    assert.equal(reduceRoom(mine, { type: 'requested' }).requested, false);
  });

  it('the host collects requests from others, once each, and loses them with control', () => {
    let r = reduceRoom(base(), host('alice-1'));
    for (const id of ['bob-2', 'bob-2', 'alice-1', 'root-3']) r = reduceRoom(r, { type: 'control/request', payload: { id } });
    assert.deepEqual(r.requests, ['bob-2', 'root-3']);
    r = reduceRoom(r, host('alice-1'));
    assert.deepEqual(r.requests, ['bob-2', 'root-3'], 'a repeated control/host for the same host keeps them');
    r = reduceRoom(r, { type: 'dismiss', id: 'root-3' });
    assert.deepEqual(r.requests, ['bob-2']);
    r = reduceRoom(r, host('bob-2', 'alice-1'));
    assert.deepEqual(r.requests, []);
  });

  it('requests arriving while not host are ignored; a requester leaving drops its request', () => {
    assert.deepEqual(reduceRoom(base(), { type: 'control/request', payload: { id: 'bob-2' } }).requests, []);
    let r = reduceRoom(base(), host('alice-1'));
    r = reduceRoom(r, { type: 'control/request', payload: { id: 'bob-2' } });
    r = reduceRoom(r, { type: 'session/state', payload: { id: 'bob-2', is_connected: false, is_watching: false } });
    assert.deepEqual(r.requests, []);
    r = reduceRoom(r, { type: 'control/request', payload: { id: 'bob-2' } });
    r = reduceRoom(r, { type: 'session/deleted', payload: { id: 'bob-2' } });
    assert.deepEqual(r.requests, []);
  });

  it('a denial ends our pending request; without one it changes nothing', () => {
    let r = reduceRoom(base(), host('bob-2'));
    assert.equal(reduceRoom(r, { type: 'denied' }), r);
    r = reduceRoom(r, { type: 'requested' });
    r = reduceRoom(r, { type: 'denied' });
    assert.equal(r.requested, false);
    assert.equal(r.hostId, 'bob-2');
  });

  it('keeps at most MAX_REQUESTS pending requests', () => {
    let r = reduceRoom(base(), host('alice-1'));
    for (let i = 0; i < MAX_REQUESTS + 5; i++) r = reduceRoom(r, { type: 'control/request', payload: { id: `s-${i}` } });
    assert.equal(r.requests.length, MAX_REQUESTS);
  });
});

describe('what the room allows me', () => {
  const as = (me: string, change: Partial<Settings> = {}) =>
    run([
      { type: 'system/init', payload: init(me) },
      { type: 'system/settings', payload: change },
      { type: 'chat/init', payload: { enabled: true } },
    ]);
  const withProfile = (r: RoomState, extra: Partial<MemberProfile>) =>
    reduceRoom(r, { type: 'session/profile', payload: { id: r.sessionId!, ...self(r)!.profile, ...extra } });

  it('control: blocked without can_host, and for non-admins by private mode or locked controls', () => {
    assert.equal(controlBlocked(as('alice-1')), null);
    assert.equal(controlBlocked(withProfile(as('alice-1'), { can_host: false })), 'not_allowed');
    assert.equal(controlBlocked(as('alice-1', { private_mode: true })), 'private_mode');
    assert.equal(controlBlocked(as('alice-1', { locked_controls: true })), 'locked');
    assert.equal(controlBlocked(as('root-3', { private_mode: true, locked_controls: true })), null, 'admins are exempt');
    const host = reduceRoom(as('alice-1', { locked_controls: true }), { type: 'control/host', payload: { id: 'x', has_host: true, host_id: 'alice-1' } });
    assert.equal(controlBlocked(host), null, 'a host can always release');
  });

  it('implicit hosting: only while nobody hosts, the room has it on, and we may host', () => {
    assert.equal(implicitHosting(as('alice-1')), false, 'off by default');
    const on = as('alice-1', { implicit_hosting: true });
    assert.equal(implicitHosting(on), true);
    assert.equal(implicitHosting(reduceRoom(on, host('bob-2'))), false, 'someone hosts: no taking it by a click');
    assert.equal(implicitHosting(reduceRoom(on, host('alice-1'))), false, 'already host');
    assert.equal(implicitHosting(withProfile(on, { can_host: false })), false);
    assert.equal(implicitHosting(as('alice-1', { implicit_hosting: true, locked_controls: true })), false);
  });

  it('private mode blanks everyone but admins', () => {
    assert.equal(blankedByPrivateMode(as('alice-1')), false);
    assert.equal(blankedByPrivateMode(as('alice-1', { private_mode: true })), true);
    assert.equal(blankedByPrivateMode(as('root-3', { private_mode: true })), false);
  });

  it('chat: needs chat/init enabled, and chat.can_send from the room (unless admin) and the profile', () => {
    assert.equal(canSendChat(as('alice-1')), true);
    assert.equal(canSendChat(reduceRoom(as('alice-1'), { type: 'chat/init', payload: { enabled: false } })), false);
    const roomOff = { plugins: { 'chat.can_send': false } };
    assert.equal(canSendChat(as('alice-1', roomOff)), false);
    assert.equal(canSendChat(as('root-3', roomOff)), true, 'the room layer does not bind admins');
    assert.equal(canSendChat(withProfile(as('root-3'), { plugins: { 'chat.can_send': false } })), false);
    assert.equal(canSendChat(withProfile(as('alice-1'), { plugins: null })), true, 'null plugins means defaults');
  });
});

describe('room reducer: chat', () => {
  const base = () => run([{ type: 'system/init', payload: init('alice-1') }]);

  it('is disabled until chat/init says otherwise', () => {
    assert.equal(base().chatEnabled, false);
    assert.equal(reduceRoom(base(), { type: 'chat/init', payload: { enabled: true } }).chatEnabled, true);
    const off = run([{ type: 'chat/init', payload: { enabled: true } }, { type: 'chat/init', payload: { enabled: false } }], base());
    assert.equal(off.chatEnabled, false);
  });

  it('appends messages with increasing seq and keeps the last CHAT_HISTORY', () => {
    let r = base();
    for (let i = 0; i < CHAT_HISTORY + 10; i++) r = reduceRoom(r, chat(i % 2 ? 'bob-2' : 'alice-1', `m${i}`));
    assert.equal(r.chat.length, CHAT_HISTORY);
    assert.deepEqual(r.chat[0], { kind: 'message', seq: 11, from: 'alice-1', created: '2025-01-02T03:04:05.123456789Z', text: 'm10' });
    assert.deepEqual(r.chat.at(-1), { kind: 'message', seq: CHAT_HISTORY + 10, from: 'bob-2', created: '2025-01-02T03:04:05.123456789Z', text: `m${CHAT_HISTORY + 9}` });
  });

  it('drops malformed messages', () => {
    const r = base();
    const bad = [null, {}, { id: 'bob-2' }, { id: 'bob-2', content: { text: 5 } }, { id: 7, content: { text: 'x' } }];
    for (const payload of bad) {
      assert.equal(reduceRoom(r, { type: 'chat/message', payload } as unknown as RoomAction), r, JSON.stringify(payload));
    }
  });

  it('a reconnect of the same session keeps the chat, a new login or reset does not', () => {
    const r = reduceRoom(base(), chat('bob-2', 'hi'));
    assert.equal(reduceRoom(r, { type: 'system/init', payload: init('alice-1') }).chat.length, 1);
    assert.equal(reduceRoom(r, { type: 'system/init', payload: init('bob-2') }).chat.length, 0);
    assert.equal(reduceRoom(r, { type: 'reset' }).chat.length, 0);
  });

  it('counts unread lines from others only', () => {
    let r = base();
    r = run([chat('bob-2', 'a'), chat('alice-1', 'b'), chat('bob-2', 'c')], r);
    assert.equal(unread(r, 0), 2);
    assert.equal(unread(r, 2), 1);
    assert.equal(unread(r, 3), 0);
  });

  it('chatText trims, refuses blanks and caps the length', () => {
    assert.equal(chatText('  hi  '), 'hi');
    assert.equal(chatText(' \n\t '), undefined);
    assert.equal(chatText('x'.repeat(CHAT_MAX_LENGTH + 50))?.length, CHAT_MAX_LENGTH);
  });

  it('clockTime shows local HH:MM of an RFC 3339 timestamp with nanoseconds, or nothing', () => {
    const t = new Date(2025, 0, 2, 7, 5, 9);
    const iso = t.toISOString().replace('Z', '123456Z');
    assert.equal(clockTime(iso), '07:05');
    assert.equal(clockTime('not a time'), '');
  });
});

describe('room reducer: notices in the chat stream', () => {
  const base = () => run([{ type: 'system/init', payload: init('alice-1') }]);
  const notices = (r: RoomState) => r.chat.flatMap((l) => (l.kind === 'notice' ? [l.notice] : []));
  const state = (id: string, is_connected: boolean): RoomAction => ({ type: 'session/state', payload: { id, is_connected, is_watching: false } });

  it('others joining and leaving are told, with the time the store stamps; watching changes and I are not', () => {
    let r = reduceRoom(base(), { ...state('root-3', true), at: '2025-01-02T03:04:05Z' });
    assert.deepEqual(r.chat.at(-1), { kind: 'notice', seq: 1, created: '2025-01-02T03:04:05Z', notice: { type: 'joined', name: 'root' } });
    r = run([state('root-3', true), { type: 'session/state', payload: { id: 'bob-2', is_connected: true, is_watching: false } }, state('alice-1', true)], r);
    r = reduceRoom(r, state('bob-2', false));
    assert.deepEqual(notices(r), [{ type: 'joined', name: 'root' }, { type: 'left', name: 'bob' }]);
  });

  it('removal is told for members who were here; expired offline sessions go quietly', () => {
    const r = run([{ type: 'session/deleted', payload: { id: 'root-3' } }, { type: 'session/deleted', payload: { id: 'bob-2' } }], base());
    assert.deepEqual(notices(r), [{ type: 'removed', name: 'bob' }]);
  });

  it('control changes: taken, given by someone, released, ended by someone else', () => {
    const r = run([host('bob-2', 'bob-2'), host('alice-1', 'bob-2'), host(null, 'alice-1'), host('bob-2', 'bob-2'), host(null, 'root-3'), host(null, 'x')], base());
    assert.deepEqual(notices(r), [
      { type: 'host', name: 'bob', by: undefined },
      { type: 'host', name: 'alice', by: 'bob' },
      { type: 'released', name: 'alice', by: undefined },
      { type: 'host', name: 'bob', by: undefined },
      { type: 'released', name: 'bob', by: 'root' },
    ]);
  });

  it('settings changes name the switch, its new state and who flipped it; plugin keys default to on', () => {
    let r = reduceRoom(base(), { type: 'system/settings', payload: { id: 'root-3', ...settings, private_mode: true, heartbeat_interval: 5 } });
    r = reduceRoom(r, { type: 'system/settings', payload: { plugins: { 'chat.can_send': false, 'other.key': 1 } } });
    r = reduceRoom(r, { type: 'system/settings', payload: { plugins: { 'chat.can_send': true } } });
    r = reduceRoom(r, { type: 'system/settings', payload: { plugins: null } });
    assert.deepEqual(notices(r), [
      { type: 'setting', setting: 'private_mode', on: true, by: 'root' },
      { type: 'setting', setting: 'chat.can_send', on: false, by: undefined },
      { type: 'setting', setting: 'chat.can_send', on: true, by: undefined },
    ]);
  });

  it('nothing before system/init; notices are not unread messages', () => {
    assert.equal(reduceRoom(initialRoom(), host('bob-2')).chat.length, 0);
    const r = run([state('root-3', true), chat('bob-2', 'hi'), host('bob-2', 'bob-2')], base());
    assert.equal(r.chat.length, 3);
    assert.equal(unread(r, 0), 1);
  });

  it('chat can_receive follows the same layers as can_send', () => {
    const r = run([{ type: 'chat/init', payload: { enabled: true } }, { type: 'system/settings', payload: { plugins: { 'chat.can_receive': false } } }], base());
    assert.equal(canReceiveChat(r), false);
    assert.equal(canSendChat(r), true);
    const admin = run([{ type: 'system/init', payload: init('root-3') }, { type: 'chat/init', payload: { enabled: true } }, { type: 'system/settings', payload: { plugins: { 'chat.can_receive': false } } }]);
    assert.equal(canReceiveChat(admin), true, 'admins are not bound by the room layer');
    const open = run([{ type: 'chat/init', payload: { enabled: true } }], base());
    assert.equal(canReceiveChat(open), true);
    const odd = reduceRoom(open, { type: 'session/profile', payload: { id: 'alice-1', ...profile('alice'), plugins: { 'chat.can_receive': 'yes' } } });
    assert.equal(canReceiveChat(odd), false, 'only true grants, as the server reads it');
  });
});
