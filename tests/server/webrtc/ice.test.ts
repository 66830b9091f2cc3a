import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { App } from '../../../server/src/main.js';
import { rewriteHostCandidate } from '../../../server/src/webrtc/peer.js';
import { startApp } from '../../helpers/app.js';
import { restartIce } from '../../helpers/ice.js';
import { freePort } from '../../helpers/ports.js';
import { Viewer } from '../../helpers/viewer.js';


const candidateLines = (sdp: string) => sdp.split('\r\n').filter((l) => l.startsWith('a=candidate:')).map((l) => l.slice(2));
const fields = (candidate: string) => {
  const [, , protocol, , address, port, , type] = candidate.split(' ');
  return { protocol: protocol!.toLowerCase(), address: address!, port: Number(port), type: type! };
};

/** The remote side (the server) of the viewer's selected candidate pair. */
async function selectedRemote(viewer: Viewer): Promise<{ port: number; protocol: string } | null> {
  const stats = [...(await viewer.pc.getStats()).values()] as any[];
  const transport = stats.find((s) => s.type === 'transport' && s.selectedCandidatePairId);
  const pair = stats.find((s) => s.id === transport?.selectedCandidatePairId);
  const remote = pair && stats.find((s) => s.id === pair.remoteCandidateId);
  return remote ? { port: remote.port, protocol: remote.protocol } : null;
}

describe('NAT 1:1 candidate rewriting', () => {
  test('host candidates get the public address, loopback and non-host ones stay', () => {
    const nat = '203.0.113.7';
    assert.equal(
      rewriteHostCandidate('candidate:1 1 udp 2130706431 192.168.1.5 59001 typ host', nat),
      'candidate:1 1 udp 2130706431 203.0.113.7 59001 typ host',
    );
    const loopback = 'candidate:2 1 udp 2130706431 127.0.0.1 59002 typ host';
    assert.equal(rewriteHostCandidate(loopback, nat), loopback);
    const srflx = 'candidate:3 1 udp 1694498815 198.51.100.9 59003 typ srflx raddr 192.168.1.5 rport 59003';
    assert.equal(rewriteHostCandidate(srflx, nat), srflx);
  });
});

describe('ICE: no trickle, NAT 1:1', () => {
  let app: App;

  before(async () => {
    app = await startApp(['--webrtc.icetrickle=false', '--webrtc.nat1to1', '10.1.2.3']);
  });

  after(async () => {
    await app?.close();
  });

  test('the offer carries every candidate; loopback is not rewritten by NAT 1:1', async () => {
    const viewer = await Viewer.connect(app.url, 'alice', 'neko');
    try {
      const provide = await viewer.socket.waitFor('signal/provide');
      const candidates = candidateLines(provide.payload.sdp);
      assert.ok(candidates.length > 0, 'candidates in the offer');
      // The namespace has only loopback, which stays as it is for viewers on this machine.
      for (const c of candidates.map(fields)) assert.equal(c.address, '127.0.0.1', `loopback candidate kept: ${JSON.stringify(c)}`);
      assert.ok(!viewer.socket.events.some((e) => e.event === 'signal/candidate'), 'nothing trickled');
      // The server's own connectivity checks reach the viewer anyway.
      await viewer.waitForFrame(() => true, 10_000);
    } finally {
      viewer.close();
    }
  });
});

describe('ICE: lite agent behind single UDP and TCP ports', () => {
  let app: App;
  let udpPort: number;
  let tcpPort: number;

  before(async () => {
    udpPort = await freePort('udp');
    tcpPort = await freePort('tcp');
    app = await startApp(['--webrtc.icelite', '--webrtc.udpmux', String(udpPort), '--webrtc.tcpmux', String(tcpPort)]);
  });

  after(async () => {
    await app?.close();
  });

  test('two viewers share the UDP port; the offer is ICE-lite and only mux candidates are sent', async () => {
    const viewers = await Promise.all(['alice', 'bob'].map(async (name) => {
      const v = await Viewer.connect(app.url, name, 'neko');
      v.candidateFilter = (c) => fields(c).protocol === 'udp';
      return v;
    }));
    try {
      const provide = await viewers[0]!.socket.waitFor('signal/provide');
      assert.match(provide.payload.sdp, /^a=ice-lite/m);
      await Promise.all(viewers.map((v) => v.waitForFrame(() => true, 15_000)));
      const trickled = viewers[0]!.socket.events.filter((e) => e.event === 'signal/candidate').map((e) => fields(e.payload.candidate));
      assert.ok(trickled.length > 0, 'mux candidates trickled');
      for (const c of trickled) {
        assert.equal(c.type, 'host');
        assert.equal(c.port, c.protocol === 'udp' ? udpPort : tcpPort, `mux port: ${JSON.stringify(c)}`);
      }
      for (const v of viewers) assert.deepEqual(await selectedRemote(v), { port: udpPort, protocol: 'udp' });
    } finally {
      viewers.forEach((v) => v.close());
    }
  });

  test('a viewer that only uses the TCP candidate gets media over the TCP port', async () => {
    const viewer = await Viewer.connect(app.url, 'carol', 'neko');
    viewer.candidateFilter = (c) => fields(c).protocol === 'tcp';
    try {
      await viewer.waitForFrame(() => true, 15_000);
      assert.deepEqual(await selectedRemote(viewer), { port: tcpPort, protocol: 'tcp' });
    } finally {
      viewer.close();
    }
  });
});

describe('ICE: full agent behind a single UDP port', () => {
  let app: App;
  let udpPort: number;

  before(async () => {
    udpPort = await freePort('udp');
    app = await startApp(['--webrtc.udpmux', String(udpPort)]);
  });

  after(async () => {
    await app?.close();
  });

  test('the controlling server agent learns the viewer through the mux', async () => {
    const viewer = await Viewer.connect(app.url, 'alice', 'neko');
    try {
      const provide = await viewer.socket.waitFor('signal/provide');
      assert.doesNotMatch(provide.payload.sdp, /^a=ice-lite/m);
      await viewer.waitForFrame(() => true, 15_000);
      assert.deepEqual(await selectedRemote(viewer), { port: udpPort, protocol: 'udp' });
      // An ICE restart re-registers the new credentials with the mux: the new pair goes through it.
      await restartIce(app, viewer);
      assert.deepEqual(await selectedRemote(viewer), { port: udpPort, protocol: 'udp' });
      const frames = viewer.frames;
      await viewer.waitForFrame(() => true, 10_000);
      assert.ok(viewer.frames > frames, 'frames after the restart');
    } finally {
      viewer.close();
    }
  });
});
