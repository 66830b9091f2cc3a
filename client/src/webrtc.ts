import type { IceCandidate, ServerEvents } from './protocol.js';
import type { Socket } from './socket.js';

export type PeerState = RTCPeerConnectionState | 'none';

export interface PeerEvents {
  stream(stream: MediaStream): void;
  dataChannel(channel: RTCDataChannel): void;
  state(state: PeerState): void;
  /** The peer's stats report, once a second while it is up. */
  stats(report: RTCStatsReport): void;
}

const RETRY_MIN_MS = 1000;
const RETRY_MAX_MS = 10_000;
const STATS_INTERVAL_MS = 1000;

/**
 * The receiving peer and its signaling (protocol.md §7). The server always offers; we
 * answer. Signaling steps run strictly one after another so a candidate can never reach
 * the peer before the offer it belongs to has been applied.
 */
export class Viewer {
  private pc: RTCPeerConnection | undefined;
  private steps: Promise<void> = Promise.resolve();
  private awaitingProvide = false;
  private retryTimer: number | undefined;
  private retries = 0;
  private statsTimer: number | undefined;
  private decoded = 0;
  private microphone: MediaStreamTrack | null = null;
  private micSender: RTCRtpSender | undefined;

  constructor(
    private readonly socket: Socket,
    private readonly events: PeerEvents,
  ) {
    socket.on('signal/provide', (p) => this.enqueue(() => this.accept(p)));
    socket.on('signal/offer', (p) => this.enqueue(() => this.renegotiate(p.sdp)));
    socket.on('signal/restart', (p) => this.enqueue(() => this.renegotiate(p.sdp)));
    socket.on('signal/answer', (p) => this.enqueue(() => this.answered(p.sdp)));
    socket.on('signal/candidate', (c) => this.enqueue(() => this.addCandidate(c)));
    socket.on('signal/close', () => this.serverClosed());
  }

  /** Frames decoded by the current peer, refreshed from its stats once a second. */
  get framesDecoded(): number {
    return this.decoded;
  }

  request(): void {
    this.cancelRetry();
    this.teardown();
    this.awaitingProvide = this.socket.send('signal/request', { video: {}, audio: {} });
  }

  stop(): void {
    this.cancelRetry();
    this.retries = 0;
    this.awaitingProvide = false;
    this.teardown();
  }

  /**
   * Sends this track (a microphone) to the server, or stops sending with null. It is
   * negotiated by an offer of ours (protocol.md §7 step 7) and re-added to every new peer.
   */
  setMicrophone(track: MediaStreamTrack | null): void {
    this.microphone = track;
    this.enqueue(() => this.applyMicrophone());
  }

  private async applyMicrophone(): Promise<void> {
    const pc = this.pc;
    // Not negotiable now; accept() applies it once the peer is up.
    if (!pc || pc.signalingState !== 'stable' || !pc.remoteDescription) return;
    const track = this.microphone;
    if (track && this.micSender) {
      await this.micSender.replaceTrack(track);
      return;
    }
    if (track) {
      this.micSender = pc.addTrack(track, new MediaStream([track]));
    } else if (this.micSender) {
      pc.removeTrack(this.micSender);
      this.micSender = undefined;
    } else {
      return;
    }
    await pc.setLocalDescription(await pc.createOffer());
    if (this.pc !== pc || !pc.localDescription) return;
    this.socket.send('signal/offer', { sdp: pc.localDescription.sdp });
  }

  private async answered(sdp: string): Promise<void> {
    const pc = this.pc;
    if (!pc || pc.signalingState !== 'have-local-offer') return;
    await pc.setRemoteDescription({ type: 'answer', sdp });
  }

  private enqueue(step: () => Promise<void>): void {
    this.steps = this.steps.then(step).catch((err: unknown) => console.warn('signaling step failed', err));
  }

  private async accept({ sdp, iceservers }: ServerEvents['signal/provide']): Promise<void> {
    this.teardown();
    this.awaitingProvide = false;
    const pc = new RTCPeerConnection({ iceServers: iceservers ?? [] });
    this.pc = pc;
    const own = new MediaStream();

    pc.onicecandidate = (ev) => {
      // A null candidate, or an empty one, only marks the end of gathering.
      if (this.pc !== pc || !ev.candidate?.candidate) return;
      const c = ev.candidate.toJSON();
      this.socket.send('signal/candidate', {
        candidate: c.candidate ?? '',
        sdpMid: c.sdpMid,
        sdpMLineIndex: c.sdpMLineIndex,
        usernameFragment: c.usernameFragment,
      });
    };
    pc.ontrack = (ev) => {
      if (this.pc !== pc) return;
      const stream = ev.streams[0];
      if (stream) {
        this.events.stream(stream);
      } else {
        own.addTrack(ev.track);
        this.events.stream(own);
      }
    };
    pc.ondatachannel = (ev) => {
      if (this.pc === pc && ev.channel.label === 'data') this.events.dataChannel(ev.channel);
    };
    pc.onconnectionstatechange = () => {
      if (this.pc !== pc) return;
      this.events.state(pc.connectionState);
      if (pc.connectionState === 'connected') this.retries = 0;
      // The server closes its side too, but only tells us when it notices; don't wait.
      if (pc.connectionState === 'failed') this.retry();
    };
    this.events.state(pc.connectionState);
    this.statsTimer = window.setInterval(() => void this.pollStats(pc), STATS_INTERVAL_MS);

    try {
      await pc.setRemoteDescription({ type: 'offer', sdp });
      await this.answer(pc);
      if (this.microphone) this.enqueue(() => this.applyMicrophone());
    } catch (err) {
      if (this.pc !== pc) return;
      this.events.state('failed');
      this.retry();
      throw err;
    }
  }

  private async renegotiate(sdp: string): Promise<void> {
    const pc = this.pc;
    if (!pc) return;
    await pc.setRemoteDescription({ type: 'offer', sdp });
    await this.answer(pc);
  }

  private async answer(pc: RTCPeerConnection): Promise<void> {
    const answer = await pc.createAnswer();
    await pc.setLocalDescription(answer);
    if (this.pc !== pc || !pc.localDescription) return;
    this.socket.send('signal/answer', { sdp: pc.localDescription.sdp });
  }

  private async addCandidate(c: IceCandidate): Promise<void> {
    if (!this.pc || !c.candidate) return;
    await this.pc.addIceCandidate(c);
  }

  private serverClosed(): void {
    // A close that arrives between our request and its provide belongs to the peer the
    // request replaced; re-requesting then would destroy the new one and loop.
    if (this.awaitingProvide) return;
    // Our side may have noticed the failure first and already scheduled the retry.
    if (!this.pc && this.retryTimer !== undefined) return;
    this.retry();
  }

  private retry(): void {
    this.teardown();
    this.cancelRetry();
    const delay = Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** this.retries);
    this.retries++;
    this.retryTimer = window.setTimeout(() => {
      this.retryTimer = undefined;
      this.request();
    }, delay);
  }

  private cancelRetry(): void {
    window.clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
  }

  private teardown(): void {
    window.clearInterval(this.statsTimer);
    this.statsTimer = undefined;
    const pc = this.pc;
    if (!pc) return;
    this.pc = undefined;
    this.micSender = undefined;
    this.decoded = 0;
    pc.close();
    this.events.state('none');
  }

  private async pollStats(pc: RTCPeerConnection): Promise<void> {
    const report = await pc.getStats();
    if (this.pc !== pc) return;
    this.events.stats(report);
    report.forEach((s: { type?: string; kind?: string; framesDecoded?: number }) => {
      if (s.type === 'inbound-rtp' && s.kind === 'video' && typeof s.framesDecoded === 'number') {
        this.decoded = s.framesDecoded;
      }
    });
  }
}
