import type { MediaStreamTrack } from 'werift';
import type { Logger } from '../log.js';
import type { SessionManager } from '../sessions/manager.js';
import type { Session } from '../sessions/session.js';
import { LossBasedRate, StreamEstimator, type EstimatorSettings } from './estimator.js';
import type { IncomingTrack } from './microphone.js';
import { Peer, PeerClosedError, type IceCandidateJson, type IceServer, type PeerCodec, type PeerNetwork, type RtpSource } from './peer.js';
import { selectStream, type StreamSelector, type StreamState } from './selector.js';

/** A video stream as the manager sees it (a capture RtpStream). */
export interface VideoSource extends RtpSource {
  readonly state: string;
  stats(): { bitrate: number };
}

/** The media a peer can be fed from (the capture layer). */
export interface MediaSources {
  /** Highest quality first (contract §9.2). */
  readonly videoIds: string[];
  video(id: string): VideoSource | undefined;
  /** Configured size/bitrate of a stream (kbit/s), for bandwidth decisions. */
  videoInfo(id: string): { kbps: number } | undefined;
  readonly audio: RtpSource | null;
  readonly audioCodec: PeerCodec;
}

/** Where a permitted microphone track goes (microphone.ts). */
export interface MicrophoneSink {
  attach(owner: object, track: IncomingTrack): void;
  release(owner: object): void;
}

export interface EstimatorOptions extends EstimatorSettings {
  enabled: boolean;
  /** Estimate (and log with `debug`) but never switch; `auto` is then reported false. */
  passive: boolean;
  debug: boolean;
  readIntervalMs: number;
}

export interface WebRTCOptions extends PeerNetwork {
  sessions: SessionManager;
  media: MediaSources;
  logger: Logger;
  /** Sent to clients in `signal/provide`. */
  frontendIceServers: IceServer[];
  /** Used by the server's own ICE agent. */
  backendIceServers: IceServer[];
  estimator: EstimatorOptions;
  /** null: client microphones are not accepted (disabled or no PulseAudio). */
  microphone: MicrophoneSink | null;
  /** Receives every data-channel message of a session's peer. */
  onData(session: Session, peer: Peer, bytes: Uint8Array): void;
  /** Called when a peer's data channel opens (cursor image/position are sent then). */
  onDataOpen(session: Session, peer: Peer): void;
  /** Called once per peer when it is gone. */
  onPeerClosed(session: Session, peer: Peer): void;
}

export interface PeerRequest {
  /** Absent: the first configured stream. */
  selector?: StreamSelector;
  videoDisabled: boolean;
  auto: boolean;
  audioDisabled: boolean;
}

/** `signal/video` (C→S): every field optional. */
export interface VideoChange {
  disabled?: boolean;
  selector?: StreamSelector;
  auto?: boolean;
}

export interface PeerVideo {
  disabled: boolean;
  id: string;
  video: string;
  auto: boolean;
}

export interface Provide {
  sdp: string;
  iceservers: IceServer[];
  video: PeerVideo;
  audio: { disabled: boolean };
}

/** Per-peer state the manager keeps beside the peer. */
interface PeerState {
  auto: boolean;
  timer: NodeJS.Timeout | null;
}

/** Creates and tracks each session's peer, tying its lifecycle to the session state. */
export class WebRTCManager {
  private readonly states = new WeakMap<Peer, PeerState>();

  /** A microphone stops playing as soon as its session loses can_share_media. */
  private readonly onProfile = (session: Session) => {
    const peer = this.peerOf(session);
    if (peer && !session.profile.can_share_media) this.opts.microphone?.release(peer);
  };

  constructor(private readonly opts: WebRTCOptions) {
    opts.sessions.on('profile', this.onProfile);
    opts.sessions.on('disconnected', this.onDisconnected);
  }

  /**
   * A session whose WebSocket is gone (after the reconnect grace) can no longer signal, and a
   * browser that closed its tab may never tell werift, whose consent checks take ~30 s to
   * notice; until then the encoder would keep running for nobody.
   */
  private readonly onDisconnected = (session: Session): void => {
    void this.peerOf(session)?.close();
  };

  get videoIds(): string[] {
    return this.opts.media.videoIds;
  }

  /** Contract §7 step 2: a fresh peer and its offer; any previous peer of the session goes. */
  async connect(session: Session, request: PeerRequest): Promise<Provide | null> {
    const { media, sessions } = this.opts;
    const videoId = request.selector ? this.select(request.selector) : media.videoIds[0];
    const video = videoId ? media.video(videoId) : undefined;
    if (!video) {
      this.opts.logger.warn({ session_id: session.id, selector: request.selector }, 'requested video stream not found');
      return null;
    }
    session.peer?.close();
    const log = this.opts.logger.child({ session_id: session.id });
    const peer: Peer = new Peer({
      video,
      audio: media.audio,
      audioCodec: media.audioCodec,
      iceServers: this.opts.backendIceServers,
      portRange: this.opts.portRange,
      additionalHostAddresses: this.opts.additionalHostAddresses,
      nat1to1: this.opts.nat1to1,
      trickle: this.opts.trickle,
      gatherTimeoutMs: this.opts.gatherTimeoutMs,
      iceLite: this.opts.iceLite,
      mux: this.opts.mux,
      logger: log,
      onCandidate: (candidate) => session.send('signal/candidate', candidate),
      onData: (bytes) => this.opts.onData(session, peer, bytes),
      onDataOpen: () => this.opts.onDataOpen(session, peer),
      onConnected: () => {
        log.info({ video: peer.videoId }, 'peer connected');
        sessions.setWatching(session, true);
        this.startEstimator(session, peer);
      },
      onTrack: (track) => this.onTrack(session, peer, track),
      onNegotiationNeeded: () => void this.renegotiate(session, peer),
      onClosed: () => {
        this.stopEstimator(peer);
        this.opts.microphone?.release(peer);
        this.opts.onPeerClosed(session, peer);
        if (session.peer !== peer) return;
        session.peer = null;
        log.info('peer closed');
        sessions.setWatching(session, false);
        session.send('signal/close', null);
      },
    });
    this.states.set(peer, { auto: this.autoAllowed(request.auto), timer: null });
    peer.setVideoDisabled(request.videoDisabled);
    peer.setAudioEnabled(!request.audioDisabled);
    // Private mode applies from the first packet, not only to peers that existed when it was turned on.
    peer.setPaused(sessions.settings.private_mode && !session.isAdmin);
    session.peer = peer;
    try {
      const sdp = await peer.createOffer();
      // A newer request (or a disconnect) replaced this peer while its offer was made.
      if (session.peer !== peer) return null;
      return {
        sdp,
        iceservers: this.opts.frontendIceServers,
        video: this.peerVideo(peer),
        audio: { disabled: request.audioDisabled },
      };
    } catch (err) {
      if (err instanceof PeerClosedError || session.peer !== peer) return null;
      log.error({ err }, 'creating offer failed');
      peer.close();
      return null;
    }
  }

  private peerOf(session: Session): Peer | null {
    return session.peer instanceof Peer ? session.peer : null;
  }

  async answer(session: Session, sdp: string): Promise<void> {
    const peer = this.peerOf(session);
    if (!peer) {
      this.opts.logger.warn({ session_id: session.id }, 'answer without a peer dropped');
      return;
    }
    try {
      await peer.setAnswer(sdp);
    } catch (err) {
      if (err instanceof PeerClosedError) return;
      // werift throws when the browser cannot do the codec; the viewer is told by signal/close.
      this.opts.logger.warn({ session_id: session.id, err }, 'remote answer rejected');
      peer.close();
    }
  }

  /** A client offer (contract §7 step 7); resolves with the answer, null when dropped. */
  async offer(session: Session, sdp: string): Promise<string | null> {
    const peer = this.peerOf(session);
    if (!peer) return null;
    if (peer.signalingState !== 'stable') {
      this.opts.logger.warn({ session_id: session.id, state: peer.signalingState }, 'client offer during negotiation dropped');
      return null;
    }
    try {
      const answer = await peer.acceptOffer(sdp);
      return session.peer === peer ? answer : null;
    } catch (err) {
      if (err instanceof PeerClosedError) return null;
      // A half-applied offer leaves the connection in an unknown state; the viewer starts over.
      this.opts.logger.warn({ session_id: session.id, err }, 'client offer rejected');
      peer.close();
      return null;
    }
  }

  /** ICE restart (contract §7 step 8): the restart offer, or null when not possible now. */
  async restart(session: Session): Promise<string | null> {
    const peer = this.peerOf(session);
    if (!peer || peer.signalingState !== 'stable') return null;
    this.opts.logger.info({ session_id: session.id }, 'ICE restart');
    try {
      const offer = await peer.createOffer(true);
      return session.peer === peer ? offer : null;
    } catch (err) {
      if (err instanceof PeerClosedError) return null;
      this.opts.logger.warn({ session_id: session.id, err }, 'ICE restart offer failed');
      return null;
    }
  }

  async candidate(session: Session, candidate: IceCandidateJson): Promise<void> {
    try {
      await this.peerOf(session)?.addCandidate(candidate);
    } catch (err) {
      this.opts.logger.warn({ session_id: session.id, err }, 'remote candidate rejected');
    }
  }

  /** `signal/video`: applies what is valid; the new PeerVideo when anything changed, else null. */
  setVideo(session: Session, change: VideoChange): PeerVideo | null {
    const peer = this.peerOf(session);
    const state = peer && this.states.get(peer);
    if (!peer || !state) return null;
    let source: RtpSource | undefined;
    if (change.selector) {
      const id = this.select(change.selector);
      source = id === null ? undefined : this.opts.media.video(id);
      if (!source) {
        this.opts.logger.warn({ session_id: session.id, selector: change.selector }, 'selected video stream not found');
        return null;
      }
    }
    const before = this.peerVideo(peer);
    if (source) peer.setVideo(source);
    if (change.disabled !== undefined) peer.setVideoDisabled(change.disabled);
    if (change.auto !== undefined) state.auto = this.autoAllowed(change.auto);
    const after = this.peerVideo(peer);
    return before.id === after.id && before.disabled === after.disabled && before.auto === after.auto ? null : after;
  }

  /** `signal/audio`: the new state when it changed, else null. */
  setAudio(session: Session, disabled: boolean): { disabled: boolean } | null {
    const peer = this.peerOf(session);
    if (!peer || peer.audioEnabled === !disabled) return null;
    peer.setAudioEnabled(!disabled);
    return { disabled };
  }

  /** Closes every peer; idempotent. */
  async close(): Promise<void> {
    this.opts.sessions.off('profile', this.onProfile);
    this.opts.sessions.off('disconnected', this.onDisconnected);
    await Promise.all(this.opts.sessions.list().map((session) => this.peerOf(session)?.close()));
  }

  private peerVideo(peer: Peer): PeerVideo {
    const id = peer.videoId;
    return { disabled: peer.videoDisabled, id, video: id, auto: this.states.get(peer)?.auto ?? false };
  }

  /** Contract §9.2: `auto` only sticks with an active estimator. */
  private autoAllowed(auto: boolean): boolean {
    const { enabled, passive } = this.opts.estimator;
    return auto && enabled && !passive;
  }

  private streamStates(): StreamState[] {
    return this.opts.media.videoIds.map((id) => {
      const source = this.opts.media.video(id);
      return { id, running: source?.state === 'running', bitrate: source?.stats().bitrate ?? 0 };
    });
  }

  private select(selector: StreamSelector): string | null {
    return selectStream(this.streamStates(), selector);
  }

  private onTrack(session: Session, peer: Peer, track: MediaStreamTrack): void {
    const log = this.opts.logger.child({ session_id: session.id, kind: track.kind });
    if (track.kind !== 'audio') {
      // A webcam would need a virtual video device (v4l2loopback) this server does not drive.
      log.info('client video track ignored: webcam input is not supported');
      return;
    }
    if (!session.profile.can_share_media) {
      log.warn('microphone track without can_share_media ignored');
      return;
    }
    if (!this.opts.microphone) {
      log.info('microphone track ignored: microphone input is disabled');
      return;
    }
    log.info('microphone track attached');
    this.opts.microphone.attach(peer, track);
  }

  private async renegotiate(session: Session, peer: Peer): Promise<void> {
    try {
      const sdp = await peer.createOffer();
      if (session.peer === peer) session.send('signal/offer', { sdp });
    } catch (err) {
      if (err instanceof PeerClosedError) return;
      this.opts.logger.warn({ session_id: session.id, err }, 'renegotiation offer failed');
    }
  }

  private startEstimator(session: Session, peer: Peer): void {
    const settings = this.opts.estimator;
    const state = this.states.get(peer);
    if (!settings.enabled || !state || state.timer) return;
    const { media } = this.opts;
    const bitrate = (id: string | undefined) => (id === undefined ? 0 : (media.videoInfo(id)?.kbps ?? 0) * 1000);
    const top = Math.max(...media.videoIds.map(bitrate));
    const rate = new LossBasedRate(settings.initialBitrate, Math.max(2 * top, settings.initialBitrate));
    const estimator = new StreamEstimator(settings, Date.now());
    const log = this.opts.logger.child({ session_id: session.id });
    let sent = peer.videoPacketsSent;
    state.timer = setInterval(() => {
      // Nothing is sent while disabled or paused, or while the capture idles on a still
      // screen, so there is nothing to judge either.
      const before = sent;
      sent = peer.videoPacketsSent;
      if (!peer.sendingVideo || sent === before) {
        estimator.idle(Date.now());
        return;
      }
      const ids = media.videoIds;
      const index = ids.indexOf(peer.videoId);
      const loss = peer.takePacketLoss();
      const step = estimator.update({
        now: Date.now(),
        estimate: loss === null ? null : rate.update(loss),
        current: bitrate(peer.videoId),
        higher: index > 0 ? bitrate(ids[index - 1]) : null,
        canLower: index >= 0 && index < ids.length - 1,
      });
      if (settings.debug) log.info({ loss, estimate: estimator.bitrate, video: peer.videoId, step, auto: state.auto }, 'bandwidth estimate');
      if (!step || !state.auto) return;
      const change = this.setVideo(session, { selector: { type: step, id: peer.videoId, bitrate: 0 } });
      if (change) {
        log.info({ video: change.id, estimate: estimator.bitrate }, 'stream switched by bandwidth estimate');
        session.send('signal/video', change);
      }
    }, settings.readIntervalMs);
    state.timer.unref?.();
  }

  private stopEstimator(peer: Peer): void {
    const state = this.states.get(peer);
    if (state?.timer) clearInterval(state.timer);
    if (state) state.timer = null;
  }
}
