/**
 * RTCP sender reports as the forwarder sends them: a compound packet of one SR without report
 * blocks (we receive no media on that SSRC) and an SDES with the CNAME (RFC 3550 §6.1: every
 * compound packet carries one). Built as bytes so that a report costs a few writes and one
 * protection call instead of werift's packet objects, serializers and concatenations.
 */

/** Longest CNAME an SDES item can carry (an 8-bit length). */
const MAX_CNAME = 255;
const SR = 200;
const SDES = 202;
const CNAME = 1;

export interface SenderReportFields {
  ssrc: number;
  /** 64-bit NTP time the RTP timestamp corresponds to. */
  ntp: bigint;
  rtpTimestamp: number;
  packets: number;
  /** Payload octets sent (RFC 3550 §6.4.1: headers and padding not counted). */
  octets: number;
  /** Omitted when empty or absent. */
  cname?: string;
}

/** SR (RFC 3550 §6.4.1) followed by SDES with the CNAME (§6.5), 32-bit aligned. */
export function buildSenderReport(f: SenderReportFields): Buffer {
  const cname = f.cname ? utf8Prefix(f.cname, MAX_CNAME) : null;
  // SDES chunk: SSRC, CNAME item (type, length, text), one or more zero octets to the next word.
  const chunk = cname ? 4 + Math.ceil((2 + cname.length + 1) / 4) * 4 : 0;
  const out = Buffer.alloc(28 + (cname ? 4 + chunk : 0));
  out[0] = 0x80;
  out[1] = SR;
  out.writeUInt16BE(6, 2);
  out.writeUInt32BE(f.ssrc >>> 0, 4);
  out.writeBigUInt64BE(BigInt.asUintN(64, f.ntp), 8);
  out.writeUInt32BE(f.rtpTimestamp >>> 0, 16);
  out.writeUInt32BE(f.packets >>> 0, 20);
  out.writeUInt32BE(f.octets >>> 0, 24);
  if (!cname) return out;
  out[28] = 0x81;
  out[29] = SDES;
  out.writeUInt16BE(chunk / 4, 30);
  out.writeUInt32BE(f.ssrc >>> 0, 32);
  out[36] = CNAME;
  out[37] = cname.length;
  cname.copy(out, 38);
  return out;
}

/**
 * Rewrites the sender info (NTP time, RTP timestamp, counts) of a report buildSenderReport
 * made, in place: its SSRC and CNAME stay as they were built.
 */
export function refreshSenderReport(report: Buffer, f: Omit<SenderReportFields, 'ssrc' | 'cname'>): Buffer {
  report.writeBigUInt64BE(BigInt.asUintN(64, f.ntp), 8);
  report.writeUInt32BE(f.rtpTimestamp >>> 0, 16);
  report.writeUInt32BE(f.packets >>> 0, 20);
  report.writeUInt32BE(f.octets >>> 0, 24);
  return report;
}

/** The middle 32 bits of an NTP timestamp: what receivers echo as LSR (RFC 3550 §6.4.1). */
export function compactNtp(ntp: bigint): number {
  return Number((ntp >> 16n) & 0xffffffffn);
}

/** The longest prefix of `text` within `max` octets of UTF-8 that does not split a character. */
function utf8Prefix(text: string, max: number): Buffer {
  const raw = Buffer.from(text, 'utf8');
  let end = Math.min(raw.length, max);
  while (end < raw.length && end > 0 && (raw[end]! & 0xc0) === 0x80) end--;
  return raw.subarray(0, end);
}
