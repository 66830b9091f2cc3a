import {
  MediaStream,
  MediaStreamTrack,
  RTCPeerConnection,
  RTCRtpCodecParameters,
  RTCRtpHeaderExtensionParameters,
  type RTCDataChannel,
  type RTCRtpSender,
  type RTCRtpTransceiver,
} from 'werift';
import type { Logger } from '../log.js';
import { ChannelWriter } from './channel-writer.js';
import type { IceMux, MuxRegistration } from './ice-mux.js';
import { PLAYOUT_DELAY_URI } from './playout-delay.js';
import { SrtpForwarder } from './srtp-forwarder.js';

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

/** How peers reach viewers; the same for every peer of the server. */
export interface PeerNetwork {
  portRange?: [number, number];
  /** werift skips loopback when gathering; list addresses to advertise anyway. */
  additionalHostAddresses: string[];
  /** Replaces host candidate addresses (NAT 1:1). */
  nat1to1: string[];
  /** false: offers wait for gathering to finish and carry every candidate. */
  trickle: boolean;
  /**
   * Without trickle, the longest wait for gathering (a dead STUN/TURN server holds it for
   * many seconds); the offer then carries the candidates found so far.
   */
  gatherTimeoutMs?: number;
  iceLite: boolean;
  /** Single-port ICE; with its UDP port on, the peer's own sockets stay on loopback behind it. */
  mux: IceMux | null;
}

export interface PeerOptions extends PeerNetwork {
  video: RtpSource;
  audio: RtpSource | null;
  /** Audio codec negotiated both ways (the capture codec; also what a microphone must send). */
  audioCodec: PeerCodec;
  iceServers: IceServer[];
  logger: Logger;
  onCandidate(candidate: IceCandidateJson): void;
  onData(bytes: Uint8Array): void;
  onDataOpen(): void;
  onConnected(): void;
  /** A client media track (microphone/webcam) arrived. */
  onTrack(track: MediaStreamTrack): void;
  /** werift wants a new offer/answer round; only called once the first one completed. */
  onNegotiationNeeded(): void;
  /** Called once, when the peer is gone for good (closed locally, failed or disconnected). */
  onClosed(): void;
}

/** What a pending operation of a peer rejects with once the peer is closed. */
export class PeerClosedError extends Error {
  constructor() {
    super('peer closed');
    this.name = 'PeerClosedError';
  }
}

/**
 * NAT 1:1: host candidates carry the local address; the public one is published instead.
 * Loopback stays: only a viewer on this machine can use it, and for that viewer it is right.
 */
export function rewriteHostCandidate(candidate: string, nat: string): string {
  return candidate.replace(/^(candidate:\S+ \d+ \S+ \d+ )(\S+)( \d+ typ host)/, (whole, head: string, address: string, tail: string) =>
    address.startsWith('127.') ? whole : `${head}${nat}${tail}`,
  );
}

const DATA_CHANNEL_LABEL = 'data';
/** Candidates held while an answer is awaited; a real client sends a handful. */
const MAX_PENDING_CANDIDATES = 64;
/**
 * Data-channel backlog bounds, in bytes. Every server message but the cursor image is
 * 7–19 bytes, and werift slows down with the number of queued messages rather than their
 * size: 8 KiB is a few hundred messages, which it drains without a noticeable stall.
 */
const DATA_MAX_BUFFERED = 8 << 10;
/** Cursor image and position wait (coalesced) until the backlog is down to this. */
const DATA_LOW_WATER = 1 << 10;
const DEFAULT_GATHER_TIMEOUT_MS = 5000;
/** Longest wait of close() for a pending setLocalDescription; werift's own STUN/TURN timeouts end it sooner. */
const CLOSE_AFTER_DESCRIBING_MS = 20_000;
/** RTCP sender and receiver reports: both carry the viewer's reception statistics. */
const RTCP_SR = 200;
const RTCP_RR = 201;

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

const ufragOf = (sdp: string): string | undefined => /^a=ice-ufrag:(\S+)/m.exec(sdp)?.[1];
const withoutCandidates = (sdp: string): string =>
  sdp
    .split('\r\n')
    .filter((line) => !line.startsWith('a=candidate:'))
    .join('\r\n');

/** The port of a host UDP candidate on 127.0.0.1 (the socket the mux relays to), else null. */
function loopbackUdpPort(candidate: string): number | null {
  const m = /^candidate:\S+ \d+ udp \d+ 127\.0\.0\.1 (\d+) typ host/i.exec(candidate);
  return m ? Number(m[1]) : null;
}

/** Resolves when `promise` settles or after `ms`, whichever comes first. */
function settledWithin(promise: Promise<void>, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    timer.unref();
    void promise.finally(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** Appends candidate attributes to every media section. */
function withCandidates(sdp: string, candidates: string[]): string {
  const extra = candidates.map((c) => `a=${c}`);
  const out: string[] = [];
  let inMedia = false;
  for (const line of sdp.split('\r\n')) {
    if (line === '') continue;
    if (line.startsWith('m=')) {
      if (inMedia) out.push(...extra);
      inMedia = true;
    }
    out.push(line);
  }
  if (inMedia) out.push(...extra);
  return `${out.join('\r\n')}\r\n`;
}

/**
 * One viewer's WebRTC connection: server-offered, one video and one audio track in stream
 * `stream`, and the `data` channel. Media is forwarded from shared encoders only once the
 * connection is up, so the keyframe replay a subscription starts with is not dropped.
 * The audio m-line is send-receive so a client can put its microphone on it.
 */
export class Peer {
  private readonly pc: RTCPeerConnection;
  private readonly videoTrack = new MediaStreamTrack({ kind: 'video', id: 'video' });
  private readonly audioTrack = new MediaStreamTrack({ kind: 'audio', id: 'audio' });
  private readonly videoTransceiver: RTCRtpTransceiver;
  private readonly videoSender: RTCRtpSender;
  private readonly audioSender: RTCRtpSender | null = null;
  private readonly videoOut: SrtpForwarder;
  private readonly audioOut: SrtpForwarder | null = null;
  private readonly channel: RTCDataChannel;
  private readonly writer: ChannelWriter;
  /** The peer's own sockets are reachable only through the mux (UDP mux on). */
  private readonly muxOnly: boolean;
  private muxRegistration: MuxRegistration | null = null;
  private video: RtpSource;
  private unsubscribeVideo: (() => void) | null = null;
  private unsubscribeAudio: (() => void) | null = null;
  /** Keeps the encoder warm between offer and connection so the first frame comes sooner. */
  private warmHold: (() => void) | null;
  private playoutDelayId: number | null = null;
  private pendingCandidates: IceCandidateJson[] = [];
  /** Highest video loss fraction reported since takePacketLoss(); null: no report. */
  private worstLoss: number | null = null;
  private _videoDisabled = false;
  private _audioEnabled = true;
  private paused = false;
  private connected = false;
  private negotiated = false;
  /** An ICE-restart offer awaits its answer. */
  private restarting = false;
  /** Candidates of the current gathering round, for an offer cut short by the gather timeout. */
  private gathered: string[] = [];
  private closed = false;
  private closing: Promise<void> | null = null;
  /**
   * The latest setLocalDescription, settled or not. werift binds the gathering sockets
   * inside it and registers each for closing only once bound: a connection closed meanwhile
   * keeps that socket (and its port) forever, so close() lets it finish first.
   */
  private describing: Promise<void> = Promise.resolve();
  /** Rejects with PeerClosedError on close(), so nothing awaits a closed connection forever. */
  private readonly closedSignal: Promise<never>;
  private signalClosed!: (err: PeerClosedError) => void;

  constructor(private readonly opts: PeerOptions) {
    this.video = opts.video;
    this.closedSignal = new Promise<never>((_, reject) => (this.signalClosed = reject));
    this.closedSignal.catch(() => {});
    this.muxOnly = opts.mux?.udpEnabled ?? false;
    this.pc = new RTCPeerConnection({
      iceServers: this.muxOnly
        ? []
        : opts.iceServers.map((s) => ({ urls: s.urls.join(','), username: s.username, credential: s.credential })),
      iceAdditionalHostAddresses: opts.additionalHostAddresses,
      icePortRange: this.muxOnly ? undefined : opts.portRange,
      // Behind the UDP mux only the loopback socket the mux relays to is needed.
      iceUseIpv4: !this.muxOnly,
      iceUseIpv6: false,
      iceInterfaceAddresses: this.muxOnly ? { udp4: '127.0.0.1' } : undefined,
      iceLite: opts.iceLite,
      // One transport for all m-lines: werift leaks the sockets of the transports that
      // bundling makes redundant, and one 5-tuple per viewer is all we need anyway.
      bundlePolicy: 'max-bundle',
      codecs: {
        video: [codecParameters(opts.video.codec)],
        audio: [codecParameters(opts.audioCodec)],
      },
      headerExtensions: { video: [new RTCRtpHeaderExtensionParameters({ id: 1, uri: PLAYOUT_DELAY_URI })], audio: [] },
    });
    const stream = new MediaStream({ id: 'stream' });
    this.videoTransceiver = this.pc.addTransceiver(this.videoTrack, { direction: 'sendonly', streams: [stream] });
    this.videoSender = this.videoTransceiver.sender;
    this.videoSender.onRtcp.subscribe((packet) => {
      if (packet.type !== RTCP_RR && packet.type !== RTCP_SR) return;
      for (const report of packet.reports) {
        if (report.ssrc === this.videoSender.ssrc) this.worstLoss = Math.max(this.worstLoss ?? 0, report.fractionLost / 256);
      }
    });
    this.videoOut = new SrtpForwarder(this.videoSender, { playoutDelayId: () => this.playoutDelayId });
    // werift answers NACKs only from its own send history, which the forwarder bypasses.
    this.videoSender.onGenericNack.subscribe((feedback) => this.videoOut.retransmit(feedback.lost));
    if (opts.audio) {
      this.audioSender = this.pc.addTransceiver(this.audioTrack, { direction: 'sendrecv', streams: [stream] }).sender;
      this.audioOut = new SrtpForwarder(this.audioSender, { playoutDelayId: () => null });
    }
    this.channel = this.pc.createDataChannel(DATA_CHANNEL_LABEL, { ordered: true });
    this.writer = new ChannelWriter(this.channel, {
      maxBuffered: DATA_MAX_BUFFERED,
      lowWater: DATA_LOW_WATER,
      onError: (err) => opts.logger.warn({ err }, 'data-channel message not sent'),
    });
    this.channel.stateChanged.subscribe((state) => {
      if (state === 'open') opts.onDataOpen();
    });
    this.channel.onMessage.subscribe((data) => {
      if (typeof data !== 'string') opts.onData(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    });
    this.pc.onIceCandidate.subscribe((candidate) => {
      if (!candidate || this.closed) return;
      if (!opts.trickle) this.gathered.push(candidate.toJSON().candidate ?? '');
      const loopbackPort = opts.mux ? loopbackUdpPort(candidate.candidate) : null;
      if (opts.mux && loopbackPort !== null) {
        this.muxRegistration ??= opts.mux.register(loopbackPort);
        this.registerUfrag();
      }
      // Without trickle the candidates travel in the description; behind the mux they are not used.
      if (this.muxOnly || !opts.trickle) return;
      const json = candidate.toJSON();
      opts.onCandidate({
        candidate: this.rewriteCandidate(json.candidate ?? ''),
        sdpMid: json.sdpMid ?? undefined,
        sdpMLineIndex: json.sdpMLineIndex ?? undefined,
        usernameFragment: json.usernameFragment ?? undefined,
      });
    });
    this.pc.onTrack.subscribe((track) => {
      if (!this.closed) opts.onTrack(track);
    });
    this.pc.onNegotiationneeded.subscribe(() => {
      if (this.negotiated && !this.closed && this.pc.signalingState === 'stable') opts.onNegotiationNeeded();
    });
    this.pc.connectionStateChange.subscribe((state) => this.onConnectionState(state));
    this.warmHold = opts.video.subscribe(() => {});
  }

  /**
   * A server offer: the initial one (contract §7 step 2), a renegotiation or an ICE restart.
   * Rejects with PeerClosedError when the peer is closed meanwhile.
   */
  async createOffer(iceRestart = false): Promise<string> {
    this.restarting ||= iceRestart;
    const offer = await this.whileOpen(this.pc.createOffer({ iceRestart }));
    this.gathered = [];
    // werift's setLocalDescription itself waits for gathering to end.
    const applied = this.describe(offer);
    if (this.opts.trickle) {
      await this.whileOpen(applied);
      return this.localSdp();
    }
    const complete = await this.whileOpen(this.withinGatherTimeout(applied.then(() => this.gatheringComplete())));
    return this.localSdp(complete ? [] : this.gathered);
  }

  private describe(description: Parameters<RTCPeerConnection['setLocalDescription']>[0]): Promise<void> {
    const applied = this.pc.setLocalDescription(description).then(() => {});
    this.describing = applied.catch(() => {});
    return applied;
  }

  /** True once `applied` settles, false when the gather timeout comes first. */
  private async withinGatherTimeout(applied: Promise<void>): Promise<boolean> {
    const ms = this.opts.gatherTimeoutMs ?? DEFAULT_GATHER_TIMEOUT_MS;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
    try {
      const complete = await Promise.race([applied.then(() => true as const), timeout]);
      if (!complete && !this.closed) {
        if (!this.pc.localDescription) throw new Error(`no local description after ${ms} ms of ICE gathering`);
        this.opts.logger.warn({ ms, candidates: this.gathered.length }, 'ICE gathering timed out; offering the candidates found so far');
      }
      return complete;
    } finally {
      clearTimeout(timer);
    }
  }

  /** `promise`, or PeerClosedError as soon as the peer is closed. */
  private whileOpen<T>(promise: Promise<T>): Promise<T> {
    if (this.closed) {
      promise.catch(() => {});
      return Promise.reject(new PeerClosedError());
    }
    return Promise.race([promise, this.closedSignal]);
  }

  /** The client's answer to a server offer. */
  async setAnswer(sdp: string): Promise<void> {
    // werift queues it behind a setLocalDescription still gathering (see createOffer).
    await this.whileOpen(this.pc.setRemoteDescription({ type: 'answer', sdp: this.remoteSdp(sdp) }));
    this.negotiated = true;
    this.updateExtensions();
    await this.flushCandidates();
    if (this.restarting && this.muxOnly) {
      // werift does not start a restarted ICE agent while DTLS is up: it relies on remote
      // candidates to form pairs, and behind the mux there are none, so the viewer's checks
      // would wait for a start that never comes.
      for (const ice of this.pc.iceTransports) ice.start().catch((err: unknown) => this.opts.logger.warn({ err }, 'ICE restart failed'));
    }
    this.restarting = false;
  }

  /** A client offer (e.g. adding its microphone); resolves with the answer (contract §7 step 7). */
  async acceptOffer(sdp: string): Promise<string> {
    await this.whileOpen(this.pc.setRemoteDescription({ type: 'offer', sdp: this.remoteSdp(sdp) }));
    const answer = await this.whileOpen(this.pc.createAnswer());
    await this.whileOpen(this.describe(answer));
    this.negotiated = true;
    this.updateExtensions();
    return this.localSdp();
  }

  async addCandidate(candidate: IceCandidateJson): Promise<void> {
    // Behind the UDP mux the peer reaches viewers only through the relay, never directly.
    if (this.muxOnly) return;
    if (this.pc.signalingState === 'have-local-offer') {
      // A client trickles the candidates of its answer while it is still sending it; after an
      // ICE restart werift would reject them (their ufrag is not the current remote one yet).
      if (this.pendingCandidates.length < MAX_PENDING_CANDIDATES) this.pendingCandidates.push(candidate);
      return;
    }
    await this.pc.addIceCandidate(candidate);
  }

  private async flushCandidates(): Promise<void> {
    const pending = this.pendingCandidates;
    this.pendingCandidates = [];
    for (const candidate of pending) {
      await this.pc.addIceCandidate(candidate).catch((err: unknown) => this.opts.logger.warn({ err }, 'remote candidate rejected'));
    }
  }

  get signalingState(): string {
    return this.pc.signalingState;
  }

  get videoId(): string {
    return this.video.id;
  }

  get videoDisabled(): boolean {
    return this._videoDisabled;
  }

  get audioEnabled(): boolean {
    return this._audioEnabled;
  }

  /** The worst video packet loss (0..1) the viewer reported since the last call; null: none reported. */
  takePacketLoss(): number | null {
    const loss = this.worstLoss;
    this.worstLoss = null;
    return loss;
  }

  /** Video packets are being forwarded (connected, not paused or disabled). */
  /** Video packets forwarded so far (retransmissions not counted). */
  get videoPacketsSent(): number {
    return this.videoOut.stats.fast + this.videoOut.stats.fallback;
  }

  get sendingVideo(): boolean {
    return this.unsubscribeVideo !== null;
  }

  /**
   * Sends a binary message on the data channel; false when dropped (channel not open, or
   * its backlog is at the bound).
   */
  send(bytes: Uint8Array): boolean {
    if (this.closed) return false;
    return this.writer.send(bytes);
  }

  /**
   * Sends a message of which only the newest of its kind matters: while the channel is
   * backed up it waits, replaced by any newer one of the same kind.
   */
  sendLatest(kind: 'cursorImage' | 'cursorPosition', bytes: Uint8Array): void {
    if (!this.closed) this.writer.sendLatest(kind, bytes);
  }

  /** Switches the forwarded video stream (quality selection). */
  setVideo(source: RtpSource): void {
    if (source === this.video) return;
    this.video = source;
    if (this.connected) this.forwardVideo(true);
  }

  setVideoDisabled(disabled: boolean): void {
    if (this._videoDisabled === disabled) return;
    this._videoDisabled = disabled;
    if (this.connected) this.forwardVideo();
  }

  setAudioEnabled(enabled: boolean): void {
    if (this._audioEnabled === enabled) return;
    this._audioEnabled = enabled;
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

  /**
   * Forwards the current video source. On a switch (`makeBeforeBreak`) the previous source
   * keeps flowing until the new one delivers its first packet, which starts a keyframe
   * (stream.ts replays its cache or holds a subscriber until the next keyframe): the viewer
   * never waits on a black or frozen picture for an encoder that is still starting.
   */
  private forwardVideo(makeBeforeBreak = false): void {
    const previous = this.unsubscribeVideo;
    this.unsubscribeVideo = null;
    if (this.paused || this._videoDisabled) {
      previous?.();
      return;
    }
    const out = this.videoOut;
    let pending = makeBeforeBreak && previous !== null;
    if (!pending) {
      previous?.();
      out.rebase();
    }
    const unsubscribe = this.video.subscribe(
      (packet) => {
        if (pending) {
          pending = false;
          previous?.();
          out.rebase();
        }
        out.send(packet);
      },
      // A restarted encoder starts new sequence and timestamp bases.
      () => out.rebase(),
    );
    this.unsubscribeVideo = () => {
      unsubscribe();
      if (pending) previous?.();
    };
  }

  private forwardAudio(): void {
    this.unsubscribeAudio?.();
    this.unsubscribeAudio = null;
    const audio = this.opts.audio;
    const out = this.audioOut;
    if (!audio || !out || !this._audioEnabled || this.paused) return;
    out.rebase();
    this.unsubscribeAudio = audio.subscribe(
      (packet) => out.send(packet),
      () => out.rebase(),
    );
  }

  /** The playout-delay id the client accepted (none: it would ignore the extension anyway). */
  private updateExtensions(): void {
    this.playoutDelayId = this.videoTransceiver.headerExtensions.find((e) => e.uri === PLAYOUT_DELAY_URI)?.id ?? null;
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

  /** Callers bound the wait (gather timeout, close): werift may never report completion. */
  private gatheringComplete(): Promise<void> {
    if (this.pc.iceGatheringState === 'complete') return Promise.resolve();
    return new Promise((resolve) => {
      const { unSubscribe } = this.pc.iceGatheringStateChange.subscribe((state) => {
        if (state === 'complete') {
          unSubscribe();
          resolve();
        }
      });
      this.closedSignal.catch(() => unSubscribe());
    });
  }

  private registerUfrag(): void {
    const ufrag = ufragOf(this.pc.localDescription?.sdp ?? '');
    if (ufrag) this.muxRegistration?.addUfrag(ufrag);
  }

  /**
   * The local description as the client gets it: NAT 1:1 addresses, mux candidates, and
   * `partial` candidates when gathering was cut short (werift writes them only at its end).
   */
  private localSdp(partial: string[] = []): string {
    this.registerUfrag();
    let sdp = this.pc.localDescription!.sdp;
    if (partial.length > 0 && !this.muxOnly) sdp = withCandidates(withoutCandidates(sdp), partial);
    sdp = this.rewriteSdp(sdp);
    const mux = this.opts.mux;
    if (mux) {
      if (this.muxOnly) sdp = withoutCandidates(sdp);
      // Mux candidates already carry the advertised (NAT 1:1) addresses.
      if (this.opts.trickle) {
        // After the caller has sent the description the candidates belong to.
        setImmediate(() => this.sendMuxCandidates(mux, sdp));
      } else {
        sdp = withCandidates(sdp, mux.candidates());
      }
    }
    return sdp;
  }

  private sendMuxCandidates(mux: IceMux, sdp: string): void {
    if (this.closed) return;
    const sdpMid = /^a=mid:(\S+)/m.exec(sdp)?.[1];
    const usernameFragment = ufragOf(sdp);
    for (const candidate of mux.candidates()) {
      this.opts.onCandidate({ candidate, sdpMid, sdpMLineIndex: 0, usernameFragment });
    }
  }

  /** A client description as werift gets it: behind the UDP mux without direct candidates. */
  private remoteSdp(sdp: string): string {
    return this.muxOnly ? withoutCandidates(sdp) : sdp;
  }

  private rewriteCandidate(candidate: string): string {
    const [nat] = this.opts.nat1to1;
    return nat ? rewriteHostCandidate(candidate, nat) : candidate;
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
    this.signalClosed(new PeerClosedError());
    this.writer.close();
    this.releaseWarmHold();
    this.unsubscribeVideo?.();
    this.unsubscribeAudio?.();
    this.unsubscribeVideo = this.unsubscribeAudio = null;
    this.videoOut.close();
    this.audioOut?.close();
    this.muxRegistration?.close();
    this.muxRegistration = null;
    this.closing = settledWithin(this.describing, CLOSE_AFTER_DESCRIBING_MS)
      .then(() => this.pc.close())
      .catch((err: unknown) => this.opts.logger.warn({ err }, 'peer close failed'));
    this.opts.onClosed();
    return this.closing;
  }
}
