import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { loadConfig } from '../../../server/src/config/index.js';
import { silentLogger } from '../../../server/src/log.js';
import { fullProfile } from '../../../server/src/members/types.js';
import { SessionManager } from '../../../server/src/sessions/manager.js';
import { initialSettings } from '../../../server/src/sessions/settings.js';
import type { SessionPeer } from '../../../server/src/sessions/types.js';

/** A peer whose close takes as long as the test wants: the real one awaits werift's teardown. */
class SlowClosingPeer implements SessionPeer {
  closeCalls = 0;
  private finish!: () => void;
  readonly closed = new Promise<void>((resolve) => (this.finish = resolve));
  send(): void {}
  setPaused(): void {}
  close(): Promise<void> {
    this.closeCalls++;
    return this.closed;
  }
  finishClose(): void {
    this.finish();
  }
}

function manager(): SessionManager {
  return new SessionManager({ settings: initialSettings(loadConfig([], {}).session), apiToken: '', logger: silentLogger() });
}

describe('SessionManager.close()', () => {
  test('resolves only after every peer finished closing, including ones deleted earlier', async () => {
    const sessions = manager();
    const live = new SlowClosingPeer();
    const deleted = new SlowClosingPeer();
    sessions.create('a', fullProfile('a')).peer = live;
    const b = sessions.create('b', fullProfile('b'));
    b.peer = deleted;
    sessions.delete(b);
    assert.equal(deleted.closeCalls, 1, 'delete starts the peer close');

    let done = false;
    const closing = sessions.close().then(() => (done = true));
    assert.equal(live.closeCalls, 1, 'close starts the live peer close');
    live.finishClose();
    await live.closed;
    // Barrier: a macrotask lets every settled promise chain run before we look.
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(done, false, 'still waiting for the peer deleted earlier');
    deleted.finishClose();
    await closing;
    assert.equal(done, true);
  });

  test('a failing peer close is logged, not thrown; close is idempotent', async () => {
    const sessions = manager();
    sessions.create('a', fullProfile('a')).peer = {
      send() {},
      setPaused() {},
      close: () => Promise.reject(new Error('boom')),
    };
    await sessions.close();
    await sessions.close();
  });
});
