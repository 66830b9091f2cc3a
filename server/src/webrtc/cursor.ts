import type { CursorImage } from '../desktop/cursor.js';
import type { Point } from '../desktop/x11-client.js';
import type { SessionManager } from '../sessions/manager.js';
import type { Session } from '../sessions/session.js';
import type { SessionPeer } from '../sessions/types.js';
import { encodeCursorImage, encodeCursorPosition } from './datachannel.js';

/** What the broadcaster needs from the desktop's cursor (desktop/cursor.ts). */
export interface CursorSource {
  image(): Promise<CursorImage | null>;
  position(): Promise<Point | null>;
  watch(): () => void;
  on(event: 'image', listener: (image: CursorImage) => void): unknown;
  on(event: 'position', listener: (p: Point) => void): unknown;
  off(event: 'image', listener: (image: CursorImage) => void): unknown;
  off(event: 'position', listener: (p: Point) => void): unknown;
}

/** What the broadcaster needs of a peer (webrtc/peer.ts). */
export interface CursorPeer extends SessionPeer {
  sendLatest(kind: 'cursorImage' | 'cursorPosition', bytes: Uint8Array): void;
}

export interface CursorBroadcasterOptions {
  sessions: SessionManager;
  source: CursorSource;
  /** Least time between two position updates to the peers (default ≈ 60 Hz). */
  positionIntervalMs?: number;
}

const POSITION_INTERVAL_MS = 1000 / 60;

/**
 * Cursor over the data channel (contract §8): on open a peer gets the cursor image, then
 * (non-hosts only) the position; afterwards image changes go to every peer and position
 * changes to every peer but the host's, whose own pointer already is where it put it.
 * Positions are coalesced to the newest and sent at a bounded rate: a host moving the
 * pointer thousands of times a second costs the other peers no more than 60 messages.
 */
export class CursorBroadcaster {
  private readonly open = new Map<CursorPeer, Session>();
  private release: (() => void) | null = null;
  /** The position last sent, and the newer one waiting for its turn. */
  private sent: Point | null = null;
  private pending: Point | null = null;
  private lastSentAt = -Infinity;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;

  private readonly onImage = (image: CursorImage) => {
    const bytes = imageMessage(image);
    for (const peer of this.livePeers()) peer.sendLatest('cursorImage', bytes);
  };

  private readonly onPosition = (p: Point) => this.moved(p.x, p.y);

  constructor(private readonly opts: CursorBroadcasterOptions) {
    opts.source.on('image', this.onImage);
    opts.source.on('position', this.onPosition);
  }

  /** A peer's data channel opened. */
  async opened(session: Session, peer: CursorPeer): Promise<void> {
    if (this.closed) return;
    const [image, position] = await Promise.all([this.opts.source.image(), this.opts.source.position()]);
    if (session.peer !== peer || this.closed) return;
    if (image) peer.sendLatest('cursorImage', imageMessage(image));
    if (position && this.opts.sessions.host !== session) peer.sendLatest('cursorPosition', encodeCursorPosition(position.x, position.y));
    // Only now: updates must not overtake the image the contract puts first.
    this.open.set(peer, session);
    // Positions are polled only while someone can receive them.
    this.release ??= this.opts.source.watch();
  }

  /** A peer is gone. */
  closedPeer(peer: CursorPeer): void {
    this.open.delete(peer);
    if (this.open.size > 0) return;
    this.release?.();
    this.release = null;
  }

  /** The pointer is at (x, y) now: every non-host peer is told, unless it already knows. */
  moved(x: number, y: number): void {
    if (this.closed) return;
    const known = this.pending ?? this.sent;
    if (known?.x === x && known.y === y) return;
    this.pending = { x, y };
    if (this.timer) return;
    const wait = this.lastSentAt + (this.opts.positionIntervalMs ?? POSITION_INTERVAL_MS) - performance.now();
    if (wait <= 0) {
      this.flush();
      return;
    }
    this.timer = setTimeout(() => {
      this.timer = null;
      this.flush();
    }, wait);
    this.timer.unref();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.opts.source.off('image', this.onImage);
    this.opts.source.off('position', this.onPosition);
    this.release?.();
    this.release = null;
    this.open.clear();
  }

  private flush(): void {
    const p = this.pending;
    if (!p || this.closed) return;
    this.pending = null;
    this.sent = p;
    this.lastSentAt = performance.now();
    const bytes = encodeCursorPosition(p.x, p.y);
    const host = this.opts.sessions.host;
    for (const peer of this.livePeers()) {
      if (host?.peer !== peer) peer.sendLatest('cursorPosition', bytes);
    }
  }

  /** Open peers still current for their session. */
  private *livePeers(): Iterable<CursorPeer> {
    for (const [peer, session] of this.open) {
      if (session.peer === peer) yield peer;
    }
  }
}

function imageMessage(image: CursorImage): Uint8Array {
  return encodeCursorImage(image.width, image.height, image.xhot, image.yhot, image.png);
}
