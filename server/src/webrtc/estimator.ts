/**
 * Bandwidth-driven stream stepping for `auto` video (contract §9.2, §11.6 `webrtc.estimator.*`).
 * Pure decision logic; time is passed in, so the rules are testable without timers.
 *
 * The estimate comes from the packet loss the viewer reports in its RTCP receiver reports
 * (LossBasedRate). The receiver-side delay estimates werift can read (REMB, and its own
 * transport-wide-cc evaluation) were measured far below the rate actually delivered without
 * loss on loopback (15–80 kbit/s for 1.5 Mbit/s), so stepping on them would always go down.
 */

export interface EstimatorSettings {
  /** bit/s assumed until the first estimate arrives. */
  initialBitrate: number;
  /** Estimate above the next stream for this long → step up. */
  stableMs: number;
  /** Estimate below the current stream for this long → step down. */
  unstableMs: number;
  /** No feedback for this long → step down (reports stopped coming: the link is choking). */
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
  /** A new estimate in bit/s, or null when no feedback arrived since the last reading. */
  estimate: number | null;
  /** Bitrate (bit/s) of the stream being sent. */
  current: number;
  /** Bitrate (bit/s) of the next higher stream; null when already at the top. */
  higher: number | null;
  /** False at the lowest stream (nothing to step down to). */
  canLower: boolean;
}

/**
 * Loss-based rate control in the manner of GCC's loss controller: grow 5 % per report with
 * under 2 % loss, hold between 2 and 10 %, shrink by half the loss fraction above 10 %.
 */
export class LossBasedRate {
  constructor(
    private rate: number,
    /** Growth stops here: a clean link would otherwise inflate the estimate without bound. */
    private readonly max: number,
  ) {}

  /** Applies the loss fraction (0..1) of one report interval; returns the new estimate (bit/s). */
  update(loss: number): number {
    if (loss > 0.1) this.rate *= 1 - 0.5 * loss;
    else if (loss < 0.02) this.rate = Math.min(this.max, this.rate * 1.05);
    return this.rate;
  }
}

export class StreamEstimator {
  private estimate: number;
  private feedbackAt: number;
  /** Upgrades need real feedback; the initial bitrate is only a guess. */
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
    this.feedbackAt = start;
  }

  /** The estimate the last decision was based on (bit/s). */
  get bitrate(): number {
    return this.estimate;
  }

  /** Takes one reading and returns the step to take now, if any. */
  update(r: Reading): Step | null {
    const s = this.settings;
    if (r.estimate !== null) {
      this.estimate = r.estimate;
      this.feedbackAt = r.now;
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

    if (r.now - this.feedbackAt >= s.stalledMs && r.canLower && sinceDowngrade >= s.downgradeBackoffMs) {
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

  /**
   * Nothing was sent since the last reading (a paused capture on a still screen): receivers
   * report nothing about a silent stream, which must not count as a stall, and the stall
   * window starts again when the stream does.
   */
  idle(now: number): void {
    this.feedbackAt = now;
    this.aboveSince = this.belowSince = null;
  }

  private stepped(step: Step, now: number): Step {
    if (step === 'lower') this.lastDowngrade = now;
    else this.lastUpgrade = now;
    this.aboveSince = this.belowSince = null;
    // A new stream needs its own stall window before it can be judged stalled.
    this.feedbackAt = now;
    return step;
  }
}
