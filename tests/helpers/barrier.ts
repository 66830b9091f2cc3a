/**
 * Ways for a test to know that something did NOT happen without sleeping: send something
 * whose effect is sure to arrive after the one that must not happen, wait for it, then look.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { SocketClient, Viewer } from './viewer.js';
import { waitFor } from './x11.js';

/** The session a socket belongs to (from its `system/init`). */
export function sessionIdOf(client: SocketClient): string {
  const init = client.events.find((e) => e.event === 'system/init');
  if (!init) throw new Error('the socket has no system/init yet');
  return init.payload.session_id as string;
}

/**
 * Orders the server: `from` unicasts a marker to itself and broadcasts it to `to`. The server
 * handles a socket's events in order, so once every marker has arrived, everything `from`
 * sent before has been handled and whatever the server sent `from` or `to` before has arrived.
 */
export async function barrier(from: SocketClient, to: SocketClient[] = [], fromId = sessionIdOf(from)): Promise<void> {
  const mark = `barrier-${randomUUID()}`;
  const arrived = [
    from.waitFor('send/unicast', (p) => p.subject === mark),
    ...to.map((c) => c.waitFor('send/broadcast', (p) => p.subject === mark)),
  ];
  from.send('send/unicast', { receiver: fromId, subject: mark, body: null });
  if (to.length) from.send('send/broadcast', { subject: mark, body: null });
  await Promise.all(arrived);
}

/**
 * A data-channel ping with timestamps no other message carries; resolves with its own pong,
 * looked for only among the messages that came after the ping was sent.
 */
export async function channelPing(viewer: Viewer, timeoutMs = 5000): Promise<Uint8Array> {
  const since = viewer.channelMessages.length;
  const stamp = randomBytes(8);
  viewer.send(Uint8Array.from([0x07, 0, 8, ...stamp]));
  return waitFor(
    'the pong to our ping',
    () =>
      viewer.channelMessages
        .slice(since)
        .find((m) => m.length === 19 && m[0] === 0x03 && m[2] === 19 && Buffer.from(m.subarray(3, 11)).equals(stamp)),
    timeoutMs,
  );
}

/** The nth (1-based) `event` a socket received, once it has arrived. */
export function nthEvent(client: SocketClient, event: string, n: number, timeoutMs = 10_000): Promise<any> {
  return waitFor(`${event} #${n}`, () => client.events.filter((e) => e.event === event)[n - 1], timeoutMs);
}
