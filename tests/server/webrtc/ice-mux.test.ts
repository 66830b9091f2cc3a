import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { silentLogger } from '../../../server/src/log.js';
import { IceMux, stunTargetUfrag } from '../../../server/src/webrtc/ice-mux.js';
import { waitFor } from '../../helpers/x11.js';

/** A STUN binding request (RFC 5389) whose USERNAME is `ours:theirs`, written by hand. */
function bindingRequest(username: string, method = 0x0001): Buffer {
  const name = Buffer.from(username);
  const padded = (name.length + 3) & ~3;
  const buf = Buffer.alloc(20 + 4 + padded);
  buf.writeUInt16BE(method, 0);
  buf.writeUInt16BE(4 + padded, 2);
  buf.writeUInt32BE(0x2112a442, 4);
  buf.fill(7, 8, 20);
  buf.writeUInt16BE(0x0006, 20);
  buf.writeUInt16BE(name.length, 22);
  name.copy(buf, 24);
  return buf;
}

async function udpSocket(): Promise<{ socket: dgram.Socket; port: number; got: Array<{ msg: Buffer; port: number }> }> {
  const socket = dgram.createSocket('udp4');
  const got: Array<{ msg: Buffer; port: number }> = [];
  socket.on('message', (msg, rinfo) => got.push({ msg, port: rinfo.port }));
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
  return { socket, port: socket.address().port, got };
}

async function freePort(kind: 'udp' | 'tcp'): Promise<number> {
  if (kind === 'udp') {
    const { socket, port } = await udpSocket();
    socket.close();
    return port;
  }
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const frame = (b: Buffer) => Buffer.concat([Buffer.from([b.length >> 8, b.length & 0xff]), b]);

describe('STUN username parsing', () => {
  test('the local ufrag of a binding request', () => {
    assert.equal(stunTargetUfrag(bindingRequest('abcd:wxyz')), 'abcd');
    assert.equal(stunTargetUfrag(bindingRequest('a:b')), 'a');
  });

  test('anything else yields null', () => {
    assert.equal(stunTargetUfrag(bindingRequest('abcd:wxyz', 0x0101)), null, 'a response');
    assert.equal(stunTargetUfrag(bindingRequest('nocolon')), null);
    assert.equal(stunTargetUfrag(Buffer.from('not stun at all, just some bytes')), null);
    assert.equal(stunTargetUfrag(bindingRequest('abcd:wxyz').subarray(0, 26)), null, 'truncated attribute');
    assert.equal(stunTargetUfrag(Buffer.alloc(0)), null);
  });
});

describe('ICE mux relay', () => {
  let mux: IceMux;
  let udpPort: number;
  let tcpPort: number;

  before(async () => {
    [udpPort, tcpPort] = [await freePort('udp'), await freePort('tcp')];
    mux = await IceMux.listen({ udpPort, tcpPort, addresses: ['127.0.0.1', '192.0.2.7'], logger: silentLogger() });
  });

  after(async () => {
    await mux?.close();
  });

  test('advertises one UDP and one passive TCP host candidate per address', () => {
    const c = mux.candidates();
    assert.equal(c.length, 4);
    assert.ok(c.some((l) => l.includes(` udp `) && l.includes(`192.0.2.7 ${udpPort} typ host`)), 'udp candidate');
    assert.ok(c.some((l) => l.includes(` tcp `) && l.includes(`127.0.0.1 ${tcpPort} typ host tcptype passive`)), 'tcp candidate');
  });

  test('UDP endpoints reach the peer their check names, and only while it is registered', async () => {
    const peer = await udpSocket();
    const remote = await udpSocket();
    const stranger = await udpSocket();
    const reg = mux.register(peer.port);
    reg.addUfrag('abcd');
    try {
      stranger.socket.send(bindingRequest('zzzz:1234'), udpPort, '127.0.0.1');
      remote.socket.send(Buffer.from('before any check'), udpPort, '127.0.0.1');
      remote.socket.send(bindingRequest('abcd:wxyz'), udpPort, '127.0.0.1');
      await waitFor('check relayed', () => peer.got.length >= 1);
      assert.equal(stunTargetUfrag(peer.got[0]!.msg), 'abcd', 'only the named check arrives');
      // The peer answers the relay address it saw; the answer leaves from the mux port.
      peer.socket.send(Buffer.from('answer'), peer.got[0]!.port, '127.0.0.1');
      await waitFor('answer relayed', () => remote.got.length === 1);
      assert.deepEqual(remote.got[0], { msg: Buffer.from('answer'), port: udpPort });
      // Once known, the endpoint's media needs no STUN.
      remote.socket.send(Buffer.from('media'), udpPort, '127.0.0.1');
      await waitFor('media relayed', () => peer.got.some((g) => g.msg.toString() === 'media'));
      reg.close();
      const count = peer.got.length;
      remote.socket.send(Buffer.from('after close'), udpPort, '127.0.0.1');
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(peer.got.length, count, 'nothing after the registration is closed');
    } finally {
      reg.close();
      [peer, remote, stranger].forEach((s) => s.socket.close());
    }
  });

  test('a TCP connection is framed both ways and dropped when it names nobody', async () => {
    const peer = await udpSocket();
    const reg = mux.register(peer.port);
    reg.addUfrag('tcp1');
    const conn = net.connect(tcpPort, '127.0.0.1');
    const received: Buffer[] = [];
    conn.on('data', (d) => received.push(d));
    try {
      await new Promise<void>((resolve) => conn.once('connect', () => resolve()));
      const check = bindingRequest('tcp1:peer');
      // Split across writes: the mux must reassemble the frame.
      conn.write(frame(check).subarray(0, 5));
      await new Promise((r) => setTimeout(r, 20));
      conn.write(frame(check).subarray(5));
      await waitFor('check relayed over TCP', () => peer.got.length === 1);
      assert.deepEqual(peer.got[0]!.msg, check);
      peer.socket.send(Buffer.from('reply'), peer.got[0]!.port, '127.0.0.1');
      await waitFor('reply framed', () => Buffer.concat(received).length >= 7);
      assert.deepEqual(Buffer.concat(received), frame(Buffer.from('reply')));

      const junk = net.connect(tcpPort, '127.0.0.1');
      const closed = new Promise<void>((resolve) => junk.once('close', () => resolve()));
      junk.on('error', () => {});
      junk.write(frame(Buffer.from('hello, nobody')));
      await closed;
    } finally {
      conn.destroy();
      reg.close();
      peer.socket.close();
    }
  });
});
