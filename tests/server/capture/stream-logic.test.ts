/**
 * RtpStream fan-out logic with hand-made packets: the "encoder" is an idle gst-launch that
 * sends nothing, and the test writes RTP to the stream's UDP port itself.
 */
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { after, afterEach, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { silentLogger } from '../../../server/src/log.js';
import { getCodec, type Codec } from '../../../server/src/capture/codecs.js';
import { parseRtpHeader } from '../../../server/src/capture/rtp.js';
import { CACHE_MAX_PACKETS, RtpStream } from '../../../server/src/capture/stream.js';
import { waitFor } from '../../helpers/x11.js';

const IDLE_PIPELINE = 'videotestsrc is-live=true ! video/x-raw,width=16,height=16,framerate=1/1 ! fakesink';

const sender = dgram.createSocket('udp4');
after(() => sender.close());

const streams: RtpStream[] = [];
afterEach(async () => {
  await Promise.all(streams.splice(0).map((s) => s.close()));
});

function makeStream(codec: Codec = getCodec('vp8', 'video'), opts: { idleStopMs?: number; pipeline?: () => string } = {}): RtpStream {
  const s = new RtpStream({
    id: 'test',
    kind: codec.kind,
    codec,
    pipeline: opts.pipeline ?? (() => IDLE_PIPELINE),
    logger: silentLogger(),
    idleStopMs: opts.idleStopMs ?? 200,
  });
  streams.push(s);
  return s;
}

async function untilStarted(s: RtpStream): Promise<void> {
  const deadline = Date.now() + 3000;
  while (s.port === 0 || s.state !== 'starting') {
    if (Date.now() > deadline) throw new Error(`stream did not start (state ${s.state})`);
    await sleep(10);
  }
}

function packet(seq: number, ts: number, payload: number[], ssrc = 0x1234): Buffer {
  const b = Buffer.alloc(12 + payload.length);
  b[0] = 0x80;
  b[1] = 96;
  b.writeUInt16BE(seq & 0xffff, 2);
  b.writeUInt32BE(ts >>> 0, 4);
  b.writeUInt32BE(ssrc >>> 0, 8);
  Buffer.from(payload).copy(b, 12);
  return b;
}
const vp8Key = (seq: number, ts: number, ssrc?: number): Buffer => packet(seq, ts, [0x10, 0x50, 0x42, 0x00, 0x9d, 0x01, 0x2a], ssrc);
const vp8Cont = (seq: number, ts: number, ssrc?: number): Buffer => packet(seq, ts, [0x00, 0xaa, 0xbb], ssrc);
const vp8Delta = (seq: number, ts: number, ssrc?: number): Buffer => packet(seq, ts, [0x10, 0x51, 0x42, 0x00], ssrc);

/**
 * Sends packets and waits until the stream has taken every one in (its packet count), so
 * whatever it does with them — deliver, hold back, cache — has been done.
 */
async function send(s: RtpStream, ...pkts: Buffer[]): Promise<void> {
  const taken = s.stats().packets + pkts.length;
  for (const p of pkts) sender.send(p, s.port, '127.0.0.1');
  await waitFor(`${pkts.length} packets taken in`, () => s.stats().packets >= taken);
}

/** Resolves once the kernel holds nothing more for the stream's socket: Node has read it all. */
function socketDrained(port: number): Promise<true> {
  const local = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  return waitFor(`loopback port ${port} read empty`, async () => {
    const line = (await readFile('/proc/net/udp', 'utf8')).split('\n').find((l) => l.trim().split(/\s+/)[1] === local);
    if (!line) throw new Error(`no UDP socket on ${local}`);
    const [, rxQueue] = line.trim().split(/\s+/)[4]!.split(':');
    return parseInt(rxQueue!, 16) === 0;
  });
}

/** A subscriber's cache replay happens on the next tick. */
const replayed = () => new Promise((resolve) => process.nextTick(resolve));

const seqOf = (b: Buffer): number => parseRtpHeader(b)!.sequenceNumber;

describe('RtpStream fan-out (injected packets)', () => {
  it('holds a first subscriber until a keyframe, then replays the cache to a late one', async () => {
    const s = makeStream();
    const a: Buffer[] = [];
    s.subscribe((p) => a.push(p));
    await untilStarted(s);
    await send(s, vp8Delta(1, 100), vp8Delta(2, 200));
    assert.equal(a.length, 0, 'no delta frames before the first keyframe');
    assert.equal(s.state, 'running');
    await send(s, vp8Key(3, 300), vp8Cont(4, 300), vp8Delta(5, 400));
    assert.deepEqual(a.map(seqOf), [3, 4, 5]);

    const b: Buffer[] = [];
    s.subscribe((p) => b.push(p));
    assert.equal(b.length, 0, 'replay is asynchronous');
    await replayed();
    assert.deepEqual(b.map(seqOf), [3, 4, 5], 'replay from the keyframe on the next tick');
    await send(s, vp8Delta(6, 500));
    assert.deepEqual(a.map(seqOf), [3, 4, 5, 6]);
    assert.deepEqual(b.map(seqOf), [3, 4, 5, 6]);

    // One buffer per packet, shared by every subscriber (they only read it): no copy per viewer.
    for (let i = 0; i < a.length; i++) assert.equal(a[i], b[i]);

    // A new keyframe resets the cache.
    await send(s, vp8Key(7, 600), vp8Delta(8, 700));
    const c: Buffer[] = [];
    s.subscribe((p) => c.push(p));
    await replayed();
    assert.deepEqual(c.map(seqOf), [7, 8]);
    // The bitrate needs a short measuring window.
    await waitFor('a measured bitrate', () => s.stats().bitrate > 0);
    const st = s.stats();
    assert.equal(st.keyframes, 2);
    assert.equal(st.packets, 8);
    assert.equal(st.subscribers, 3);
    assert.equal(st.seqGaps, 0);
    assert.ok(st.bitrate > 0, `bitrate ${st.bitrate}`);
  });

  it('counts sequence gaps (with wrap-around) and ignores reordering', async () => {
    const s = makeStream();
    s.subscribe(() => undefined);
    await untilStarted(s);
    await send(s, vp8Key(65533, 1), vp8Delta(65534, 2), vp8Delta(1, 3)); // 65535, 0 missing
    await send(s, vp8Delta(0, 3)); // late
    await send(s, vp8Delta(5, 4)); // 2,3,4 missing
    assert.equal(s.stats().seqGaps, 5);
  });

  it('bounds the keyframe cache; a new subscriber then waits for the next keyframe', async () => {
    const s = makeStream();
    const a: Buffer[] = [];
    s.subscribe((p) => a.push(p));
    await untilStarted(s);
    const pkts = [vp8Key(1, 1)];
    for (let i = 0; i < CACHE_MAX_PACKETS + 5; i++) pkts.push(vp8Cont(2 + i, 1));
    for (let i = 0; i < pkts.length; i += 200) await send(s, ...pkts.slice(i, i + 200));
    assert.equal(a.length, pkts.length);
    const late: Buffer[] = [];
    s.subscribe((p) => late.push(p));
    await send(s, vp8Delta(CACHE_MAX_PACKETS + 10, 2));
    assert.equal(late.length, 0);
    await send(s, vp8Key(CACHE_MAX_PACKETS + 11, 3));
    assert.deepEqual(late.map(seqOf), [CACHE_MAX_PACKETS + 11]);
  });

  it('H264: SPS (STAP-A) and the IDR of the same frame form one keyframe', async () => {
    const s = makeStream(getCodec('h264', 'video'));
    s.subscribe(() => undefined);
    await untilStarted(s);
    const sps = [0x67, 0x42, 0xc0, 0x1f];
    const pps = [0x68, 0xce, 0x3c, 0x80];
    const stap = packet(10, 900, [0x78, 0, sps.length, ...sps, 0, pps.length, ...pps]);
    const idrStart = packet(11, 900, [0x7c, 0x85, 0x88]);
    const idrEnd = packet(12, 900, [0x7c, 0x45, 0x88]);
    const next = packet(13, 1800, [0x41, 0x9a]);
    await send(s, stap, idrStart, idrEnd, next);
    const late: Buffer[] = [];
    s.subscribe((p) => late.push(p));
    await replayed();
    assert.deepEqual(late.map(seqOf), [10, 11, 12, 13]);
    assert.equal(s.stats().keyframes, 1);
  });

  it('audio subscribers get every packet at once; a throwing subscriber does not hurt others', async () => {
    const s = makeStream(getCodec('opus', 'audio'));
    const got: Buffer[] = [];
    s.subscribe(() => {
      throw new Error('boom');
    });
    s.subscribe((p) => got.push(p));
    await untilStarted(s);
    await send(s, packet(1, 0, [1]), packet(2, 480, [2]));
    assert.deepEqual(got.map(seqOf), [1, 2]);
  });

  it('an SSRC change signals a discontinuity', async () => {
    const s = makeStream();
    let disc = 0;
    const seen: string[] = [];
    s.subscribe(
      (p) => seen.push(`${parseRtpHeader(p)!.ssrc}:${seqOf(p)}`),
      () => {
        disc++;
        seen.push('disc');
      },
    );
    await untilStarted(s);
    await send(s, vp8Key(1, 1, 1), vp8Delta(2, 2, 1));
    await send(s, vp8Key(900, 5, 2));
    assert.equal(disc, 1);
    assert.deepEqual(seen, ['1:1', '1:2', 'disc', '2:900']);
    assert.equal(s.stats().seqGaps, 0, 'a new SSRC re-bases the sequence check');
  });

  it('stops after idleStopMs without subscribers; a quick re-subscribe keeps it running', async () => {
    const idleStopMs = 150;
    const s = makeStream(undefined, { idleStopMs });
    const unsub1 = s.subscribe(() => undefined);
    await untilStarted(s);
    const port = s.port;
    const states: string[] = [];
    s.on('state', (state) => states.push(state));
    unsub1();
    unsub1(); // idempotent
    // Armed after the stream's idle timer with the same delay, so it fires after that one would.
    const idleTimerDue = sleep(idleStopMs);
    const unsub2 = s.subscribe(() => undefined);
    await idleTimerDue;
    // Queued behind any stop the idle timer may have started.
    await s.restart();
    assert.deepEqual(states, ['restarting', 'starting'], 'never stopped: the encoder ran until the restart');
    unsub2();
    await once(s, 'state');
    assert.equal(s.state, 'idle');
    assert.equal(s.port, port, 'socket stays bound');
    // Packets while idle are dropped: this one is not counted, unlike one sent once it runs again.
    await new Promise((resolve) => sender.send(vp8Key(1, 1), s.port, '127.0.0.1', resolve));
    await socketDrained(s.port);
    const got: Buffer[] = [];
    s.subscribe((p) => got.push(p));
    await untilStarted(s);
    await send(s, vp8Key(2, 2));
    assert.equal(s.stats().packets, 1, 'the packet sent while idle was dropped');
    assert.deepEqual(got.map(seqOf), [2]);
  });

  it('a pipeline that cannot be built fails; a later subscriber retries', async () => {
    let fail = true;
    const s = makeStream(undefined, {
      pipeline: () => {
        if (fail) throw new Error('bad expression');
        return IDLE_PIPELINE;
      },
    });
    const unsub = s.subscribe(() => undefined);
    await once(s, 'state');
    assert.equal(s.state, 'failed');
    fail = false;
    s.subscribe(() => undefined);
    await untilStarted(s);
    unsub();
  });

  it('close is idempotent and subscribe after close is a no-op', async () => {
    const s = makeStream();
    s.subscribe(() => undefined);
    await untilStarted(s);
    const p1 = s.close();
    const p2 = s.close();
    assert.equal(p1, p2);
    await p1;
    assert.equal(s.state, 'idle');
    const unsub = s.subscribe(() => undefined);
    unsub();
    assert.equal(s.stats().subscribers, 0);
  });
});
