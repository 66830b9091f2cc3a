import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { effect } from '@preact/signals';
import { parseParams } from '../../client/src/params.js';
import { DEFAULT_PREFS } from '../../client/src/prefs.js';
import type { ServerEvents } from '../../client/src/protocol.js';
import { createStore } from '../../client/src/store.js';

const params = (query = '') => parseParams(new URLSearchParams(query));

const init = (me: string, admin = false, settings: Partial<ServerEvents['system/init']['settings']> = {}): ServerEvents['system/init'] => ({
  session_id: me,
  control_host: { has_host: false },
  screen_size: { width: 1280, height: 720, rate: 30 },
  sessions: { [me]: { id: me, profile: { name: me, is_admin: admin, can_host: true, can_watch: true, can_share_media: true }, state: { is_connected: true, is_watching: false } } },
  settings: {
    private_mode: false, locked_logins: false, locked_controls: false, control_protection: false, implicit_hosting: false,
    inactive_cursors: false, merciful_reconnect: true, heartbeat_interval: 10, plugins: null, ...settings,
  },
  webrtc: { videos: ['main'] },
});

describe('store', () => {
  it('derived values follow the room; effects run only when what they read changes', () => {
    const store = createStore(params(), DEFAULT_PREFS);
    const seen: boolean[] = [];
    const stop = effect(() => {
      seen.push(store.isHost.value);
    });
    store.dispatch({ type: 'system/init', payload: init('me-1') });
    assert.equal(store.isAdmin.value, false);
    assert.equal(store.canShareMedia.value, true);
    store.dispatch({ type: 'control/host', payload: { id: 'me-1', has_host: true, host_id: 'me-1' } });
    store.dispatch({ type: 'chat/init', payload: { enabled: true } });
    store.dispatch({ type: 'control/host', payload: { id: 'me-1', has_host: false } });
    stop();
    assert.deepEqual(seen, [false, true, false], 'the chat change did not re-run it');
  });

  it('embed parameters override the saved preferences for this visit', () => {
    const store = createStore(params('volume=30&scroll=55&show_side=1&mute_chat=1'), { ...DEFAULT_PREFS, volume: 80, scrollSensitivity: 12 });
    assert.equal(store.volume.value, 30);
    assert.equal(store.scrollSensitivity.value, 55);
    assert.equal(store.panelOpen.value, true);
    assert.equal(store.chatSound.value, false);
    assert.equal(createStore(params('volume=0'), DEFAULT_PREFS).muted.value, true, 'volume 0 starts muted');
    const saved = createStore(params(), { ...DEFAULT_PREFS, volume: 80, chatSound: false });
    assert.equal(saved.volume.value, 80);
    assert.equal(saved.chatSound.value, false);
  });

  it('unread counts others\' lines until the chat is seen', () => {
    const store = createStore(params(), DEFAULT_PREFS);
    store.dispatch({ type: 'system/init', payload: init('me-1') });
    const line = (id: string, text: string) => store.dispatch({ type: 'chat/message', payload: { id, created: '', content: { text } } });
    line('other-2', 'hi');
    line('me-1', 'hello');
    line('other-2', 'how are you');
    assert.equal(store.unread.value, 2);
    store.markChatSeen();
    assert.equal(store.unread.value, 0);
  });

  it('notices keep the newest few; uploads are added, updated and removed by id', () => {
    const store = createStore(params(), DEFAULT_PREFS);
    for (let i = 0; i < 8; i++) store.notify('control.denied', 'warn', { name: `n${i}` });
    assert.equal(store.notices.value.length, 5);
    assert.equal(store.notices.value.at(-1)?.params?.name, 'n7');
    const id = store.addUpload('a.txt', 'drop', 100);
    store.updateUpload(id, { loaded: 50 });
    assert.equal(store.uploads.value[0]?.loaded, 50);
    store.removeUpload(id);
    assert.deepEqual(store.uploads.value, []);
  });

  it('reset returns to a fresh login state', () => {
    const store = createStore(params('show_side=1'), DEFAULT_PREFS);
    store.dispatch({ type: 'system/init', payload: init('me-1', true) });
    store.phase.value = 'room';
    store.panelOpen.value = false;
    store.addUpload('a', 'files', 1);
    store.reset();
    assert.equal(store.phase.value, 'login');
    assert.equal(store.room.value.sessionId, null);
    assert.deepEqual(store.uploads.value, []);
    assert.equal(store.panelOpen.value, true, 'back to what ?show_side asked');
  });
});
