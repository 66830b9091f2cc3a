import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isFinalDisconnect, reconnectDelay, SERVER_SHUTDOWN } from '../../client/src/socket.js';

describe('socket reconnection rules', () => {
  it('backs off exponentially up to a cap', () => {
    assert.deepEqual([0, 1, 2, 3, 4, 5, 10].map(reconnectDelay), [500, 1000, 2000, 4000, 8000, 8000, 8000]);
  });

  it('a shutting-down server is worth waiting for; other disconnects are final', () => {
    assert.equal(isFinalDisconnect(SERVER_SHUTDOWN), false);
    for (const m of ['session deleted', 'session not found', 'connection replaced', 'session disconnected']) assert.equal(isFinalDisconnect(m), true, m);
  });
});
