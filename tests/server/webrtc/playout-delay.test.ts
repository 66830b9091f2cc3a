import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { withPlayoutDelay } from '../../../server/src/webrtc/playout-delay.js';

describe('playout-delay header extension', () => {
  test('adds a one-byte extension with min = max = 0 and keeps the packet intact', () => {
    // V=2, PT 96, seq 1, ts 2, ssrc 3, payload 01..05; written by hand.
    const packet = Buffer.from('8060000100000002000000030102030405', 'hex');
    const out = withPlayoutDelay(packet, 5).serialize();
    assert.equal(
      out.toString('hex'),
      // X bit set; profile 0xBEDE, 1 word; id 5, length 3 (L=2), three zero bytes.
      '906000010000000200000003' + 'bede0001' + '52000000' + '0102030405',
    );
  });

  test('replaces an extension already carrying the id', () => {
    const packet = Buffer.from('906000010000000200000003bede000152ffffff0102', 'hex');
    assert.equal(withPlayoutDelay(packet, 5).serialize().toString('hex'), '906000010000000200000003bede0001520000000102');
  });
});
