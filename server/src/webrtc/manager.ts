import type { Logger } from '../log.js';
import type { SessionManager } from '../sessions/manager.js';
import type { Session } from '../sessions/session.js';
import { Peer, type IceCandidateJson, type IceServer, type RtpSource } from './peer.js';

/** The media a peer can be fed from (the capture layer). */
export interface MediaSources {
  readonly videoIds: string[];
  video(id: string): RtpSource | undefined;
  readonly audio: RtpSource | null;
}

export interface WebRTCOptions {
  sessions: SessionManager;
  media: MediaSources;
  logger: Logger;
  /** Sent to clients in `signal/provide`. */
  frontendIceServers: IceServer[];
  /** Used by the server's own ICE agent. */
  backendIceServers: IceServer[];
  portRange?: [number, number];
  additionalHostAddresses: string[];
  nat1to1: string[];
  trickle: boolean;
  /** Receives every data-channel message of a session's peer. */
  onData(session: Session, peer: Peer, bytes: Uint8Array): void;
  /** Called when a peer's data channel opens (cursor image/position are sent then). */
  onDataOpen(session: Session, peer: Peer): void;
}

export interface PeerRequest {
  videoId?: string;
  audioDisabled: boolean;
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

/** Creates and tracks each session's peer, tying its lifecycle to the session state. */
export class WebRTCManager {
  constructor(private readonly opts: WebRTCOptions) {}

  get videoIds(): string[] {
    return this.opts.media.videoIds;
  }

  /** Contract §7 step 2: a fresh peer and its offer; any previous peer of the session goes. */
  async connect(session: Session, request: PeerRequest): Promise<Provide | null> {
    const { media, sessions } = this.opts;
    const videoId = request.videoId ?? media.videoIds[0];
    const video = videoId === undefined ? undefined : media.video(videoId);
    if (!video || videoId === undefined) {
      this.opts.logger.warn({ session_id: session.id, video: videoId }, 'requested video stream not found');
      return null;
    }
    session.peer?.close();
    const log = this.opts.logger.child({ session_id: session.id });
    const peer: Peer = new Peer({
      video,
      audio: media.audio,
      iceServers: this.opts.backendIceServers,
      portRange: this.opts.portRange,
      additionalHostAddresses: this.opts.additionalHostAddresses,
      nat1to1: this.opts.nat1to1,
      trickle: this.opts.trickle,
      logger: log,
      onCandidate: (candidate) => session.send('signal/candidate', candidate),
      onData: (bytes) => this.opts.onData(session, peer, bytes),
      onDataOpen: () => this.opts.onDataOpen(session, peer),
      onConnected: () => {
        log.info({ video: peer.videoId }, 'peer connected');
        sessions.setWatching(session, true);
      },
      onClosed: () => {
        if (session.peer !== peer) return;
        session.peer = null;
        log.info('peer closed');
        sessions.setWatching(session, false);
        session.send('signal/close', null);
      },
    });
    peer.setAudioEnabled(!request.audioDisabled);
    // Private mode applies from the first packet, not only to peers that existed when it was turned on.
    peer.setPaused(sessions.settings.private_mode && !session.isAdmin);
    session.peer = peer;
    try {
      const sdp = await peer.createOffer();
      return {
        sdp,
        iceservers: this.opts.frontendIceServers,
        video: { disabled: false, id: videoId, video: videoId, auto: false },
        audio: { disabled: request.audioDisabled },
      };
    } catch (err) {
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
    if (!peer) throw new Error('no peer');
    try {
      await peer.setAnswer(sdp);
    } catch (err) {
      // werift throws when the browser cannot do the codec; the viewer is told by signal/close.
      this.opts.logger.warn({ session_id: session.id, err }, 'remote answer rejected');
      peer.close();
    }
  }

  async candidate(session: Session, candidate: IceCandidateJson): Promise<void> {
    await this.peerOf(session)?.addCandidate(candidate);
  }

  /** Closes every peer; idempotent. */
  async close(): Promise<void> {
    await Promise.all(this.opts.sessions.list().map((session) => this.peerOf(session)?.close()));
  }
}
