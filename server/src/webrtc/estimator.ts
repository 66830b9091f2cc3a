/**
 * Bandwidth-driven stream stepping for `auto` video (contract §9.2, §11.6 `webrtc.estimator.*`).
 * Pure decision logic: the peer feeds it the receiver's bandwidth estimate at every read
 * interval together with the bitrates of the current stream and the one above it, and acts
 * on the step it returns. Time is passed in, so the rules are testable without timers.
 */

export interface EstimatorSettings {
  /** bit/s assumed until the first estimate arrives. */
  initialBitrate: number;
  /** Estimate above the next stream for this long → step up. */
  stableMs: number;
  /** Estimate below the current stream for this long → step down. */
  unstableMs: number;
  /** No new estimate for this long → step down (feedback stopped: the link is choking). */
  stalledMs: number;
  /** Minimum time after a step down before any further step. */
  downgradeBackoffMs: number;
  /** Minimum time after a step up before stepping up again. */
  upgradeBackoffMs: number;
  /** Relative margin (0..1) an estimate must clear to count as above or below a bitrate. */
  diffThreshold: number;
}

export type Step = 'lower' | 'higher';

export interface Reading {
  now: number;
  /** Latest receiver estimate in bit/s, or null when the receiver sent none yet. */
  estimate: number | null;
  /** Bitrate (bit/s) of the stream being sent. */
  current: number;
  /** Bitrate (bit/s) of the next higher stream; null when already at the top. */
  higher: number | null;
  /** False at the lowest stream (nothing to step down to). */
  canLower: boolean;
}

export class StreamEstimator {
  private estimate: number;
  private estimateChangedAt: number;
  /** Upgrades need a real measurement; the initial bitrate is only a guess. */
  private measured = false;
  private aboveSince: number | null = null;
  private belowSince: number | null = null;
  private lastDowngrade = -Infinity;
  private lastUpgrade = -Infinity;

  constructor(
    private readonly settings: EstimatorSettings,
    start: number,
  ) {
    this.estimate = settings.initialBitrate;
    this.estimateChangedAt = start;
  }

  /** The estimate the last decision was based on (bit/s). */
  get bitrate(): number {
    return this.estimate;
  }

  /** Takes one reading and returns the step to take now, if any. */
  update(r: Reading): Step | null {
    const s = this.settings;
    if (r.estimate !== null && r.estimate !== this.estimate) {
      this.estimate = r.estimate;
      this.estimateChangedAt = r.now;
      this.measured = true;
    }
    const sinceDowngrade = r.now - this.lastDowngrade;

    if (this.estimate < r.current * (1 - s.diffThreshold)) {
      this.aboveSince = null;
      this.belowSince ??= r.now;
      if (r.now - this.belowSince >= s.unstableMs && r.canLower && sinceDowngrade >= s.downgradeBackoffMs) {
        return this.stepped('lower', r.now);
      }
    } else {
      this.belowSince = null;
    }

    if (r.now - this.estimateChangedAt >= s.stalledMs && r.canLower && sinceDowngrade >= s.downgradeBackoffMs) {
      return this.stepped('lower', r.now);
    }

    if (this.measured && r.higher !== null && this.estimate > r.higher * (1 + s.diffThreshold)) {
      this.aboveSince ??= r.now;
      const settled = r.now - this.aboveSince >= s.stableMs;
      if (settled && r.now - this.lastUpgrade >= s.upgradeBackoffMs && sinceDowngrade >= s.downgradeBackoffMs) {
        return this.stepped('higher', r.now);
      }
    } else {
      this.aboveSince = null;
    }
    return null;
  }

  private stepped(step: Step, now: number): Step {
    if (step === 'lower') this.lastDowngrade = now;
    else this.lastUpgrade = now;
    this.aboveSince = this.belowSince = null;
    // A new stream needs its own stall window before it can be judged stalled.
    this.estimateChangedAt = now;
    return step;
  }
}
