import type { SessionManager } from '../../sessions/manager.js';
import type { EventTable } from '../gateway.js';
import { object, PayloadError, string } from '../payload.js';

/** Subjects are labels, not content; the body's size is bounded by the socket's message limit. */
const MAX_SUBJECT = 256;

/**
 * `send/unicast` and `send/broadcast` (contract §5.3): opaque messages between clients.
 * The server stamps the sender; it never interprets subject or body.
 */
export function messagingHandlers(sessions: SessionManager): EventTable {
  const subjectOf = (body: Record<string, unknown>): string => {
    const subject = string(body, 'subject');
    if (subject.length > MAX_SUBJECT) throw new PayloadError(`subject longer than ${MAX_SUBJECT} characters`);
    return subject;
  };
  return {
    'send/unicast': (session, payload) => {
      const body = object(payload);
      const receiver = string(body, 'receiver');
      const subject = subjectOf(body);
      const target = sessions.get(receiver);
      if (!target) throw new PayloadError('unknown receiver');
      target.send('send/unicast', { sender: session.id, receiver, subject, body: body.body ?? null });
    },
    'send/broadcast': (session, payload) => {
      const body = object(payload);
      const subject = subjectOf(body);
      const message = { sender: session.id, subject, body: body.body ?? null };
      sessions.broadcast('send/broadcast', message, (s) => s !== session);
    },
  };
}
