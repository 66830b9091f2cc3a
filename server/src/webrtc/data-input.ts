import type { Input } from '../desktop/input.js';
import type { TouchEmulator } from '../desktop/touch.js';
import type { Logger } from '../log.js';
import { RateLimiter } from '../rate-limiter.js';
import type { SessionManager } from '../sessions/manager.js';
import type { Session } from '../sessions/session.js';
import { decodeClientMessage, encodePong } from './datachannel.js';

export interface DataInputOptions {
  sessions: SessionManager;
  input: Input;
  /** Single-finger touch acting as the pointer (no touch device on this X server). */
  touch: TouchEmulator;
  logger: Logger;
  /** Hard limit of data-channel messages per second per peer (mouse moves are the bulk). */
  rateLimit?: number;
  /** Collects non-hosts' pointer moves for `session/cursors`. */
  inactiveCursors?: { record(session: Session, x: number, y: number): void };
  /** Pushes the host's pointer position to the other peers (cursor.ts). */
  cursor?: { moved(x: number, y: number): void };
}

/** Whatever can take a binary reply (a peer). */
export interface BinarySink {
  send(bytes: Uint8Array): void;
}

/**
 * Applies data-channel messages (contract §8.1). Input never changes who is host here:
 * only the host drives the desktop; anyone may ping. Malformed messages are logged and
 * dropped, never thrown.
 */
export class DataInput {
  private readonly limiters = new WeakMap<BinarySink, RateLimiter>();

  constructor(private readonly opts: DataInputOptions) {}

  handle(session: Session, peer: BinarySink, bytes: Uint8Array): void {
    const { input, logger, sessions } = this.opts;
    let limiter = this.limiters.get(peer);
    if (!limiter) this.limiters.set(peer, (limiter = new RateLimiter(this.opts.rateLimit ?? 1000)));
    if (!limiter.take()) return;
    const msg = decodeClientMessage(bytes);
    if (msg.type === 'error') {
      logger.warn({ session_id: session.id, reason: msg.reason, length: bytes.length }, 'bad data-channel message dropped');
      return;
    }
    if (msg.type === 'ping') {
      peer.send(encodePong(msg.clientTs1, msg.clientTs2, Date.now()));
      return;
    }
    if (sessions.host !== session) {
      if (msg.type === 'move') this.opts.inactiveCursors?.record(session, msg.x, msg.y);
      return;
    }
    switch (msg.type) {
      case 'move':
        input.move(msg.x, msg.y);
        // Pushed now rather than at the next pointer poll.
        this.opts.cursor?.moved(msg.x, msg.y);
        break;
      case 'scroll':
        input.scroll(msg.deltaX, msg.deltaY, msg.controlKey);
        break;
      case 'keyDown':
        input.keyDown(msg.keysym);
        break;
      case 'keyUp':
        input.keyUp(msg.keysym);
        break;
      case 'buttonDown':
        input.buttonDown(msg.button);
        break;
      case 'buttonUp':
        input.buttonUp(msg.button);
        break;
      case 'touchBegin':
        this.opts.touch.begin(msg.touchId, msg.x, msg.y);
        break;
      case 'touchUpdate':
        this.opts.touch.update(msg.touchId, msg.x, msg.y);
        break;
      case 'touchEnd':
        this.opts.touch.end(msg.touchId, msg.x, msg.y);
        break;
    }
  }
}
