/**
 * Minimal RTP (RFC 3550) header parsing and keyframe detection for the payload formats the
 * capture pipelines produce: VP8 (RFC 7741), VP9 (RFC 9628), H264 (RFC 6184) and
 * H265 (RFC 7798). Everything works on the raw Buffer without copying.
 */

export interface RtpHeader {
  version: number;
  padding: boolean;
  extension: boolean;
  csrcCount: number;
  marker: boolean;
  payloadType: number;
  sequenceNumber: number;
  timestamp: number;
  ssrc: number;
  /** Offset of the payload: 12 + 4·CSRC + header extension (4 + 4·length) if present. */
  payloadOffset: number;
  /** Payload length without trailing padding. */
  payloadLength: number;
}

/** Parses the fixed header, CSRC list, extension and padding. Returns null if malformed. */
export function parseRtpHeader(buf: Buffer): RtpHeader | null {
  if (buf.length < 12) return null;
  const b0 = buf[0]!;
  const b1 = buf[1]!;
  const version = b0 >> 6;
  if (version !== 2) return null;
  const padding = (b0 & 0x20) !== 0;
  const extension = (b0 & 0x10) !== 0;
  const csrcCount = b0 & 0x0f;
  let offset = 12 + csrcCount * 4;
  if (extension) {
    if (buf.length < offset + 4) return null;
    const words = buf.readUInt16BE(offset + 2);
    offset += 4 + words * 4;
  }
  let end = buf.length;
  if (padding) {
    const pad = buf[buf.length - 1]!;
    if (pad === 0) return null;
    end -= pad;
  }
  if (offset > end) return null;
  return {
    version,
    padding,
    extension,
    csrcCount,
    marker: (b1 & 0x80) !== 0,
    payloadType: b1 & 0x7f,
    sequenceNumber: buf.readUInt16BE(2),
    timestamp: buf.readUInt32BE(4),
    ssrc: buf.readUInt32BE(8),
    payloadOffset: offset,
    payloadLength: end - offset,
  };
}

/** The payload of a parsed packet (a view, not a copy). */
export function rtpPayload(buf: Buffer, h: RtpHeader): Buffer {
  return buf.subarray(h.payloadOffset, h.payloadOffset + h.payloadLength);
}

/**
 * Signed distance from sequence number `from` to `to` modulo 2^16, in [-32768, 32767]:
 * 1 for the next packet, >1 after a gap, ≤0 for duplicates / reordering.
 */
export function seqDelta(from: number, to: number): number {
  const d = (to - from) & 0xffff;
  return d >= 0x8000 ? d - 0x10000 : d;
}

/**
 * VP8 (RFC 7741 §4.2/§4.3): true when the packet starts a key frame, i.e. S=1, PID=0 and the
 * first byte of the VP8 payload header has P (inverse key frame flag) = 0.
 */
export function isVp8KeyframeStart(payload: Buffer): boolean {
  if (payload.length < 1) return false;
  const b0 = payload[0]!;
  const start = (b0 & 0x10) !== 0;
  const pid = b0 & 0x07;
  if (!start || pid !== 0) return false;
  let i = 1;
  if (b0 & 0x80) {
    // X: extended control bits present
    if (payload.length < 2) return false;
    const x = payload[1]!;
    i = 2;
    if (x & 0x80) {
      // I: picture ID, 7 or 15 bits (M flag)
      if (payload.length <= i) return false;
      i += payload[i]! & 0x80 ? 2 : 1;
    }
    if (x & 0x40) i += 1; // L: TL0PICIDX
    if (x & 0x30) i += 1; // T or K: TID/Y/KEYIDX
  }
  if (payload.length <= i) return false;
  return (payload[i]! & 0x01) === 0;
}

/**
 * VP9 (RFC 9628 §4.2): true for the first packet of a picture that is not inter-predicted
 * (B=1, P=0) on the base spatial layer.
 */
export function isVp9KeyframeStart(payload: Buffer): boolean {
  if (payload.length < 1) return false;
  const b0 = payload[0]!;
  const I = (b0 & 0x80) !== 0;
  const P = (b0 & 0x40) !== 0;
  const L = (b0 & 0x20) !== 0;
  const B = (b0 & 0x08) !== 0;
  if (!B || P) return false;
  if (!L) return true;
  let i = 1;
  if (I) {
    if (payload.length <= i) return false;
    i += payload[i]! & 0x80 ? 2 : 1;
  }
  if (payload.length <= i) return false;
  const sid = (payload[i]! >> 1) & 0x07;
  return sid === 0;
}

const H264_IDR = 5;
const H264_SPS = 7;
const H264_STAP_A = 24;
const H264_FU_A = 28;

function h264KeyNal(type: number): boolean {
  return type === H264_IDR || type === H264_SPS;
}

/**
 * H264 (RFC 6184): true when the packet carries an IDR slice or SPS at its start: a single
 * NAL unit of type 5/7, a STAP-A containing one, or the first fragment (S=1) of a FU-A of
 * type 5/7.
 */
export function isH264KeyframeStart(payload: Buffer): boolean {
  if (payload.length < 1) return false;
  const type = payload[0]! & 0x1f;
  if (type >= 1 && type <= 23) return h264KeyNal(type);
  if (type === H264_STAP_A) {
    let i = 1;
    while (i + 2 < payload.length) {
      const size = payload.readUInt16BE(i);
      i += 2;
      if (size === 0 || i + size > payload.length) return false;
      if (h264KeyNal(payload[i]! & 0x1f)) return true;
      i += size;
    }
    return false;
  }
  if (type === H264_FU_A) {
    if (payload.length < 2) return false;
    const fu = payload[1]!;
    return (fu & 0x80) !== 0 && h264KeyNal(fu & 0x1f);
  }
  return false;
}

function h265KeyNal(type: number): boolean {
  // IRAP pictures (BLA/IDR/CRA, 16..21) and VPS/SPS (32, 33).
  return (type >= 16 && type <= 21) || type === 32 || type === 33;
}

/** H265 (RFC 7798): IRAP/VPS/SPS as single NAL, inside an AP (48), or FU (49) start. */
export function isH265KeyframeStart(payload: Buffer): boolean {
  if (payload.length < 2) return false;
  const type = (payload[0]! >> 1) & 0x3f;
  if (type === 48) {
    let i = 2;
    while (i + 2 < payload.length) {
      const size = payload.readUInt16BE(i);
      i += 2;
      if (size < 2 || i + size > payload.length) return false;
      if (h265KeyNal((payload[i]! >> 1) & 0x3f)) return true;
      i += size;
    }
    return false;
  }
  if (type === 49) {
    if (payload.length < 3) return false;
    const fu = payload[2]!;
    return (fu & 0x80) !== 0 && h265KeyNal(fu & 0x3f);
  }
  return h265KeyNal(type);
}

/** A keyframe-start detector for a codec name, or null when the codec is not handled. */
export function keyframeDetector(codecName: string): ((payload: Buffer) => boolean) | null {
  switch (codecName) {
    case 'vp8':
      return isVp8KeyframeStart;
    case 'vp9':
      return isVp9KeyframeStart;
    case 'h264':
      return isH264KeyframeStart;
    case 'h265':
      return isH265KeyframeStart;
    default:
      return null;
  }
}
