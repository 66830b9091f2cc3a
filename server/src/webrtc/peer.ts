import {
  MediaStream,
  MediaStreamTrack,
  RTCPeerConnection,
  RTCRtpCodecParameters,
  type RTCDataChannel,
  type RTCRtpSender,
} from 'werift';
import type { Logger } from '../log.js';

/** Codec facts the peer negotiates; the capture layer produces matching RTP. */
export interface PeerCodec {
  mimeType: string;
  clockRate: number;
  payloadType: number;
  channels?: number;
  fmtp?: string;
  rtcpFeedback?: readonly { type: string; parameter?: string }[];
}

/** An encoded stream a peer can forward (a capture RtpStream). */
export interface RtpSource {
  readonly id: string;
  readonly codec: PeerCodec;
  /** Each call of `fn` must get its own Buffer: werift rewrites the packet it sends. */
  subscribe(fn: (packet: Buffer) => void, onDiscontinuity?: () => void): () => void;
}

export interface IceCandidateJson {
  candidate: string;
  sdpMid?: string;
  sdpMLineIndex?: number;
  usernameFragment?: string;
}

export interface IceServer {
  urls: string[];
  username?: string;
  credential?: string;
}

export interface PeerOptions {
  video: RtpSource;
  audio: RtpSource | null;
  iceServers: IceServer[];
  portRange?: [number, number];
  /** werift skips loopback when gathering; list addresses to advertise anyway. */
  additionalHostAddresses: string[];
  /** Replaces host candidate addresses (NAT 1:1). */
  nat1to1: string[];
  /** false: the offer waits for gathering to finish and carries every candidate. */
  trickle: boolean;
  logger: Logger;
  onCandidate(candidate: IceCandidateJson): void;
  onData(bytes: Uint8Array): void;
  onDataOpen(): void;
  onConnected(): void;
  /** Called once, when the peer is gone for good (closed locally, failed or disconnected). */
  onClosed(): void;
}

const DATA_CHANNEL_LABEL = 'data';

function codecParameters(codec: PeerCodec): RTCRtpCodecParameters {
  return new RTCRtpCodecParameters({
    mimeType: codec.mimeType,
    clockRate: codec.clockRate,
    payloadType: codec.payloadType,
    channels: codec.channels,
    parameters: codec.fmtp,
    rtcpFeedback: [...(codec.rtcpFeedback ?? [])],
  });
}

/**
 * One viewer's WebRTC connection: server-offered, one video and one audio track in stream
 * `stream`, and the `data` channel. Media is forwarded from shared encoders only once the
 * connection is up, so the keyframe replay a subscription starts with is not dropped.
 */
export class Peer {
  private readonly pc: RTCPeerConnection;
  private readonly videoTrack = new MediaStreamTrack({ kind: 'video', id: 'video' });
  private readonly audioTrack = new MediaStreamTrack({ kind: 'audio', id: 'audio' });
  private readonly videoSender: RTCRtpSender;
  private readonly audioSender: RTCRtpSender | null = null;
  private readonly channel: RTCDataChannel;
  private video: RtpSource;
  private unsubscribeVideo: (() => void) | null = null;
  private unsubscribeAudio: (() => void) | null = null;
  /** Keeps the encoder warm between offer and connection so the first frame comes sooner. */
  private warmHold: (() => void) | null;
  private audioEnabled = true;
  private paused = false;
  private connected = false;
  private closed = false;
  private closing: Promise<void> | null = null;

  constructor(private readonly opts: PeerOptions) {
    this.video = opts.video;
    this.pc = new RTCPeerConnection({
      iceServers: opts.iceServers.map((s) => ({ urls: s.urls.join(','), username: s.username, credential: s.credential })),
      iceAdditionalHostAddresses: opts.additionalHostAddresses,
      icePortRange: opts.portRange,
      iceUseIpv6: false,
      // One transport for all m-lines: werift leaks the sockets of the transports that
      // bundling makes redundant, and one 5-tuple per viewer is all we need anyway.
      bundlePolicy: 'max-bundle',
      codecs: {
        video: [codecParameters(opts.video.codec)],
        audio: opts.audio ? [codecParameters(opts.audio.codec)] : [],
      },
    });
    const stream = new MediaStream({ id: 'stream' });
    this.videoSender = this.pc.addTransceiver(this.videoTrack, { direction: 'sendonly', streams: [stream] }).sender;
    if (opts.audio) {
      this.audioSender = this.pc.addTransceiver(this.audioTrack, { direction: 'sendonly', streams: [stream] }).sender;
    }
    this.channel = this.pc.createDataChannel(DATA_CHANNEL_LABEL, { ordered: true });
    this.channel.stateChanged.subscribe((state) => {
      if (state === 'open') opts.onDataOpen();
    });
    this.channel.onMessage.subscribe((data) => {
      if (typeof data !== 'string') opts.onData(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    });
    this.pc.onIceCandidate.subscribe((candidate) => {
      if (!candidate) return;
      const json = candidate.toJSON();
      opts.onCandidate({
        candidate: this.rewriteCandidate(json.candidate ?? ''),
        sdpMid: json.sdpMid ?? undefined,
        sdpMLineIndex: json.sdpMLineIndex ?? undefined,
        usernameFragment: json.usernameFragment ?? undefined,
      });
    });
    this.pc.connectionStateChange.subscribe((state) => this.onConnectionState(state));
    this.warmHold = opts.video.subscribe(() => {});
  }

  /** Creates the server offer (contract §7 step 2). */
  async createOffer(iceRestart = false): Promise<string> {
    const offer = await this.pc.createOffer({ iceRestart });
    await this.pc.setLocalDescription(offer);
    if (!this.opts.trickle) await this.gatheringComplete();
    return this.rewriteSdp(this.pc.localDescription!.sdp);
  }

  async setAnswer(sdp: string): Promise<void> {
    await this.pc.setRemoteDescription({ type: 'answer', sdp });
  }

  async addCandidate(candidate: IceCandidateJson): Promise<void> {
    await this.pc.addIceCandidate(candidate);
  }

  get signalingState(): string {
    return this.pc.signalingState;
  }

  get videoId(): string {
    return this.video.id;
  }

  /** Sends a binary message on the data channel; dropped while the channel is not open. */
  send(bytes: Uint8Array): void {
    if (this.closed || this.channel.readyState !== 'open') return;
    this.channel.send(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  }

  /** Switches the forwarded video stream (quality selection). */
  setVideo(source: RtpSource): void {
    if (source === this.video) return;
    this.video = source;
    if (this.connected) this.forwardVideo();
  }

  setAudioEnabled(enabled: boolean): void {
    if (this.audioEnabled === enabled) return;
    this.audioEnabled = enabled;
    if (this.connected) this.forwardAudio();
  }

  /** Stops (or resumes) forwarding all media while keeping the connection (private mode). */
  setPaused(paused: boolean): void {
    if (this.paused === paused) return;
    this.paused = paused;
    if (!this.connected) return;
    this.forwardVideo();
    this.forwardAudio();
  }

  private forwardVideo(): void {
    this.unsubscribeVideo?.();
    this.unsubscribeVideo = null;
    if (this.paused) return;
    // Seq/timestamp jump at a source change; werift re-bases them for continuity.
    const rebase = () => this.videoSender.replaceRTP({ sequenceNumber: 0, timestamp: 0 });
    rebase();
    this.unsubscribeVideo = this.video.subscribe((packet) => this.videoTrack.writeRtp(packet), rebase);
  }

  private forwardAudio(): void {
    this.unsubscribeAudio?.();
    this.unsubscribeAudio = null;
    const audio = this.opts.audio;
    const sender = this.audioSender;
    if (!audio || !sender || !this.audioEnabled || this.paused) return;
    const rebase = () => sender.replaceRTP({ sequenceNumber: 0, timestamp: 0 });
    this.unsubscribeAudio = audio.subscribe((packet) => this.audioTrack.writeRtp(packet), rebase);
  }

  private onConnectionState(state: string): void {
    this.opts.logger.debug({ state }, 'peer connection state');
    if (state === 'connected' && !this.connected && !this.closed) {
      this.connected = true;
      this.forwardVideo();
      this.forwardAudio();
      this.releaseWarmHold();
      this.opts.onConnected();
    } else if (state === 'disconnected' || state === 'failed' || state === 'closed') {
      this.close();
    }
  }

  private releaseWarmHold(): void {
    this.warmHold?.();
    this.warmHold = null;
  }

  private gatheringComplete(): Promise<void> {
    if (this.pc.iceGatheringState === 'complete') return Promise.resolve();
    return new Promise((resolve) => {
      const { unSubscribe } = this.pc.iceGatheringStateChange.subscribe((state) => {
        if (state === 'complete') {
          unSubscribe();
          resolve();
        }
      });
    });
  }

  private rewriteCandidate(candidate: string): string {
    const [nat] = this.opts.nat1to1;
    if (!nat) return candidate;
    // Host candidates carry the local address; NAT 1:1 publishes the public one instead.
    return candidate.replace(/^(candidate:\S+ \d+ \S+ \d+ )(\S+)( \d+ typ host)/, `$1${nat}$3`);
  }

  private rewriteSdp(sdp: string): string {
    if (!this.opts.nat1to1.length) return sdp;
    return sdp
      .split('\r\n')
      .map((line) => (line.startsWith('a=candidate:') ? `a=${this.rewriteCandidate(line.slice(2))}` : line))
      .join('\r\n');
  }

  /** Idempotent; tells the owner through `onClosed` exactly once; resolves once sockets are released. */
  close(): Promise<void> {
    if (this.closing) return this.closing;
    this.closed = true;
    this.releaseWarmHold();
    this.unsubscribeVideo?.();
    this.unsubscribeAudio?.();
    this.unsubscribeVideo = this.unsubscribeAudio = null;
    this.closing = this.pc.close().catch((err: unknown) => this.opts.logger.warn({ err }, 'peer close failed'));
    this.opts.onClosed();
    return this.closing;
  }
}
