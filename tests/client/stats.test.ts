import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { deriveStats, readStats, type StatsSample } from '../../client/src/stats.js';

/** A Chromium-like receiver report: transport, the selected pair, the codec and inbound video/audio. */
function report(over: Record<string, unknown> = {}, rtt: number | null = 0.02) {
  return [
    { id: 'T01', type: 'transport', selectedCandidatePairId: 'CP1' },
    { id: 'CP1', type: 'candidate-pair', state: 'succeeded', nominated: true, currentRoundTripTime: rtt },
    { id: 'CIT01_96', type: 'codec', mimeType: 'video/VP8' },
    { id: 'IA', type: 'inbound-rtp', kind: 'audio', framesDecoded: 0, bytesReceived: 999_999 },
    {
      id: 'IV', type: 'inbound-rtp', kind: 'video', codecId: 'CIT01_96', framesDecoded: 250, bytesReceived: 1_000_000,
      packetsReceived: 1000, packetsLost: 0, jitterBufferDelay: 10, jitterBufferEmittedCount: 250,
      totalDecodeTime: 1, frameWidth: 1280, frameHeight: 720, framesPerSecond: 25, ...over,
    },
  ];
}

describe('stats', () => {
  it('reads the video counters, the selected pair\'s round trip and the codec', () => {
    const s = readStats(report(), 1000)!;
    assert.equal(s.framesDecoded, 250);
    assert.equal(s.roundTrip, 0.02);
    assert.equal(s.codec, 'VP8');
    assert.equal(s.width, 1280);
    assert.equal(readStats(report().filter((e) => e.id !== 'IV'), 0), null, 'no inbound video, nothing to show');
  });

  it('rates come from the difference between two reports', () => {
    const a = readStats(report(), 1000)!;
    // Two seconds later: 50 more frames, 500 kB, 10 of 200 packets lost, 40 ms buffer and 5 ms decode per frame.
    const b = readStats(
      report({ framesDecoded: 300, bytesReceived: 1_500_000, packetsReceived: 1190, packetsLost: 10, jitterBufferDelay: 12, jitterBufferEmittedCount: 300, totalDecodeTime: 1.25 }),
      3000,
    )!;
    const v = deriveStats(a, b, null);
    assert.equal(v.fps, 25);
    assert.equal(v.bitrateKbps, 2000);
    assert.equal(v.lossPercent, 5);
    assert.ok(Math.abs(v.jitterBufferMs! - 40) < 1e-9);
    assert.ok(Math.abs(v.decodeMs! - 5) < 1e-9);
    assert.ok(Math.abs(v.roundTripMs! - 20) < 1e-9);
    assert.ok(Math.abs(v.latencyMs! - (10 + 40 + 5)) < 1e-9, 'half the round trip + jitter buffer + decode');
  });

  it('the first report uses the browser\'s own frame rate and averages over all time; the channel RTT stands in for ICE\'s', () => {
    const first = readStats(report({}, null), 0)!;
    const v = deriveStats(null, first, 30);
    assert.equal(v.fps, 25);
    assert.equal(v.bitrateKbps, null);
    assert.equal(v.lossPercent, null);
    assert.equal(v.jitterBufferMs, 40);
    assert.equal(v.roundTripMs, 30);
    assert.equal(v.latencyMs, 15 + 40 + 4);
  });

  it('a new peer (counters back to zero) is not a negative rate', () => {
    const old: StatsSample = readStats(report(), 0)!;
    const fresh = readStats(report({ framesDecoded: 10, bytesReceived: 1000, framesPerSecond: 24 }), 1000)!;
    const v = deriveStats(old, fresh, null);
    assert.equal(v.fps, 24);
    assert.equal(v.bitrateKbps, null);
  });
});
