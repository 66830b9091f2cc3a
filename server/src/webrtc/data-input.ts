import type { Input } from '../desktop/input.js';
import type { TouchEmulator } from '../desktop/touch.js';
import type { Logger } from '../log.js';
import { logBurst } from '../log-burst.js';
import { BurstLog, RateLimiter } from '../rate-limiter.js';
import type { SessionManager } from '../sessions/manager.js';
import type { Session } from '../sessions/session.js';
import { decodeClientMessage, encodePong } from './datachannel.js';

export interface DataInputOptions {
  sessions: SessionManager;
  input: Input;
  /** Single-finger touch acting as the pointer (no touch device on this X server). */
  touch: TouchEmulator;
  logger: Logger;
  /**
   * Hard limit of data-channel messages per second per session, whichever peer they come
   * through (mouse moves are the bulk; a browser sends at most a few hundred a second).
   */
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

const DEFAULT_RATE_LIMIT = 1000;

/** What is kept per session: its rate limit and its log throttles. */
interface SessionGate {
  limiter: RateLimiter;
  limited: BurstLog;
  malformed: BurstLog;
}

/**
 * Applies data-channel messages (contract §8.1). Input never changes who is host here:
 * only the host drives the desktop; anyone may ping. Malformed messages are logged and
 * dropped, never thrown. The rate limit is per session, so a new peer does not reset it,
 * and drops cost one log line per burst, not one per message.
 */
export class DataInput {
  private readonly gates = new WeakMap<Session, SessionGate>();
  /**
   * The host's newest pointer move not yet applied. Moves that arrive in one turn of the
   * event loop (a burst of packets) reach X as one; any other input applies it first, so
   * a click still lands where the pointer was sent.
   */
  private pendingMove: { x: number; y: number } | null = null;
  private moveScheduled = false;

  constructor(private readonly opts: DataInputOptions) {}

  handle(session: Session, peer: BinarySink, bytes: Uint8Array): void {
    const { input, logger, sessions } = this.opts;
    const gate = this.gateOf(session);
    if (!gate.limiter.take()) {
      logBurst(gate.limited, logger, 'warn', { session_id: session.id, rate: this.rateLimit }, 'data-channel input over the rate limit; dropping the excess');
      return;
    }
    const msg = decodeClientMessage(bytes);
    if (msg.type === 'error') {
      logBurst(gate.malformed, logger, 'warn', { session_id: session.id, reason: msg.reason, length: bytes.length }, 'bad data-channel message dropped');
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
    if (msg.type === 'move') {
      this.pendingMove = { x: msg.x, y: msg.y };
      if (!this.moveScheduled) {
        this.moveScheduled = true;
        setImmediate(() => {
          this.moveScheduled = false;
          this.applyMove();
        });
      }
      return;
    }
    this.applyMove();
    switch (msg.type) {
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

  private applyMove(): void {
    const move = this.pendingMove;
    if (!move) return;
    this.pendingMove = null;
    this.opts.input.move(move.x, move.y);
    // The other peers hear of it at the broadcaster's next turn, not the next pointer poll.
    this.opts.cursor?.moved(move.x, move.y);
  }

  private get rateLimit(): number {
    return this.opts.rateLimit ?? DEFAULT_RATE_LIMIT;
  }

  private gateOf(session: Session): SessionGate {
    let gate = this.gates.get(session);
    if (!gate) {
      gate = { limiter: new RateLimiter(this.rateLimit), limited: new BurstLog(), malformed: new BurstLog() };
      this.gates.set(session, gate);
    }
    return gate;
  }
}
