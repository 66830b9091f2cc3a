import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseSelectorType, selectStream, type StreamState } from '../../../server/src/webrtc/selector.js';

// Contract §9.2: ids run from highest to lowest quality.
const STREAMS: StreamState[] = [
  { id: 'hq', running: true, bitrate: 3_000_000 },
  { id: 'mq', running: true, bitrate: 1_000_000 },
  { id: 'lq', running: true, bitrate: 300_000 },
];
const pick = (type: string, id = '', bitrate = 0, streams = STREAMS) => selectStream(streams, { type: parseSelectorType(type)!, id, bitrate });

describe('stream selector (contract §9.2)', () => {
  test('types are case-insensitive; "" means exact; anything else is refused', () => {
    assert.equal(parseSelectorType(''), 'exact');
    assert.equal(parseSelectorType('EXACT'), 'exact');
    assert.equal(parseSelectorType('Nearest'), 'nearest');
    assert.equal(parseSelectorType('lower'), 'lower');
    assert.equal(parseSelectorType('HIGHER'), 'higher');
    assert.equal(parseSelectorType('best'), null);
  });

  test('by id: exact and nearest name the stream; unknown ids fail', () => {
    assert.equal(pick('exact', 'mq'), 'mq');
    assert.equal(pick('nearest', 'lq'), 'lq');
    assert.equal(pick('exact', 'nope'), null);
    assert.equal(pick('lower', 'nope'), null);
  });

  test('by id: lower is the next entry, higher the previous one, none past the ends', () => {
    assert.equal(pick('lower', 'hq'), 'mq');
    assert.equal(pick('lower', 'mq'), 'lq');
    assert.equal(pick('lower', 'lq'), null);
    assert.equal(pick('higher', 'lq'), 'mq');
    assert.equal(pick('higher', 'hq'), null);
  });

  test('by id the streams need not be running', () => {
    const idle = STREAMS.map((s) => ({ ...s, running: false, bitrate: 0 }));
    assert.equal(pick('exact', 'lq', 0, idle), 'lq');
    assert.equal(pick('higher', 'lq', 0, idle), 'mq');
  });

  test('by bitrate: exact needs an equal measurement', () => {
    assert.equal(pick('exact', '', 1_000_000), 'mq');
    assert.equal(pick('exact', '', 1_000_001), null);
  });

  test('by bitrate: nearest takes the highest not above, else the closest above', () => {
    assert.equal(pick('nearest', '', 2_000_000), 'mq');
    assert.equal(pick('nearest', '', 3_000_000), 'hq');
    assert.equal(pick('nearest', '', 99_000_000), 'hq');
    assert.equal(pick('nearest', '', 100_000), 'lq');
    assert.equal(pick('nearest', '', 0), 'lq');
  });

  test('by bitrate: nearest with nothing measured is the first id', () => {
    const idle = STREAMS.map((s) => ({ ...s, running: false }));
    assert.equal(pick('nearest', '', 500_000, idle), 'hq');
    assert.equal(pick('exact', '', 300_000, idle), null, 'exact needs a running stream');
  });

  test('by bitrate: only running streams with a measurement count', () => {
    const streams = [STREAMS[0]!, { ...STREAMS[1]!, running: false }, { ...STREAMS[2]!, bitrate: 0 }];
    assert.equal(pick('nearest', '', 2_000_000, streams), 'hq', 'mq is not running and lq not measured');
    assert.equal(pick('lower', '', 2_000_000, streams), null);
  });

  test('by bitrate: lower scans from the last id, higher from the first', () => {
    assert.equal(pick('lower', '', 2_000_000), 'lq', 'first from the end below 2 Mbit/s');
    assert.equal(pick('lower', '', 300_000), null, 'nothing strictly below');
    assert.equal(pick('higher', '', 500_000), 'hq', 'first from the start above 500 kbit/s');
    assert.equal(pick('higher', '', 3_000_000), null, 'nothing strictly above');
  });
});
