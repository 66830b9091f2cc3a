import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  MediaStreamTrack,
  RTCPeerConnection,
  RTCRtpCodecParameters,
  RTCRtpHeaderExtensionParameters,
  type RTCRtpSender,
  type RtcpPacket,
  RtcpSourceDescriptionPacket,
  RtcpSrPacket,
  type RtpPacket,
} from 'werift';
import { PLAYOUT_DELAY_URI } from '../../../server/src/webrtc/playout-delay.js';
import { SrtpForwarder, type SrtpForwarderOptions, writeRtpHeader } from '../../../server/src/webrtc/srtp-forwarder.js';

const VP8 = () =>
  new RTCRtpCodecParameters({ mimeType: 'video/VP8', clockRate: 90000, payloadType: 96, rtcpFeedback: [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }] });

interface Pair {
  sender: RTCRtpSender;
  received: RtpPacket[];
  /** RTCP the receiver decrypted (SRTCP authenticated). */
  rtcp: RtcpPacket[];
  close(): Promise<void>;
}

const open: Pair[] = [];
after(async () => {
  await Promise.all(open.map((p) => p.close()));
});

/**
 * A werift sender and receiver connected over loopback. `receiverProfiles` narrows what the
 * receiver offers in DTLS use_srtp (a browser without GCM); `inboundLossPercent` makes the
 * receiver drop that share of incoming packets (werift's own debug hook, inverted: it keeps
 * `value` % of them).
 */
async function connect(opts: { receiverProfiles?: number[]; keepPercent?: number } = {}): Promise<Pair> {
  const config = {
    iceServers: [],
    iceAdditionalHostAddresses: ['127.0.0.1'],
    iceUseIpv6: false,
    bundlePolicy: 'max-bundle' as const,
    codecs: { video: [VP8()], audio: [] },
    headerExtensions: { video: [new RTCRtpHeaderExtensionParameters({ id: 1, uri: PLAYOUT_DELAY_URI })], audio: [] },
  };
  const a = new RTCPeerConnection(config);
  const b = new RTCPeerConnection({ ...config, debug: opts.keepPercent ? { inboundPacketLoss: opts.keepPercent } : undefined });
  const transceiver = a.addTransceiver(new MediaStreamTrack({ kind: 'video' }), { direction: 'sendonly' });
  const received: RtpPacket[] = [];
  b.onTrack.subscribe((track) => track.onReceiveRtp.subscribe((rtp) => received.push(rtp.clone())));
  await a.setLocalDescription(await a.createOffer());
  await b.setRemoteDescription(a.localDescription!);
  if (opts.receiverProfiles) for (const t of b.dtlsTransports) (t as unknown as { srtpProfiles: number[] }).srtpProfiles = opts.receiverProfiles;
  await b.setLocalDescription(await b.createAnswer());
  await a.setRemoteDescription(b.localDescription!);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('not connected within 10 s')), 10_000);
    const check = () => {
      if (a.connectionState === 'connected' && b.connectionState === 'connected') {
        clearTimeout(timer);
        resolve();
      }
    };
    a.connectionStateChange.subscribe(check);
    b.connectionStateChange.subscribe(check);
    check();
  });
  const rtcp: RtcpPacket[] = [];
  for (const t of b.dtlsTransports) t.onRtcp.subscribe((packet) => rtcp.push(packet));
  const pair: Pair = { sender: transceiver.sender, received, rtcp, close: async () => void (await Promise.all([a.close(), b.close()])) };
  open.push(pair);
  return pair;
}

/** An encoder-style packet: PT 96 from gst, its own SSRC/seq/ts, `payload` bytes. */
function sourcePacket(seq: number, ts: number, marker: boolean, payload: Buffer): Buffer {
  const out = Buffer.alloc(12 + payload.length);
  writeRtpHeader(out, { marker, payloadType: 96, seq, ts, ssrc: 0x11223344, playoutDelayId: null });
  payload.copy(out, 12);
  return out;
}

const payloadOf = (i: number) => Buffer.alloc(900 + (i % 200), i & 0xff);

async function sendPaced(fwd: SrtpForwarder, from: number, count: number, seqBase: number, tsBase: number): Promise<void> {
  for (let i = from; i < from + count; i++) {
    fwd.send(sourcePacket((seqBase + i) & 0xffff, (tsBase + Math.floor(i / 5) * 3000) >>> 0, i % 5 === 4, payloadOf(i)));
    if (i % 10 === 9) await sleep(2);
  }
}

async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

describe('RTP header writer (byte fixtures)', () => {
  test('plain header: V=2, marker, payload type, sequence, timestamp, SSRC', () => {
    const out = Buffer.alloc(12);
    assert.equal(writeRtpHeader(out, { marker: true, payloadType: 96, seq: 0x1234, ts: 0xdeadbeef, ssrc: 0x01020304, playoutDelayId: null }), 12);
    assert.equal(out.toString('hex'), '80e01234deadbeef01020304');
  });

  test('with playout delay: X bit, 0xBEDE profile, one word, id 5 length 3, min = max = 0', () => {
    const out = Buffer.alloc(20);
    assert.equal(writeRtpHeader(out, { marker: false, payloadType: 96, seq: 1, ts: 2, ssrc: 3, playoutDelayId: 5 }), 20);
    assert.equal(out.toString('hex'), '906000010000000200000003' + 'bede0001' + '52000000');
  });
});

for (const engine of ['native', 'js'] as const) describe(`SRTP forwarder (${engine}) against a werift receiver`, () => {
  const forwarder = (pair: Pair, opts: SrtpForwarderOptions) => {
    const fwd = new SrtpForwarder(pair.sender, { ...opts, engine: engine === 'js' ? 'js' : 'auto' });
    // Without this a build that lost the addon would pass by running JavaScript twice.
    assert.equal(fwd.engine, engine);
    return fwd;
  };

  for (const [name, profiles] of [
    ['AEAD-AES-128-GCM (werift and Chromium prefer it)', undefined],
    ['AES-128-CM-HMAC-SHA1-80 (a receiver without GCM)', [1]],
  ] as const) {
    test(`${name}: every packet decrypts, authenticates and keeps its payload`, async () => {
      const pair = await connect({ receiverProfiles: profiles ? [...profiles] : undefined });
      const profile = (pair.sender as unknown as { dtlsTransport: { srtp: { localContext: { profile: number } } } }).dtlsTransport.srtp.localContext.profile;
      assert.equal(profile, profiles ? 1 : 7);
      // Starts just below the wrap: the rollover counter must follow it (it is in the IV / MAC).
      const fwd = forwarder(pair, { playoutDelayId: () => 1, initialSequence: 65400 });
      await sendPaced(fwd, 0, 300, 9, 4_294_000_000);
      await until(() => pair.received.length >= 300, 5000, 'all packets');
      // The fast path carried them all: a werift upgrade that moves the SRTP keys or the
      // ICE pair makes this fail instead of silently falling back.
      const { fast, fallback, retransmitted, dropped } = fwd.stats;
      assert.deepEqual({ fast, fallback, retransmitted, dropped }, { fast: 300, fallback: 0, retransmitted: 0, dropped: 0 });
      const seqs = pair.received.map((p) => p.header.sequenceNumber);
      assert.equal(seqs[0], 65400);
      for (let i = 1; i < seqs.length; i++) assert.equal(seqs[i], (seqs[i - 1]! + 1) & 0xffff, 'contiguous output sequence across the wrap');
      pair.received.forEach((p, i) => {
        assert.ok(p.payload.equals(payloadOf(i)), `payload ${i}`);
        assert.equal(p.header.ssrc, pair.sender.ssrc);
        assert.equal(p.header.marker, i % 5 === 4);
        assert.deepEqual(
          p.header.extensions.map((e) => [e.id, e.payload.toString('hex')]),
          [[1, '000000']],
        );
      });
      // Frames of one source keep their spacing: 5 packets per 3000 ticks.
      assert.equal((pair.received[5]!.header.timestamp - pair.received[0]!.header.timestamp) >>> 0, 3000);
    });
  }

  for (const [name, profiles] of [
    ['GCM', undefined],
    ['AES-CM', [1]],
  ] as const) {
    test(`${name}: sender reports carry the counters, pass SRTCP at the receiver and give the sender a round-trip time`, async () => {
      const pair = await connect({ receiverProfiles: profiles ? [...profiles] : undefined });
      const fwd = forwarder(pair, { playoutDelayId: () => null });
      await sendPaced(fwd, 0, 50, 7, 90_000);
      const reports = () => pair.rtcp.filter((p): p is RtcpSrPacket => p instanceof RtcpSrPacket && p.ssrc === pair.sender.ssrc);
      await until(() => reports().length > 0, 3000, 'a sender report');
      const sr = reports()[0]!;
      assert.equal(sr.senderInfo.packetCount, 50);
      const octets = Array.from({ length: 50 }, (_, i) => payloadOf(i).length).reduce((a, b) => a + b, 0);
      assert.equal(sr.senderInfo.octetCount, octets, 'payload octets');
      const last = pair.received.filter((p) => p.header.marker).at(-1)!;
      assert.equal(sr.senderInfo.rtpTimestamp, last.header.timestamp, 'paired with the last frame sent');
      const ntpMs = Number(sr.senderInfo.ntpTimestamp >> 32n) * 1000 - 2_208_988_800_000;
      assert.ok(Math.abs(ntpMs - Date.now()) < 5000, 'NTP time is now');
      const sdes = pair.rtcp.find((p): p is RtcpSourceDescriptionPacket => p instanceof RtcpSourceDescriptionPacket);
      assert.equal(sdes?.chunks[0]?.items[0]?.text, (pair.sender as unknown as { cname: string }).cname);
      // Later reports carry the counts as they grew.
      await sendPaced(fwd, 50, 10, 7, 90_000);
      await until(() => reports().some((r) => r.senderInfo.packetCount === 60), 3000, 'a report of 60 packets');
      // The SRTCP index is werift's, kept per SSRC: one per report, none reused.
      const ctx = (pair.sender as unknown as { dtlsTransport: { srtcp: { localContext: { getSrtcpSsrcState(s: number): { srtcpIndex: number } } } } }).dtlsTransport.srtcp.localContext;
      await until(() => (pair.sender as unknown as { rtt?: number }).rtt !== undefined, 5000, 'a round-trip time from a receiver report');
      const rtt = (pair.sender as unknown as { rtt: number }).rtt;
      assert.ok(rtt >= 0 && rtt < 1, `rtt ${rtt}`);
      assert.equal(ctx.getSrtcpSsrcState(pair.sender.ssrc).srtcpIndex, reports().length);
      // Every report is the forwarder's: werift's own loop stays off.
      assert.equal(fwd.stats.reports, reports().length);
      fwd.close();
      const count = reports().length;
      await sleep(1600);
      assert.equal(reports().length, count, 'no report after close');
    });
  }

  test('a new source continues the sequence and timestamp (rebase)', async () => {
    const pair = await connect();
    const fwd = forwarder(pair, { playoutDelayId: () => null });
    await sendPaced(fwd, 0, 50, 100, 1000);
    fwd.rebase();
    await sendPaced(fwd, 0, 50, 40000, 77_000_000);
    await until(() => pair.received.length >= 100, 5000, 'both runs');
    const seqs = pair.received.map((p) => p.header.sequenceNumber);
    for (let i = 1; i < seqs.length; i++) assert.equal(seqs[i], (seqs[i - 1]! + 1) & 0xffff);
    const ts = pair.received.map((p) => p.header.timestamp);
    assert.equal((ts[50]! - ts[49]!) >>> 0, 1, 'timestamp steps by one at the switch');
    assert.equal(pair.received[60]!.header.extensions.length, 0, 'no extension unless negotiated');
  });

  test('lost packets are sent again on NACK', async () => {
    // The receiver keeps 93 % of what arrives and asks for the rest.
    const pair = await connect({ keepPercent: 93 });
    const fwd = forwarder(pair, { playoutDelayId: () => null });
    pair.sender.onGenericNack.subscribe((feedback) => fwd.retransmit(feedback.lost));
    await sendPaced(fwd, 0, 400, 0, 0);
    await until(() => fwd.stats.retransmitted > 0, 5000, 'a retransmission');
    await until(() => new Set(pair.received.map((p) => p.header.sequenceNumber)).size >= 395, 8000, 'the losses repaired');
  });
});
