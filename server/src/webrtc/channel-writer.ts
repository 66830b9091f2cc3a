/** What the writer needs of a data channel (werift's RTCDataChannel). */
export interface WritableChannel {
  readonly readyState: string;
  readonly bufferedAmount: number;
  bufferedAmountLowThreshold: number;
  readonly bufferedAmountLow: { subscribe(fn: () => void): { unSubscribe(): void } };
  send(data: Buffer): void;
}

export interface ChannelWriterOptions {
  /**
   * A plain message that would take the channel's backlog past this many bytes is dropped
   * (one larger than this still goes out when the backlog is empty).
   */
  maxBuffered: number;
  /** Latest-value messages are written only while the backlog is at most this many bytes. */
  lowWater: number;
  /** A write werift refused (e.g. larger than the remote's max-message-size). */
  onError(err: unknown): void;
}

/**
 * Bounded writes to one data channel. werift's SCTP send path costs more per queued
 * message the longer its queue is (a few thousand small messages stall the event loop
 * for seconds), so the backlog is capped: plain messages past the cap are dropped, and
 * messages where only the newest matters (cursor image, cursor position) wait in one
 * slot per kind, replaced by newer ones, until the channel drains.
 */
export class ChannelWriter {
  private readonly latest = new Map<string, Uint8Array>();
  private readonly subscription: { unSubscribe(): void };
  private closed = false;

  constructor(
    private readonly channel: WritableChannel,
    private readonly opts: ChannelWriterOptions,
  ) {
    channel.bufferedAmountLowThreshold = opts.lowWater;
    this.subscription = channel.bufferedAmountLow.subscribe(() => this.drain());
  }

  /** Writes now or drops; false when dropped (channel not open, backed up, or refused). */
  send(bytes: Uint8Array): boolean {
    if (!this.open) return false;
    const backlog = this.channel.bufferedAmount;
    if (backlog > 0 && backlog + bytes.length > this.opts.maxBuffered) return false;
    return this.write(bytes);
  }

  /**
   * Writes `bytes` as soon as the channel has room; until then a later message of the same
   * `kind` replaces it. Kinds are written in the order they were last queued.
   */
  sendLatest(kind: string, bytes: Uint8Array): void {
    if (!this.open) return;
    this.latest.delete(kind);
    this.latest.set(kind, bytes);
    this.drain();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.latest.clear();
    this.subscription.unSubscribe();
  }

  private get open(): boolean {
    return !this.closed && this.channel.readyState === 'open';
  }

  private drain(): void {
    for (const [kind, bytes] of this.latest) {
      if (!this.open || this.channel.bufferedAmount > this.opts.lowWater) return;
      this.latest.delete(kind);
      this.write(bytes);
    }
  }

  private write(bytes: Uint8Array): boolean {
    try {
      this.channel.send(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
      return true;
    } catch (err) {
      this.opts.onError(err);
      return false;
    }
  }
}
