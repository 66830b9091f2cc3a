/**
 * What each ICE agent of a viewer's connection uses, so an ICE-restart test can tell the new
 * path from the old one (which keeps carrying media when a restart silently fails).
 */
import assert from 'node:assert/strict';
import type { RTCPeerConnection } from 'werift';
import type { App } from '../../server/src/main.js';
import type { Viewer } from './viewer.js';
import { waitFor } from './x11.js';

export const iceUfrag = (sdp: string): string | undefined => /^a=ice-ufrag:(\S+)/m.exec(sdp)?.[1];
export const icePwd = (sdp: string): string | undefined => /^a=ice-pwd:(\S+)/m.exec(sdp)?.[1];

export interface ViewerPath {
  /** The viewer's current local ufrag (its transport stats). */
  localUfrag: string;
  pairId: string;
  localCandidateId: string;
  /** `address:port` of the pair's local candidate. */
  local: string;
  state: string;
  nominated: boolean;
  bytesReceived: number;
}

/** The viewer's selected candidate pair (libwebrtc stats), or null while there is none. */
export async function viewerPath(viewer: Viewer): Promise<ViewerPath | null> {
  const stats = [...(await viewer.pc.getStats()).values()] as any[];
  const transport = stats.find((s) => s.type === 'transport' && s.selectedCandidatePairId);
  const pair = transport && stats.find((s) => s.id === transport.selectedCandidatePairId);
  const local = pair && stats.find((s) => s.id === pair.localCandidateId);
  if (!pair || !local) return null;
  return {
    localUfrag: transport.iceLocalUsernameFragment,
    pairId: pair.id,
    localCandidateId: pair.localCandidateId,
    local: `${local.address}:${local.port}`,
    state: pair.state,
    nominated: pair.nominated === true,
    bytesReceived: pair.bytesReceived ?? 0,
  };
}

/** Ids of every local candidate the viewer has gathered so far. */
export async function viewerLocalCandidates(viewer: Viewer): Promise<Set<string>> {
  const stats = [...(await viewer.pc.getStats()).values()] as any[];
  return new Set(stats.filter((s) => s.type === 'local-candidate').map((s) => s.id as string));
}

export interface ServerPath {
  localUfrag: string;
  localPwd: string;
  remoteUfrag: string;
  remotePwd: string;
  /**
   * `address:port` of the viewer's side of the pair the agent nominated; werift forgets its
   * nominated pair at a restart, so after one this is a pair of the new generation.
   */
  nominatedRemote: string | undefined;
}

/** The server's (werift's) ICE agent of a session's peer. */
export function serverPath(app: App, sessionId: string): ServerPath | null {
  const peer = app.sessions.get(sessionId)?.peer as unknown as { pc?: RTCPeerConnection } | null | undefined;
  const ice = peer?.pc?.iceTransports[0]?.connection;
  if (!ice) return null;
  return {
    localUfrag: ice.localUsername,
    localPwd: ice.localPassword,
    remoteUfrag: ice.remoteUsername,
    remotePwd: ice.remotePassword,
    nominatedRemote: ice.nominated && `${ice.nominated.remoteAddr[0]}:${ice.nominated.remoteAddr[1]}`,
  };
}

/** The ICE credentials of one offer/answer exchange. */
export interface Credentials {
  offerUfrag: string;
  offerPwd: string;
  answerUfrag: string;
  answerPwd: string;
}

/**
 * Waits until both agents use the credentials of the restart and agree on a path of the new
 * generation: the viewer has selected a succeeded, nominated pair on a local candidate gathered
 * after the restart, and the server's agent, holding the new local and remote credentials, has
 * nominated the pair to that very candidate. Returns the viewer's selected pair.
 */
export async function waitForRestartedPath(
  app: App,
  viewer: Viewer,
  restart: Credentials & { oldCandidates: Set<string> },
  timeoutMs = 15_000,
): Promise<ViewerPath> {
  let last = '';
  try {
    return await waitFor(
      'the ICE path of the restart',
      async () => {
        const server = serverPath(app, viewer.sessionId);
        const client = await viewerPath(viewer);
        last = JSON.stringify({ server, client, restart: { ...restart, oldCandidates: [...restart.oldCandidates] } });
        const clientOk =
          client?.localUfrag === restart.answerUfrag &&
          client.state === 'succeeded' &&
          client.nominated &&
          !restart.oldCandidates.has(client.localCandidateId);
        const serverOk =
          server?.localUfrag === restart.offerUfrag &&
          server.localPwd === restart.offerPwd &&
          server.remoteUfrag === restart.answerUfrag &&
          server.remotePwd === restart.answerPwd &&
          server.nominatedRemote === client?.local;
        return clientOk && serverOk ? client : null;
      },
      timeoutMs,
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}; last seen ${last}`);
  }
}

/**
 * Restarts ICE the way a client does (`signal/restart`, contract §7 step 8) and proves the
 * restart took: both sides' credentials are new, both agents moved to a pair of the new
 * generation, and media arrives over it.
 */
export async function restartIce(app: App, viewer: Viewer): Promise<void> {
  const offers = viewer.socket.events.filter((e) => e.event === 'signal/provide' || e.event === 'signal/restart');
  const offered = offers.at(-1)!.payload.sdp as string;
  const answered = viewer.pc.localDescription!.sdp;
  const before = await viewerPath(viewer);
  assert.ok(before, 'a selected pair before the restart');
  const oldCandidates = await viewerLocalCandidates(viewer);
  const since = viewer.socket.events.length;
  viewer.socket.send('signal/restart');
  const offer = await waitFor('the restart offer', () => viewer.socket.events.slice(since).find((e) => e.event === 'signal/restart'));
  const sdp = offer.payload.sdp as string;
  assert.equal(typeof sdp, 'string', 'the restart carries an offer');
  assert.notEqual(iceUfrag(sdp), iceUfrag(offered), 'new server ufrag');
  assert.notEqual(icePwd(sdp), icePwd(offered), 'new server password');
  const answer = await waitFor('the answer to the restart', () => {
    const local = viewer.pc.localDescription?.sdp ?? '';
    return iceUfrag(local) !== iceUfrag(answered) && local;
  });
  assert.notEqual(icePwd(answer), icePwd(answered), 'new viewer password');
  const credentials: Credentials = {
    offerUfrag: iceUfrag(sdp)!,
    offerPwd: icePwd(sdp)!,
    answerUfrag: iceUfrag(answer)!,
    answerPwd: icePwd(answer)!,
  };
  const after = await waitForRestartedPath(app, viewer, { ...credentials, oldCandidates });
  assert.notEqual(after.pairId, before.pairId, 'the viewer selected a new pair');
  await waitFor('media over the new pair', async () => {
    const now = await viewerPath(viewer);
    return now?.pairId === after.pairId && now.bytesReceived > after.bytesReceived + 5000;
  }, 15_000);
}
