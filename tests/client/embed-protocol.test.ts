import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { LIMITS, originAllowed, parseCommand, parseViewerMessage, targetOrigin } from '../../client/src/embed-protocol.js';

describe('embed protocol: commands from the host page', () => {
  test('messages that are not ours are ignored without an answer', () => {
    for (const data of [null, undefined, 'neko', 42, [], { type: 'login' }, { source: 'react-devtools' }]) {
      assert.equal(parseCommand(data), null, JSON.stringify(data));
    }
  });

  test('each command parses into its typed form', () => {
    const ok = (data: object) => {
      const p = parseCommand({ neko: 1, id: 'x', ...data });
      assert.ok(p?.ok, `${JSON.stringify(data)}: ${p && !p.ok ? p.error : 'ignored'}`);
      assert.equal(p.id, 'x');
      return p.command;
    };
    assert.deepEqual(ok({ type: 'login', username: 'a', password: 'b' }), { type: 'login', username: 'a', password: 'b' });
    assert.deepEqual(ok({ type: 'login', share: 'tok' }), { type: 'login', share: 'tok' });
    assert.deepEqual(ok({ type: 'logout' }), { type: 'logout' });
    assert.deepEqual(ok({ type: 'control.request', extra: 1 }), { type: 'control.request' });
    assert.deepEqual(ok({ type: 'control.release' }), { type: 'control.release' });
    assert.deepEqual(ok({ type: 'volume', volume: 30 }), { type: 'volume', volume: 30, muted: undefined });
    assert.deepEqual(ok({ type: 'volume', muted: true }), { type: 'volume', volume: undefined, muted: true });
    assert.deepEqual(ok({ type: 'fullscreen' }), { type: 'fullscreen', on: undefined });
    assert.deepEqual(ok({ type: 'chat.send', text: 'hi' }), { type: 'chat.send', text: 'hi' });
    assert.deepEqual(ok({ type: 'quality', video: 'hd' }), { type: 'quality', video: 'hd' });
    assert.deepEqual(ok({ type: 'ui', side: true }), { type: 'ui', side: true, controls: undefined, muteChat: undefined });
  });

  test('bad commands are refused with a reason, keeping the id for the reply', () => {
    const bad = (data: object, pattern: RegExp) => {
      const p = parseCommand({ neko: 1, id: '7', ...data });
      assert.ok(p && !p.ok, `${JSON.stringify(data)} accepted`);
      assert.equal(p.id, '7');
      assert.match(p.error, pattern);
    };
    bad({ type: 'reboot' }, /unknown command/);
    bad({ type: 'login', username: 'a' }, /password/);
    bad({ type: 'login', username: 'a'.repeat(LIMITS.name + 1), password: 'b' }, /username/);
    bad({ type: 'login', share: '' }, /share/);
    bad({ type: 'login', share: 'x'.repeat(LIMITS.token + 1) }, /share/);
    bad({ type: 'volume', volume: 101 }, /volume/);
    bad({ type: 'volume', volume: Number.NaN }, /volume/);
    bad({ type: 'volume', volume: '50' }, /volume/);
    bad({ type: 'volume' }, /volume/);
    bad({ type: 'fullscreen', on: 'yes' }, /on/);
    bad({ type: 'chat.send', text: '   ' }, /empty/);
    bad({ type: 'chat.send', text: 'x'.repeat(LIMITS.chat + 1) }, /text/);
    bad({ type: 'chat.send', text: { toString: 'x' } }, /text/);
    bad({ type: 'quality', video: '' }, /empty/);
    bad({ type: 'ui' }, /side/);
    bad({ type: 'ui', side: 1 }, /side/);
  });

  test('another version or a bad id is refused', () => {
    const v2 = parseCommand({ neko: 2, id: 'a', type: 'logout' });
    assert.ok(v2 && !v2.ok && /version/.test(v2.error) && v2.id === 'a');
    const longId = parseCommand({ neko: 1, id: 'x'.repeat(LIMITS.id + 1), type: 'logout' });
    assert.ok(longId && !longId.ok && longId.id === undefined);
    const numId = parseCommand({ neko: 1, id: 5, type: 'logout' });
    assert.ok(numId && !numId.ok);
  });
});

describe('embed protocol: origins', () => {
  const self = 'https://neko.example';
  test('own origin always; others only when listed, exactly', () => {
    assert.equal(originAllowed(self, [], self), true);
    assert.equal(originAllowed('https://evil.example', [], self), false);
    assert.equal(originAllowed('https://app.example', ['https://app.example'], self), true);
    assert.equal(originAllowed('https://app.example', ['https://app.example/'], self), true);
    assert.equal(originAllowed('http://app.example', ['https://app.example'], self), false);
    assert.equal(originAllowed('https://app.example:8443', ['https://app.example'], self), false);
    assert.equal(originAllowed('https://app.example.evil', ['https://app.example'], self), false);
    assert.equal(originAllowed('null', ['https://app.example'], self), false);
    assert.equal(originAllowed('https://any.example', ['*'], self), true);
    assert.equal(originAllowed('null', ['*'], self), true);
  });

  test("replies go to the parent's origin, never to '*' unless the list is '*'", () => {
    assert.equal(targetOrigin('https://app.example', ['https://app.example'], self), 'https://app.example');
    assert.equal(targetOrigin('https://evil.example', ['https://app.example'], self), null);
    assert.equal(targetOrigin(null, ['https://app.example'], self), null);
    assert.equal(targetOrigin(null, ['*'], self), '*');
    assert.equal(targetOrigin('https://x.example', ['*'], self), 'https://x.example');
    assert.equal(targetOrigin(self, [], self), self);
  });
});

describe('embed protocol: messages from the viewer', () => {
  test('replies and known events pass; anything else is dropped', () => {
    assert.deepEqual(parseViewerMessage({ neko: 1, type: 'reply', id: '1', ok: true }), { neko: 1, type: 'reply', id: '1', ok: true });
    assert.deepEqual(parseViewerMessage({ neko: 1, type: 'reply', id: '1', ok: false, error: 'no' }), { neko: 1, type: 'reply', id: '1', ok: false, error: 'no' });
    assert.equal(parseViewerMessage({ neko: 1, type: 'reply', ok: true }), null);
    assert.equal(parseViewerMessage({ neko: 1, type: 'host', hostId: null, isHost: false })?.type, 'host');
    assert.equal(parseViewerMessage({ neko: 1, type: 'surprise' }), null);
    assert.equal(parseViewerMessage({ neko: 2, type: 'ready' }), null);
    assert.equal(parseViewerMessage('ready'), null);
  });
});
