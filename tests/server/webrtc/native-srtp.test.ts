import assert from 'node:assert/strict';
import { createCipheriv, createHmac } from 'node:crypto';
import dgram from 'node:dgram';
import { once } from 'node:events';
import { describe, test } from 'node:test';
import { INFO, nativeSrtp, socketFd } from '../../../server/src/webrtc/native-srtp.js';

const addon = nativeSrtp();
const KEY = Buffer.from('000102030405060708090a0b0c0d0e0f', 'hex');
const SALT14 = Buffer.from('a0a1a2a3a4a5a6a7a8a9aaabacad', 'hex');
const AUTH = Buffer.from('b0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3', 'hex');
const SSRC = 0xcafebabe;

/** A source packet with a CSRC, a header extension and 3 bytes of padding, all to be dropped. */
function source(seq: number, ts: number, marker: boolean, payload: Buffer): Buffer {
  const head = Buffer.from([0xb1, (marker ? 0x80 : 0) | 100, seq >> 8, seq & 0xff, ts >>> 24, (ts >>> 16) & 0xff, (ts >>> 8) & 0xff, ts & 0xff, 1, 2, 3, 4]);
  const csrc = Buffer.from('deadbeef', 'hex');
  const ext = Buffer.from('bede0001' + '10ff0000', 'hex');
  return Buffer.concat([head, csrc, ext, payload, Buffer.from([0, 0, 3])]);
}

/** What RFC 3711 / RFC 7714 say the protected packet is, computed with node:crypto. */
function expected(profile: 1 | 7, header: Buffer, payload: Buffer, seq: number, roc: number): Buffer {
  if (profile === 7) {
    const iv = Buffer.alloc(12);
    iv.writeUInt32BE(SSRC, 2);
    iv.writeUInt32BE(roc, 6);
    iv.writeUInt16BE(seq, 10);
    for (let i = 0; i < 12; i++) iv[i]! ^= SALT14[i]!;
    const c = createCipheriv('aes-128-gcm', KEY, iv);
    c.setAAD(header);
    const body = Buffer.concat([c.update(payload), c.final()]);
    return Buffer.concat([header, body, c.getAuthTag()]);
  }
  const iv = Buffer.alloc(16);
  iv.writeUInt32BE(SSRC, 4);
  iv.writeUInt32BE(roc, 8);
  iv.writeUInt16BE(seq, 12);
  for (let i = 0; i < 14; i++) iv[i]! ^= SALT14[i]!;
  const body = createCipheriv('aes-128-ctr', KEY, iv).update(payload);
  const rocBuf = Buffer.alloc(4);
  rocBuf.writeUInt32BE(roc);
  const tag = createHmac('sha1', AUTH).update(header).update(body).update(rocBuf).digest().subarray(0, 10);
  return Buffer.concat([header, body, tag]);
}

/** SRTCP keys distinct from the SRTP ones: a mix-up between the two fails the comparison. */
const RTCP_KEY = Buffer.from('101112131415161718191a1b1c1d1e1f', 'hex');
const RTCP_SALT = Buffer.from('c0c1c2c3c4c5c6c7c8c9cacbcccd', 'hex');
const RTCP_AUTH = Buffer.from('d0d1d2d3d4d5d6d7d8d9dadbdcdddedfe0e1e2e3', 'hex');

/** What RFC 3711 §3.4 / RFC 7714 §9 say the SRTCP packet is, computed with node:crypto. */
function expectedRtcp(profile: 1 | 7, rtcp: Buffer, index: number): Buffer {
  const ssrc = rtcp.readUInt32BE(4);
  const eIndex = Buffer.alloc(4);
  eIndex.writeUInt32BE((0x80000000 | index) >>> 0);
  if (profile === 7) {
    const iv = Buffer.alloc(12);
    iv.writeUInt32BE(ssrc, 2);
    iv.writeUInt32BE(index, 8);
    for (let i = 0; i < 12; i++) iv[i]! ^= RTCP_SALT[i]!;
    const c = createCipheriv('aes-128-gcm', RTCP_KEY, iv);
    c.setAAD(Buffer.concat([rtcp.subarray(0, 8), eIndex]));
    const body = Buffer.concat([c.update(rtcp.subarray(8)), c.final()]);
    return Buffer.concat([rtcp.subarray(0, 8), body, c.getAuthTag(), eIndex]);
  }
  const iv = Buffer.alloc(16);
  iv.writeUInt32BE(ssrc, 4);
  iv.writeUInt32BE(index, 10);
  for (let i = 0; i < 14; i++) iv[i]! ^= RTCP_SALT[i]!;
  const sealed = Buffer.concat([rtcp.subarray(0, 8), createCipheriv('aes-128-ctr', RTCP_KEY, iv).update(rtcp.subarray(8)), eIndex]);
  return Buffer.concat([sealed, createHmac('sha1', RTCP_AUTH).update(sealed).digest().subarray(0, 10)]);
}

/** An SR with an SDES CNAME, as sender-report.ts builds it. */
const REPORT = Buffer.from('80c80006cafebabee5f123456789abcd89abcdef000004d20102030481ca0003cafebabe0105616263646500', 'hex');

/** A receiving and a sending UDP socket on loopback; what arrives is kept with the sender's port. */
async function loopbackPair(rxOptions: dgram.SocketOptions = { type: 'udp4' }) {
  const rx = dgram.createSocket(rxOptions);
  const tx = dgram.createSocket('udp4');
  rx.bind(0, '127.0.0.1');
  tx.bind(0, '127.0.0.1');
  await Promise.all([once(rx, 'listening'), once(tx, 'listening')]);
  const got: Buffer[] = [];
  const ports: number[] = [];
  rx.on('message', (msg, from) => {
    got.push(msg);
    ports.push(from.port);
  });
  return { rx, tx, got, ports };
}

/** Polls `done` every `stepMs` until it holds or `ms` have passed. */
async function settle(done: () => boolean, ms = 5000, stepMs = 10): Promise<void> {
  const deadline = Date.now() + ms;
  while (!done() && Date.now() < deadline) await new Promise((r) => setTimeout(r, stepMs));
}

describe('native SRTP sender (server/native/srtp-sender.c)', { skip: addon ? false : 'not built' }, () => {
  const a = addon!;

  for (const profile of [7, 1] as const) {
    test(`profile ${profile}: byte-exact header rewrite and protection across a sequence wrap`, () => {
      const info = new Uint32Array(INFO.size);
      const h = a.create(0xfffe, 1000, info);
      assert.equal(a.configure(h, profile, KEY, SALT14, profile === 1 ? AUTH : null, SSRC, 96), true);
      assert.equal(a.setPeer(h, '127.0.0.1', 9), true);
      for (let i = 0; i < 4; i++) {
        const payload = Buffer.alloc(50 + i, 0x40 + i);
        // No socket: built and kept, not sent (how TCP and TURN pairs are served).
        assert.equal(a.send(h, source(500 + i, 7000 + i * 3000, i === 3, payload), i === 2 ? 0 : 5), 0);
        const seq = (0xfffe + i) & 0xffff;
        assert.deepEqual([...info], [seq, 1001 + i * 3000, i === 3 ? 1 : 0, payload.length, info[INFO.length]]);
        const header = Buffer.alloc(i === 2 ? 12 : 20);
        header[0] = i === 2 ? 0x80 : 0x90;
        header[1] = (i === 3 ? 0x80 : 0) | 96;
        header.writeUInt16BE(seq, 2);
        header.writeUInt32BE(1001 + i * 3000, 4);
        header.writeUInt32BE(SSRC, 8);
        if (i !== 2) Buffer.from('bede000152000000', 'hex').copy(header, 12);
        // The rollover counter becomes 1 at the wrap (the first packet is the session's start).
        assert.deepEqual(a.packet(h, seq), expected(profile, header, payload, seq, seq < 0xfffe ? 1 : 0), `packet ${i}`);
      }
      a.close(h);
      a.close(h);
      assert.throws(() => a.send(h, source(1, 1, false, Buffer.alloc(1)), 0), /send\(handle/);
    });
  }

  test('rebase continues the output sequence and timestamp from a new source', () => {
    const info = new Uint32Array(INFO.size);
    const h = a.create(10, 50, info);
    a.configure(h, 7, KEY, SALT14, null, SSRC, 96);
    a.setPeer(h, '::1', 9);
    a.send(h, source(30000, 9000, false, Buffer.alloc(10)), 0);
    a.send(h, source(30001, 9000, true, Buffer.alloc(10)), 0);
    assert.deepEqual([info[INFO.seq], info[INFO.ts]], [11, 51]);
    a.rebase(h);
    a.send(h, source(7, 123456789, false, Buffer.alloc(10)), 0);
    assert.deepEqual([info[INFO.seq], info[INFO.ts]], [12, 52]);
    a.close(h);
  });

  test('refuses what it cannot protect, and input that is not RTP', async () => {
    const tx = dgram.createSocket('udp4');
    tx.bind(0, '127.0.0.1');
    await once(tx, 'listening');
    const info = new Uint32Array(INFO.size);
    const h = a.create(0, 0, info);
    assert.equal(a.send(h, source(1, 1, false, Buffer.alloc(4)), 0), -2, 'not configured');
    assert.equal(a.configure(h, 2, KEY, SALT14, null, SSRC, 96), false, 'unknown profile');
    assert.equal(a.configure(h, 1, KEY, SALT14, null, SSRC, 96), false, 'AES-CM without an auth key');
    assert.equal(a.configure(h, 7, KEY.subarray(0, 8), SALT14, null, SSRC, 96), false, 'short key');
    assert.equal(a.configure(h, 7, KEY, SALT14, null, SSRC, 96), true);
    assert.equal(a.setSocket(h, socketFd(tx)), true);
    assert.equal(a.setPeer(h, 'example.com', 9), false);
    assert.equal(a.send(h, source(1, 1, false, Buffer.alloc(4)), 0), 0, 'no peer address: built, sent by the caller');
    a.setPeer(h, '127.0.0.1', 9);
    assert.equal(a.send(h, source(2, 1, false, Buffer.alloc(4)), 0), 12 + 4 + 16, 'queued');
    a.flush(h);
    tx.close();
    for (const bad of [Buffer.alloc(0), Buffer.alloc(11, 0x80), Buffer.from([0x40, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]), Buffer.from([0x8f, ...Array(15).fill(0)]), Buffer.from([0xa0, 96, ...Array(10).fill(0)])])
      assert.equal(a.send(h, bad, 0), -1, bad.toString('hex'));
    assert.throws(() => a.send(h, 'not a buffer' as unknown as Buffer, 0), /send\(handle/);
    assert.equal(a.resend(h, 4242), -1, 'never sent');
    assert.equal(a.packet(h, 4242), null);
    a.close(h);
  });

  test('flushAll hands several senders\' queues over at once; closed senders and junk are skipped', async () => {
    const { rx, tx, got } = await loopbackPair();
    const senders = [0, 1, 2].map(() => {
      const h = a.create(1000, 0, new Uint32Array(INFO.size));
      a.configure(h, 7, KEY, SALT14, null, SSRC, 96);
      a.setPeer(h, '127.0.0.1', rx.address().port);
      a.setSocket(h, socketFd(tx));
      for (let i = 0; i < 5; i++) a.send(h, source(i, 1, i === 4, Buffer.alloc(800, i)), 0);
      return h;
    });
    a.close(senders[2]!);
    a.flushAll([senders[0]!, senders[1]!, senders[2]!, {} as never]);
    await settle(() => got.length >= 10);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(got.length, 10, 'five packets from each open sender, none from the closed one');
    assert.equal(a.dropped(senders[0]!), 0);
    senders.forEach((h) => a.close(h));
    tx.close();
    rx.close();
  });

  for (const profile of [7, 1] as const) {
    test(`profile ${profile}: sender reports leave as SRTCP, byte-exact, with the index given`, async () => {
      const { rx, tx, got } = await loopbackPair();
      const h = a.create(0, 0, new Uint32Array(INFO.size));
      const rtcpAuth = profile === 1 ? RTCP_AUTH : null;
      assert.equal(a.configureRtcp(h, RTCP_KEY, RTCP_SALT, rtcpAuth), false, 'no profile yet');
      assert.equal(a.configure(h, profile, KEY, SALT14, profile === 1 ? AUTH : null, SSRC, 96), true);
      assert.throws(() => a.sendRtcp(h, REPORT, 1), /no SRTCP keys/);
      assert.equal(a.configureRtcp(h, RTCP_KEY, RTCP_SALT.subarray(0, profile === 7 ? 4 : 12), rtcpAuth), false, 'short salt');
      assert.equal(a.configureRtcp(h, RTCP_KEY, RTCP_SALT, rtcpAuth), true);
      assert.equal(a.sendRtcp(h, REPORT, 1), 0, 'no socket: not sent, left to the caller');
      a.setPeer(h, '127.0.0.1', rx.address().port);
      a.setSocket(h, socketFd(tx));
      const indices = [1, 2, 0x12345, 0x7fffffff, 0];
      for (const index of indices) assert.equal(a.sendRtcp(h, REPORT, index), expectedRtcp(profile, REPORT, index).length);
      const sr = REPORT.subarray(0, 28);
      assert.equal(a.sendRtcp(h, sr, 9), expectedRtcp(profile, sr, 9).length);
      await settle(() => got.length >= indices.length + 1);
      indices.forEach((index, i) => assert.deepEqual(got[i], expectedRtcp(profile, REPORT, index), `index ${index}`));
      assert.deepEqual(got[indices.length], expectedRtcp(profile, sr, 9));
      for (const bad of [Buffer.alloc(7, 0x80), Buffer.from('80600006cafebabe', 'hex'), Buffer.from('40c80006cafebabe', 'hex'), Buffer.alloc(1201, 0x80)])
        assert.throws(() => a.sendRtcp(h, bad, 1), /not an RTCP packet/, bad.subarray(0, 8).toString('hex'));
      assert.throws(() => a.sendRtcp(h, REPORT, 0x80000000), /sendRtcp\(handle/, 'a 32-bit index');
      // New SRTP keys drop the SRTCP ones: a stale key is never used with a new session.
      a.configure(h, profile, KEY, SALT14, profile === 1 ? AUTH : null, SSRC, 96);
      assert.throws(() => a.sendRtcp(h, REPORT, 1), /no SRTCP keys/);
      a.close(h);
      tx.close();
      rx.close();
    });
  }

  test('packets built while the sender thread writes earlier ones are never torn (ring wrapping onto slots in flight)', async () => {
    const { rx, tx, got } = await loopbackPair({ type: 'udp4', recvBufferSize: 8 << 20 });
    const h = a.create(0, 1000, new Uint32Array(INFO.size));
    a.configure(h, 7, KEY, SALT14, null, SSRC, 96);
    a.setPeer(h, '127.0.0.1', rx.address().port);
    a.setSocket(h, socketFd(tx));
    // Six turns of the 512-slot ring without yielding: every 64th packet hands a batch to the
    // sender thread while the next ones are built, some into the slots it is writing.
    const total = 3000;
    const payloadFor = (seq: number) => Buffer.alloc(1000 + (seq % 3), seq & 0xff);
    for (let seq = 0; seq < total; seq++) a.send(h, Buffer.concat([Buffer.from([0x80, 100, seq >> 8, seq & 0xff, 0, 0, 0, 7, 1, 2, 3, 4]), payloadFor(seq)]), 0);
    a.flush(h);
    await settle(() => got.length + a.dropped(h) >= total, 5000, 20);
    assert.ok(got.length > total / 2, `${got.length} of ${total} arrived`);
    for (const msg of got) {
      const seq = msg.readUInt16BE(2);
      const header = Buffer.from([0x80, 96, seq >> 8, seq & 0xff, 0, 0, 0x03, 0xe9, 0xca, 0xfe, 0xba, 0xbe]);
      assert.deepEqual(msg, expected(7, header, payloadFor(seq), seq, 0), `packet ${seq}`);
    }
    a.close(h);
    tx.close();
    rx.close();
  });

  for (const threaded of [true, false]) {
    test(`queues packets and flushes them (${threaded ? 'sender thread' : 'in the caller'}) to the socket it is given, one datagram each, in order; resends from its history`, async () => {
      a.threaded(threaded);
      const { rx, tx, got, ports } = await loopbackPair();
      const arrived = async (n: number) => {
        await settle(() => got.length >= n);
        assert.equal(got.length, n);
      };
      const info = new Uint32Array(INFO.size);
      const h = a.create(100, 0, info);
      a.configure(h, 7, KEY, SALT14, null, SSRC, 96);
      a.setPeer(h, '127.0.0.1', rx.address().port);
      const fd = socketFd(tx);
      assert.ok(fd > 2);
      assert.equal(a.setSocket(h, fd), true);
      // A frame as the payloader cuts it: equal packets and a shorter last one (one GSO run),
      // then a second frame, then a run longer than a GSO write may carry (64 datagrams).
      const sizes = [...Array(9).fill(1188), 500, ...Array(3).fill(1188), 77, ...Array(70).fill(300)];
      sizes.forEach((size, i) => assert.equal(a.send(h, source(i, 1, false, Buffer.alloc(size, i)), 0), 12 + size + 16));
      await new Promise((r) => setTimeout(r, 50));
      // 64 were flushed when the queue filled; the rest wait for flush().
      assert.equal(got.length, 64, 'only a full queue leaves before flush');
      assert.equal(a.flush(h), 0, 'nothing refused');
      assert.equal(a.flush(h), 0, 'an empty queue');
      await arrived(sizes.length);
      got.forEach((msg, i) => {
        // From the socket's own port: the viewer's ICE pair sees the same 5-tuple.
        assert.equal(ports[i], tx.address().port);
        assert.deepEqual(msg, a.packet(h, 100 + i), `datagram ${i}`);
      });
      assert.equal(a.resend(h, 100), 12 + 1188 + 16);
      await arrived(sizes.length + 1);
      assert.deepEqual(got.at(-1), got[0]);

      // Node closes the socket and hands its fd number to a new one: the sender keeps its own
      // copy, so nothing goes out of the new socket.
      const txPort = tx.address().port;
      tx.close();
      assert.equal(socketFd(tx), -1, 'a closed socket has no fd');
      const other = dgram.createSocket('udp4');
      other.bind(0, '127.0.0.1');
      await once(other, 'listening');
      a.send(h, source(500, 1, true, Buffer.alloc(10)), 0);
      a.flush(h);
      await arrived(sizes.length + 2);
      assert.equal(ports.at(-1), txPort);
      assert.equal(a.setSocket(h, -1), true);
      assert.equal(a.send(h, source(501, 1, true, Buffer.alloc(10)), 0), 0, 'no socket: built only');
      other.close();
      rx.close();
      a.close(h);
      a.threaded(true);
    });
  }
});
