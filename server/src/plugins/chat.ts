import type { Logger } from '../log.js';
import type { SessionManager } from '../sessions/manager.js';
import type { Session } from '../sessions/session.js';
import { timestamp } from '../time.js';
import type { EventTable } from '../websocket/gateway.js';
import { object, PayloadError, string } from '../websocket/payload.js';
import { pluginAllows } from './permissions.js';

/** Longest accepted message text, in UTF-16 units; longer ones are refused, not cut. */
export const MAX_CHAT_TEXT = 4096;

export interface ChatOptions {
  /** `chat.enabled`. */
  enabled: boolean;
  sessions: SessionManager;
  logger: Logger;
}

/** Why a message was not sent. */
export class ChatRefused extends Error {}

/** The chat plugin (contract §10.1): `chat/init`, `chat/message` and its permission keys. */
export class ChatPlugin {
  constructor(private readonly opts: ChatOptions) {}

  canSend(session: Session): boolean {
    return pluginAllows(this.opts.enabled, this.opts.sessions, session, 'chat.can_send');
  }

  canReceive(session: Session): boolean {
    return pluginAllows(this.opts.enabled, this.opts.sessions, session, 'chat.can_receive');
  }

  /** Connect-time `chat/init`. */
  init(session: Session): void {
    session.send('chat/init', { enabled: this.opts.enabled });
  }

  /**
   * Delivers `text` from `sender` to every connected session allowed to receive, the sender
   * included. Throws ChatRefused when the sender may not send or the text is too long.
   */
  send(sender: Session, text: string): void {
    if (!this.canSend(sender)) throw new ChatRefused('not allowed to send chat messages');
    if (text.length > MAX_CHAT_TEXT) throw new ChatRefused(`message longer than ${MAX_CHAT_TEXT} characters`);
    const message = { id: sender.id, created: timestamp(), content: { text } };
    this.opts.sessions.broadcast('chat/message', message, (s) => this.canReceive(s));
  }

  handlers(): EventTable {
    return {
      'chat/message': (session, payload) => {
        const text = string(object(payload), 'text');
        try {
          this.send(session, text);
        } catch (err) {
          if (err instanceof ChatRefused) throw new PayloadError(err.message);
          throw err;
        }
      },
    };
  }
}
