import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  isH264KeyframeStart,
  isH265KeyframeStart,
  isVp8KeyframeStart,
  isVp9KeyframeStart,
  keyframeDetector,
  parseRtpHeader,
  rtpPayload,
  seqDelta,
} from '../../../server/src/capture/rtp.js';

interface PacketSpec {
  seq?: number;
  ts?: number;
  ssrc?: number;
  pt?: number;
  marker?: boolean;
  csrcs?: number[];
  /** Header extension: profile + data (length must be a multiple of 4). */
  ext?: { profile: number; data: number[] };
  padding?: number;
}

/** Builds an RTP packet byte by byte (RFC 3550 §5.1). */
function rtp(spec: PacketSpec, payload: number[]): Buffer {
  const csrcs = spec.csrcs ?? [];
  const bytes: number[] = [];
  bytes.push(0x80 | (spec.padding ? 0x20 : 0) | (spec.ext ? 0x10 : 0) | csrcs.length);
  bytes.push((spec.marker ? 0x80 : 0) | (spec.pt ?? 96));
  const seq = spec.seq ?? 1;
  bytes.push(seq >> 8, seq & 0xff);
  const ts = spec.ts ?? 0x01020304;
  bytes.push((ts >>> 24) & 0xff, (ts >>> 16) & 0xff, (ts >>> 8) & 0xff, ts & 0xff);
  const ssrc = spec.ssrc ?? 0xdeadbeef;
  bytes.push((ssrc >>> 24) & 0xff, (ssrc >>> 16) & 0xff, (ssrc >>> 8) & 0xff, ssrc & 0xff);
  for (const c of csrcs) bytes.push((c >>> 24) & 0xff, (c >>> 16) & 0xff, (c >>> 8) & 0xff, c & 0xff);
  if (spec.ext) {
    assert.equal(spec.ext.data.length % 4, 0);
    const words = spec.ext.data.length / 4;
    bytes.push(spec.ext.profile >> 8, spec.ext.profile & 0xff, words >> 8, words & 0xff, ...spec.ext.data);
  }
  bytes.push(...payload);
  if (spec.padding) {
    for (let i = 0; i < spec.padding - 1; i++) bytes.push(0);
    bytes.push(spec.padding);
  }
  return Buffer.from(bytes);
}

// VP8 key frame payload header: frame tag with P=0 (bit 0), then the start code 9d 01 2a.
const VP8_KEY = [0x50, 0x42, 0x00, 0x9d, 0x01, 0x2a, 0x00, 0x05, 0xd0, 0x02];
// Interframe: P=1.
const VP8_DELTA = [0x51, 0x42, 0x00, 0x11, 0x22];

describe('parseRtpHeader', () => {
  it('parses the fixed header', () => {
    const pkt = rtp({ seq: 0xabcd, ts: 0xfffffff0, ssrc: 0x11223344, pt: 102, marker: true }, [1, 2, 3]);
    const h = parseRtpHeader(pkt);
    assert.ok(h);
    assert.equal(h.version, 2);
    assert.equal(h.marker, true);
    assert.equal(h.payloadType, 102);
    assert.equal(h.sequenceNumber, 0xabcd);
    assert.equal(h.timestamp, 0xfffffff0);
    assert.equal(h.ssrc, 0x11223344);
    assert.equal(h.payloadOffset, 12);
    assert.equal(h.payloadLength, 3);
    assert.deepEqual([...rtpPayload(pkt, h)], [1, 2, 3]);
  });

  it('reads marker = false', () => {
    const h = parseRtpHeader(rtp({ marker: false, pt: 111 }, [9]));
    assert.equal(h?.marker, false);
    assert.equal(h?.payloadType, 111);
  });

  it('skips CSRCs and the header extension', () => {
    const pkt = rtp(
      { csrcs: [1, 2], ext: { profile: 0xbede, data: [0x10, 0xaa, 0x00, 0x00, 0x22, 0x01, 0x02, 0x00] } },
      [0x90, 0x80, 0x81, 0x02, ...VP8_KEY],
    );
    const h = parseRtpHeader(pkt);
    assert.ok(h);
    assert.equal(h.csrcCount, 2);
    assert.equal(h.extension, true);
    assert.equal(h.payloadOffset, 12 + 8 + 4 + 8);
    assert.equal(isVp8KeyframeStart(rtpPayload(pkt, h)), true);
  });

  it('excludes padding from the payload', () => {
    const pkt = rtp({ padding: 4 }, [7, 8]);
    const h = parseRtpHeader(pkt);
    assert.ok(h);
    assert.equal(h.padding, true);
    assert.equal(h.payloadLength, 2);
    assert.deepEqual([...rtpPayload(pkt, h)], [7, 8]);
  });

  it('rejects malformed packets', () => {
    assert.equal(parseRtpHeader(Buffer.alloc(11)), null);
    const v1 = rtp({}, [1]);
    v1[0] = 0x40; // version 1
    assert.equal(parseRtpHeader(v1), null);
    const badExt = rtp({ ext: { profile: 0xbede, data: [0, 0, 0, 0] } }, []);
    badExt.writeUInt16BE(10, 14); // claims 10 words
    assert.equal(parseRtpHeader(badExt), null);
    const csrcOverflow = rtp({}, []);
    csrcOverflow[0] = 0x8f; // 15 CSRCs, none present
    assert.equal(parseRtpHeader(csrcOverflow), null);
  });
});

describe('seqDelta', () => {
  it('handles wrap-around and reordering', () => {
    assert.equal(seqDelta(1, 2), 1);
    assert.equal(seqDelta(65535, 0), 1);
    assert.equal(seqDelta(65534, 3), 5);
    assert.equal(seqDelta(10, 10), 0);
    assert.equal(seqDelta(10, 8), -2);
    assert.equal(seqDelta(0, 65535), -1);
  });
});

describe('VP8 keyframe detection', () => {
  it('detects a keyframe start with a 15-bit picture id', () => {
    // X=1 S=1 PID=0 | I=1 | M=1 picture id 0x0102 | payload header
    assert.equal(isVp8KeyframeStart(Buffer.from([0x90, 0x80, 0x81, 0x02, ...VP8_KEY])), true);
  });
  it('detects a keyframe start without extension bits', () => {
    assert.equal(isVp8KeyframeStart(Buffer.from([0x10, ...VP8_KEY])), true);
  });
  it('skips a 7-bit picture id, TL0PICIDX and TID/KEYIDX', () => {
    // X S | I L T K | picture id 0x05 | tl0picidx | tid byte | payload header
    assert.equal(isVp8KeyframeStart(Buffer.from([0x90, 0xf0, 0x05, 0x07, 0x20, ...VP8_KEY])), true);
    assert.equal(isVp8KeyframeStart(Buffer.from([0x90, 0xf0, 0x05, 0x07, 0x20, ...VP8_DELTA])), false);
  });
  it('rejects interframes, continuation packets and other partitions', () => {
    assert.equal(isVp8KeyframeStart(Buffer.from([0x90, 0x80, 0x81, 0x02, ...VP8_DELTA])), false);
    // S=0: continuation of a keyframe; the first byte happens to have bit 0 clear.
    assert.equal(isVp8KeyframeStart(Buffer.from([0x80, 0x80, 0x81, 0x02, 0x00, 0x00])), false);
    // S=1 but PID=1
    assert.equal(isVp8KeyframeStart(Buffer.from([0x91, 0x80, 0x81, 0x02, ...VP8_KEY])), false);
  });
  it('is safe on truncated payloads', () => {
    assert.equal(isVp8KeyframeStart(Buffer.alloc(0)), false);
    assert.equal(isVp8KeyframeStart(Buffer.from([0x90])), false);
    assert.equal(isVp8KeyframeStart(Buffer.from([0x90, 0x80, 0x81])), false);
    assert.equal(isVp8KeyframeStart(Buffer.from([0x10])), false);
  });
  it('works on a full packet with marker bit set', () => {
    const pkt = rtp({ marker: true }, [0x90, 0x80, 0x81, 0x02, ...VP8_KEY]);
    const h = parseRtpHeader(pkt)!;
    assert.equal(h.marker, true);
    assert.equal(keyframeDetector('vp8')!(rtpPayload(pkt, h)), true);
  });
});

describe('H264 keyframe detection', () => {
  const SPS = [0x67, 0x42, 0xc0, 0x1f, 0xda, 0x01];
  const PPS = [0x68, 0xce, 0x3c, 0x80];
  const SEI = [0x06, 0x05, 0x01, 0x80];
  it('single NAL units', () => {
    assert.equal(isH264KeyframeStart(Buffer.from([0x65, 0x88, 0x84])), true); // IDR
    assert.equal(isH264KeyframeStart(Buffer.from(SPS)), true);
    assert.equal(isH264KeyframeStart(Buffer.from(PPS)), false);
    assert.equal(isH264KeyframeStart(Buffer.from([0x41, 0x9a, 0x02])), false); // non-IDR slice
    assert.equal(isH264KeyframeStart(Buffer.from([0x09, 0xf0])), false); // AUD
  });
  it('STAP-A', () => {
    const stap = (...nals: number[][]): Buffer =>
      Buffer.from([0x78, ...nals.flatMap((n) => [n.length >> 8, n.length & 0xff, ...n])]);
    assert.equal(isH264KeyframeStart(stap(SPS, PPS)), true);
    assert.equal(isH264KeyframeStart(stap(SEI, PPS, [0x65, 0x88])), true);
    assert.equal(isH264KeyframeStart(stap(SEI, PPS)), false);
    // Truncated size field claims more than present.
    assert.equal(isH264KeyframeStart(Buffer.from([0x78, 0x00, 0x20, 0x67])), false);
  });
  it('FU-A', () => {
    assert.equal(isH264KeyframeStart(Buffer.from([0x7c, 0x85, 0x88, 0x84])), true); // start of IDR
    assert.equal(isH264KeyframeStart(Buffer.from([0x7c, 0x05, 0x11])), false); // middle of IDR
    assert.equal(isH264KeyframeStart(Buffer.from([0x7c, 0x45, 0x11])), false); // end of IDR
    assert.equal(isH264KeyframeStart(Buffer.from([0x5c, 0x81, 0x9a])), false); // start of non-IDR
    assert.equal(isH264KeyframeStart(Buffer.from([0x7c])), false);
  });
  it('through the detector on a packet with an extension header', () => {
    const pkt = rtp({ pt: 102, ext: { profile: 0xbede, data: [0x10, 0x01, 0, 0] } }, [0x7c, 0x85, 0x88]);
    const h = parseRtpHeader(pkt)!;
    assert.equal(keyframeDetector('h264')!(rtpPayload(pkt, h)), true);
  });
});

describe('VP9 / H265 keyframe detection', () => {
  it('VP9: B=1 and P=0 on the base layer', () => {
    assert.equal(isVp9KeyframeStart(Buffer.from([0x88, 0x80, 0x01, 0x00])), true); // I, B, 15-bit pid
    assert.equal(isVp9KeyframeStart(Buffer.from([0xc8, 0x80, 0x01])), false); // P=1
    assert.equal(isVp9KeyframeStart(Buffer.from([0x80, 0x80, 0x01])), false); // B=0
    assert.equal(isVp9KeyframeStart(Buffer.from([0xa8, 0x05, 0x00, 0x00])), true); // L, sid 0
    assert.equal(isVp9KeyframeStart(Buffer.from([0xa8, 0x05, 0x02, 0x00])), false); // L, sid 1
  });
  it('H265: IDR, VPS in AP, FU start', () => {
    assert.equal(isH265KeyframeStart(Buffer.from([19 << 1, 0x01, 0xaa])), true); // IDR_W_RADL
    assert.equal(isH265KeyframeStart(Buffer.from([1 << 1, 0x01, 0xaa])), false); // TRAIL_R
    const vps = [32 << 1, 0x01, 0x0c];
    assert.equal(isH265KeyframeStart(Buffer.from([48 << 1, 0x01, 0x00, vps.length, ...vps])), true);
    assert.equal(isH265KeyframeStart(Buffer.from([49 << 1, 0x01, 0x80 | 19, 0xaa])), true);
    assert.equal(isH265KeyframeStart(Buffer.from([49 << 1, 0x01, 19, 0xaa])), false);
  });
  it('no detector for audio or av1', () => {
    assert.equal(keyframeDetector('opus'), null);
    assert.equal(keyframeDetector('av1'), null);
  });
});
