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

export interface CursorBroadcasterOptions {
  sessions: SessionManager;
  source: CursorSource;
}

/**
 * Cursor over the data channel (contract §8): on open a peer gets the cursor image, then
 * (non-hosts only) the position; afterwards image changes go to every peer and position
 * changes to every peer but the host's, whose own pointer already is where it put it.
 */
export class CursorBroadcaster {
  private readonly open = new Set<SessionPeer>();
  private release: (() => void) | null = null;
  private last: Point | null = null;
  private closed = false;

  private readonly onImage = (image: CursorImage) => {
    const bytes = imageMessage(image);
    for (const peer of this.livePeers()) peer.send(bytes);
  };

  private readonly onPosition = (p: Point) => this.moved(p.x, p.y);

  constructor(private readonly opts: CursorBroadcasterOptions) {
    opts.source.on('image', this.onImage);
    opts.source.on('position', this.onPosition);
  }

  /** A peer's data channel opened. */
  async opened(session: Session, peer: SessionPeer): Promise<void> {
    if (this.closed) return;
    const [image, position] = await Promise.all([this.opts.source.image(), this.opts.source.position()]);
    if (session.peer !== peer || this.closed) return;
    if (image) peer.send(imageMessage(image));
    if (position && this.opts.sessions.host !== session) peer.send(encodeCursorPosition(position.x, position.y));
    // Only now: updates must not overtake the image the contract puts first.
    this.open.add(peer);
    // Positions are polled only while someone can receive them.
    this.release ??= this.opts.source.watch();
  }

  /** A peer is gone. */
  closedPeer(peer: SessionPeer): void {
    this.open.delete(peer);
    if (this.open.size > 0) return;
    this.release?.();
    this.release = null;
  }

  /** The pointer is at (x, y) now: tells every non-host peer unless it already knows. */
  moved(x: number, y: number): void {
    if (this.last?.x === x && this.last.y === y) return;
    this.last = { x, y };
    const bytes = encodeCursorPosition(x, y);
    const host = this.opts.sessions.host;
    for (const peer of this.livePeers()) {
      if (host?.peer !== peer) peer.send(bytes);
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.opts.source.off('image', this.onImage);
    this.opts.source.off('position', this.onPosition);
    this.release?.();
    this.release = null;
    this.open.clear();
  }

  private *livePeers(): Iterable<SessionPeer> {
    for (const session of this.opts.sessions.list()) {
      if (session.peer && this.open.has(session.peer)) yield session.peer;
    }
  }
}

function imageMessage(image: CursorImage): Uint8Array {
  return encodeCursorImage(image.width, image.height, image.xhot, image.yhot, image.png);
}
