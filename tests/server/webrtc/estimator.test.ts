import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { LossBasedRate, StreamEstimator, type EstimatorSettings, type Reading } from '../../../server/src/webrtc/estimator.js';

// The contract's defaults (§11.6), in ms.
const SETTINGS: EstimatorSettings = {
  initialBitrate: 1_000_000,
  stableMs: 12_000,
  unstableMs: 6_000,
  stalledMs: 24_000,
  downgradeBackoffMs: 10_000,
  upgradeBackoffMs: 5_000,
  diffThreshold: 0.15,
};

/** Feeds one reading every 2 s (the default read interval) until `until`; returns the steps. */
function run(est: StreamEstimator, from: number, until: number, reading: (now: number) => Omit<Reading, 'now'>) {
  const steps: Array<[number, string]> = [];
  for (let now = from; now <= until; now += 2000) {
    const step = est.update({ now, ...reading(now) });
    if (step) steps.push([now, step]);
  }
  return steps;
}

const MID = { current: 1_000_000, higher: 3_000_000, canLower: true };

describe('bandwidth estimator', () => {
  test('an estimate well below the stream steps down after the unstable duration', () => {
    const est = new StreamEstimator(SETTINGS, 0);
    const steps = run(est, 2000, 20_000, (now) => ({ ...MID, estimate: 500_000 + now }));
    assert.deepEqual(steps[0], [8000, 'lower'], 'low since 2 s, 6 s later');
  });

  test('a stable estimate above the next stream steps up after the stable duration', () => {
    const est = new StreamEstimator(SETTINGS, 0);
    const steps = run(est, 2000, 30_000, (now) => ({ ...MID, estimate: 4_000_000 + now }));
    assert.deepEqual(steps[0], [14_000, 'higher']);
  });

  test('estimates within the threshold change nothing', () => {
    const est = new StreamEstimator(SETTINGS, 0);
    // 900 kbit/s is within 15 % of 1 Mbit/s; 3.3 Mbit/s is within 15 % of 3 Mbit/s.
    assert.deepEqual(run(est, 2000, 20_000, (now) => ({ ...MID, estimate: (now / 2000) % 2 ? 900_000 : 3_300_000 })), []);
  });

  test('a dip that recovers before the unstable duration is forgiven', () => {
    const est = new StreamEstimator(SETTINGS, 0);
    const steps = run(est, 2000, 20_000, (now) => ({ ...MID, estimate: now % 8000 === 0 ? 1_000_000 + now : 400_000 + now }));
    assert.deepEqual(steps, []);
  });

  test('after a step down the backoff delays the next step', () => {
    const est = new StreamEstimator(SETTINGS, 0);
    const steps = run(est, 2000, 40_000, (now) => ({ ...MID, estimate: 100_000 + now }));
    assert.deepEqual(steps.slice(0, 2), [[8000, 'lower'], [18_000, 'lower']]);
  });

  test('no feedback for the stalled duration steps down', () => {
    const est = new StreamEstimator(SETTINGS, 0);
    // One report at 2 s, then the receiver goes quiet.
    const steps = run(est, 2000, 40_000, (now) => ({ ...MID, estimate: now === 2000 ? 1_000_000 : null }));
    assert.deepEqual(steps[0], [26_000, 'lower']);
  });

  test('a stream that sends nothing (capture paused on a still screen) is not stalled', () => {
    const est = new StreamEstimator(SETTINGS, 0);
    assert.deepEqual(run(est, 2000, 2000, () => ({ ...MID, estimate: 1_000_000 })), []);
    // A minute of a still screen: no packets, so no reports; the manager calls idle() instead of update().
    for (let now = 4000; now <= 64_000; now += 2000) est.idle(now);
    // The screen changes again: the stall window starts over from there.
    const steps = run(est, 66_000, 120_000, (now) => ({ ...MID, estimate: now === 70_000 ? 1_000_000 : null }));
    assert.deepEqual(steps[0], [94_000, 'lower'], 'stalled only 24 s after the last report, not at once');
  });

  test('steady feedback at the same value is not a stall', () => {
    const est = new StreamEstimator(SETTINGS, 0);
    assert.deepEqual(run(est, 2000, 60_000, () => ({ ...MID, estimate: 1_000_000 })), []);
  });

  test('without feedback the initial bitrate never steps up, and the stall steps down', () => {
    const est = new StreamEstimator({ ...SETTINGS, initialBitrate: 5_000_000 }, 0);
    assert.equal(est.bitrate, 5_000_000);
    const steps = run(est, 2000, 60_000, () => ({ ...MID, estimate: null }));
    // Each step restarts the stall clock: the new stream gets its own 24 s.
    assert.deepEqual(steps, [[24_000, 'lower'], [48_000, 'lower']]);
  });

  test('an initial bitrate below the stream steps down like a low estimate', () => {
    const est = new StreamEstimator({ ...SETTINGS, initialBitrate: 200_000 }, 0);
    assert.deepEqual(run(est, 2000, 10_000, () => ({ ...MID, estimate: null }))[0], [8000, 'lower']);
  });

  test('nothing to step to means no step', () => {
    const est = new StreamEstimator(SETTINGS, 0);
    assert.deepEqual(run(est, 2000, 40_000, (now) => ({ current: 1_000_000, higher: null, canLower: false, estimate: (now % 4000) + 10 })), []);
  });
});

describe('loss-based rate', () => {
  test('grows 5 % per clean report up to the cap', () => {
    const rate = new LossBasedRate(1_000_000, 1_200_000);
    assert.equal(rate.update(0), 1_050_000);
    assert.equal(rate.update(0.01), 1_102_500);
    assert.equal(rate.update(0), 1_157_625);
    assert.equal(rate.update(0), 1_200_000);
    assert.equal(rate.update(0), 1_200_000);
  });

  test('holds between 2 and 10 % loss and shrinks above', () => {
    const rate = new LossBasedRate(1_000_000, 5_000_000);
    assert.equal(rate.update(0.05), 1_000_000);
    assert.equal(rate.update(0.1), 1_000_000);
    assert.equal(rate.update(0.2), 900_000);
    assert.equal(rate.update(1), 450_000);
  });
});
