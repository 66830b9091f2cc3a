/**
 * RtpStream against a real Xvfb and real gst-launch-1.0 encoders.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { after, afterEach, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { silentLogger } from '../../../server/src/log.js';
import { getCodec, type Codec } from '../../../server/src/capture/codecs.js';
import { buildVideoPipeline } from '../../../server/src/capture/pipelines.js';
import { keyframeDetector, parseRtpHeader, rtpPayload } from '../../../server/src/capture/rtp.js';
import { RtpStream } from '../../../server/src/capture/stream.js';
import type { XServer } from '../../../server/src/desktop/xserver.js';
import { startXvfb } from '../../helpers/xvfb.js';

let x: XServer;
const streams: RtpStream[] = [];

before(async () => {
  x = await startXvfb({ width: 1280, height: 720 });
});
afterEach(async () => {
  await Promise.all(streams.splice(0).map((s) => s.close()));
});
after(async () => {
  await x?.close();
});

function videoStream(codec: Codec, idleStopMs = 5000): RtpStream {
  const s = new RtpStream({
    id: 'main',
    kind: 'video',
    codec,
    env: { ...process.env, DISPLAY: x.display },
    logger: silentLogger(),
    idleStopMs,
    pipeline: (port) =>
      buildVideoPipeline({
        display: x.display,
        codec,
        config: { fps: 30 },
        screen: { width: 1280, height: 720, rate: 30 },
        port,
      }),
  });
  streams.push(s);
  return s;
}

/** gst-launch processes sending to this port. */
function encoders(port: number): string[] {
  try {
    return execFileSync('pgrep', ['-f', `gst-launch-1.0 .*port=${port} `], { encoding: 'utf8' }).trim().split('\n');
  } catch {
    return [];
  }
}

function isKey(codec: Codec, pkt: Buffer): boolean {
  const h = parseRtpHeader(pkt);
  assert.ok(h, 'valid RTP');
  return keyframeDetector(codec.name)!(rtpPayload(pkt, h));
}

async function waitFor(cond: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timeout waiting for ${what}`);
    await sleep(10);
  }
}

const seqOf = (b: Buffer): number => parseRtpHeader(b)!.sequenceNumber;

async function firstPacketAndLateJoiner(codec: Codec): Promise<void> {
  const s = videoStream(codec);
  const a: Buffer[] = [];
  const t0 = performance.now();
  let firstMs = -1;
  s.subscribe((p) => {
    if (a.length === 0) firstMs = performance.now() - t0;
    a.push(p);
  });
  await waitFor(() => a.length > 0, 3000, 'first packet');
  console.log(`# ${codec.name}: first packet after ${firstMs.toFixed(0)} ms`);
  assert.ok(firstMs < 1500, `first packet after ${firstMs} ms`);
  assert.equal(parseRtpHeader(a[0]!)!.payloadType, codec.payloadType);
  assert.ok(isKey(codec, a[0]!), 'first packet starts a keyframe');
  assert.equal(s.state, 'running');

  await sleep(700); // mid-GOP (keyframes every 2 s)
  const b: Buffer[] = [];
  s.subscribe((p) => b.push(p));
  await sleep(300);
  assert.ok(b.length > 0, 'late subscriber got packets');
  assert.ok(isKey(codec, b[0]!), 'late subscriber starts with a keyframe');
  // The late joiner's stream is contiguous and ends exactly like the first one.
  for (let i = 1; i < b.length; i++) assert.equal(seqOf(b[i]!), (seqOf(b[i - 1]!) + 1) & 0xffff, 'contiguous replay');
  assert.equal(seqOf(b.at(-1)!), seqOf(a.at(-1)!));
  // The same buffer for every subscriber (read-only; no copy per viewer).
  assert.equal(a.at(-1), b.at(-1));

  const st = s.stats();
  assert.equal(st.subscribers, 2);
  assert.ok(st.keyframes >= 1, `keyframes ${st.keyframes}`);
  assert.ok(st.bitrate > 0, `bitrate ${st.bitrate}`);
  console.log(`# ${codec.name}: ${st.packets} packets, ${st.bytes} bytes, ${st.bitrate} bit/s, gaps ${st.seqGaps}`);
}

describe('RtpStream with Xvfb + GStreamer', () => {
  it('VP8: keyframe first within ~1 s; a late subscriber gets the cache from the keyframe', async () => {
    await firstPacketAndLateJoiner(getCodec('vp8', 'video'));
  });

  it('H264: same', async () => {
    await firstPacketAndLateJoiner(getCodec('h264', 'video'));
  });

  it('killEncoder: the supervisor restarts it; same subscription, discontinuity, keyframe first', async () => {
    const codec = getCodec('vp8', 'video');
    const s = videoStream(codec);
    const events: Array<'disc' | Buffer> = [];
    s.subscribe(
      (p) => events.push(p),
      () => events.push('disc'),
    );
    await waitFor(() => events.length > 5, 3000, 'packets');
    const oldSsrc = parseRtpHeader(events[0] as Buffer)!.ssrc;
    const restarted = once(s, 'restarted');
    const t0 = performance.now();
    s.killEncoder();
    await waitFor(() => s.state === 'restarting', 2000, 'restarting state');
    await restarted;
    await waitFor(() => events.includes('disc') && events.at(-1) !== 'disc', 3000, 'packets after restart');
    console.log(`# kill → first packet again after ${(performance.now() - t0).toFixed(0)} ms`);
    const i = events.indexOf('disc');
    assert.equal(events.lastIndexOf('disc'), i, 'one discontinuity');
    const next = events[i + 1] as Buffer;
    assert.ok(isKey(codec, next), 'first packet after the restart is a keyframe');
    assert.notEqual(parseRtpHeader(next)!.ssrc, oldSsrc);
    assert.equal(s.stats().restarts, 1);
    assert.equal(s.state, 'running');
    assert.equal(encoders(s.port).length, 1);
  });

  it('restart(): new process, restarted + discontinuity', async () => {
    const s = videoStream(getCodec('vp8', 'video'));
    let disc = 0;
    let n = 0;
    s.subscribe(
      () => n++,
      () => disc++,
    );
    await waitFor(() => n > 0, 3000, 'packets');
    const restarted = once(s, 'restarted');
    await s.restart();
    await restarted;
    const before = n;
    await waitFor(() => n > before && disc === 1, 3000, 'packets after restart');
    assert.equal(s.stats().restarts, 1);
    assert.equal(encoders(s.port).length, 1);
  });

  it('the last unsubscribe stops the encoder after idleStopMs', async () => {
    const s = videoStream(getCodec('vp8', 'video'), 300);
    let n = 0;
    const unsub = s.subscribe(() => n++);
    await waitFor(() => n > 0, 3000, 'packets');
    assert.equal(encoders(s.port).length, 1);
    unsub();
    await sleep(150);
    assert.equal(s.state, 'running', 'still running within idleStopMs');
    await waitFor(() => s.state === 'idle', 3000, 'idle');
    await waitFor(() => encoders(s.port).length === 0, 2000, 'gst-launch gone');
    // Starts again for a new subscriber, keyframe first.
    const got: Buffer[] = [];
    s.subscribe((p) => got.push(p));
    await waitFor(() => got.length > 0, 3000, 'packets after idle');
    assert.ok(isKey(getCodec('vp8', 'video'), got[0]!));
    const port = s.port;
    await s.close();
    assert.equal(encoders(port).length, 0, 'close kills the encoder');
  });
});
