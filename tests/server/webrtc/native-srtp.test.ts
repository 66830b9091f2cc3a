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
    const rx = dgram.createSocket('udp4');
    const tx = dgram.createSocket('udp4');
    rx.bind(0, '127.0.0.1');
    tx.bind(0, '127.0.0.1');
    await Promise.all([once(rx, 'listening'), once(tx, 'listening')]);
    const got: Buffer[] = [];
    rx.on('message', (msg) => got.push(msg));
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
    const deadline = Date.now() + 5000;
    while (got.length < 10 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(got.length, 10, 'five packets from each open sender, none from the closed one');
    assert.equal(a.dropped(senders[0]!), 0);
    senders.forEach((h) => a.close(h));
    tx.close();
    rx.close();
  });

  for (const threaded of [true, false]) {
    test(`queues packets and flushes them (${threaded ? 'sender thread' : 'in the caller'}) to the socket it is given, one datagram each, in order; resends from its history`, async () => {
      a.threaded(threaded);
      const rx = dgram.createSocket('udp4');
      const tx = dgram.createSocket('udp4');
      rx.bind(0, '127.0.0.1');
      tx.bind(0, '127.0.0.1');
      await Promise.all([once(rx, 'listening'), once(tx, 'listening')]);
      const got: Array<{ msg: Buffer; port: number }> = [];
      rx.on('message', (msg, from) => got.push({ msg, port: from.port }));
      const arrived = async (n: number) => {
        const deadline = Date.now() + 5000;
        while (got.length < n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
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
      got.forEach((g, i) => {
        // From the socket's own port: the viewer's ICE pair sees the same 5-tuple.
        assert.equal(g.port, tx.address().port);
        assert.deepEqual(g.msg, a.packet(h, 100 + i), `datagram ${i}`);
      });
      assert.equal(a.resend(h, 100), 12 + 1188 + 16);
      await arrived(sizes.length + 1);
      assert.deepEqual(got.at(-1)!.msg, got[0]!.msg);

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
      assert.equal(got.at(-1)!.port, txPort);
      assert.equal(a.setSocket(h, -1), true);
      assert.equal(a.send(h, source(501, 1, true, Buffer.alloc(10)), 0), 0, 'no socket: built only');
      other.close();
      rx.close();
      a.close(h);
      a.threaded(true);
    });
  }
});
