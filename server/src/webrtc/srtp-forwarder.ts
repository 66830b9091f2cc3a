/**
 * Forwards RTP packets from a shared encoder to one viewer's sender, protected with SRTP, in
 * one pass over the packet.
 *
 * Why not `MediaStreamTrack.writeRtp`: werift's send path costs ~45 µs of CPU per packet
 * (measured with bench/srtp-forward.ts): it parses every packet into objects, rebuilds the
 * header extension list, reads the wall clock as a string per packet, serializes again,
 * concatenates three times, and resolves the destination per send. With 25 viewers of a
 * 2.5 Mbit/s stream that is most of a core. Here a packet is rewritten (SSRC, payload type,
 * sequence, timestamp, the playout-delay extension) straight into its output buffer,
 * encrypted with the negotiated profile (AEAD-AES-128-GCM or AES-128-CM-HMAC-SHA1-80) and
 * written to the nominated pair's UDP socket (through werift's ICE connection for TCP and
 * TURN pairs, which frame what they carry).
 *
 * When server/native's addon is built (native-srtp.ts) the rewrite and sealing happen in one
 * native call and the sending, batched per event-loop turn, on its sender thread: two to
 * three times cheaper per viewer, because Node builds a cipher object per packet and dgram a
 * request per send. The JavaScript path below does the same work byte for byte and is what
 * runs without the addon.
 *
 * werift stays in charge of everything else: DTLS, ICE, incoming RTCP. The forwarder keeps
 * the sender's counters (packets, octets, last RTP/NTP timestamps) current for getStats,
 * sends the sender reports itself (protected natively like the media when it can), and
 * answers NACKs from its own history (werift's history is only fed by its own send path).
 * A session with another SRTP profile goes through werift's own sender, unchanged.
 *
 * The werift internals used are listed in `WeriftSrtpInternals`; tests/server/webrtc/
 * srtp-forwarder.test.ts decrypts the output with werift's own receiver and with a browser
 * stack (@roamhq/wrtc) and fails when any of them changes shape.
 */
import { createCipheriv, createHmac, randomInt } from 'node:crypto';
import dgram from 'node:dgram';
import type { RTCRtpSender } from 'werift';
import { parseRtpHeader } from '../capture/rtp.js';
import { INFO, type NativeSenderHandle, type NativeSrtpAddon, nativeSrtp, socketFd } from './native-srtp.js';
import { buildSenderReport, compactNtp, refreshSenderReport } from './sender-report.js';

/** The SRTP protection profiles (RFC 5764, RFC 7714) as werift numbers them. */
const PROFILE_AES128_CM_SHA1_80 = 1;
const PROFILE_AEAD_AES128_GCM = 7;
const GCM_TAG = 16;
const HMAC_TAG = 10;
/** Packets kept for retransmission on NACK (~0.5 s at 2.5 Mbit/s). */
const HISTORY = 512;
/** Sender reports go out every 0.5–1.5 s (RFC 3550 §6.3.5 randomization), as werift's do. */
const REPORT_MIN_MS = 500;
const REPORT_SPREAD_MS = 1000;
/** In 50 ms steps: Node keeps a timer list per duration, so all viewers share 21 of them. */
const REPORT_STEP_MS = 50;
/** The SRTCP index is 31 bits (RFC 3711 §3.4). */
const MAX_SRTCP_INDEX = 0x7fffffff;
/** Seconds from 1900 (NTP epoch) to 1970 (Unix epoch). */
const NTP_EPOCH_OFFSET = 2_208_988_800;

interface SrtpCipherKeys {
  srtpSessionKey: Buffer;
  srtpSessionSalt: Buffer;
  srtpSessionAuthTag?: Buffer;
  srtcpSessionKey: Buffer;
  srtcpSessionSalt: Buffer;
  srtcpSessionAuthTag?: Buffer;
}

/** werift's local SRTCP context: the keys and the SRTCP index it keeps per SSRC. */
interface SrtcpLocalContext {
  cipher: SrtpCipherKeys;
  getSrtcpSsrcState(ssrc: number): { srtcpIndex: number };
}

/** The parts of werift's objects this module reads and writes. */
interface WeriftSrtpInternals {
  ssrc: number;
  codec?: { payloadType: number };
  packetCount: number;
  octetCount: number;
  ntpTimestamp: bigint;
  rtpTimestamp: number;
  cname?: string;
  stopped: boolean;
  /** werift's own sender-report loop runs (or is held off: see startReports). */
  rtcpRunning: boolean;
  /** What werift computes round-trip times from when receiver reports come back. */
  lastSRtimestamp?: number;
  lastSentSRTimestamp?: number;
  dtlsTransport: {
    state: string;
    bytesSent: number;
    packetsSent: number;
    srtp?: { localContext?: { profile: number; cipher: SrtpCipherKeys } };
    srtcp?: { localContext?: SrtcpLocalContext; encrypt(rtcp: Buffer): Buffer };
    iceTransport: {
      connection: {
        send(data: Buffer): Promise<void>;
        nominated?: NominatedPair;
      };
    };
  };
}

interface NominatedPair {
  remoteAddr: [string, number];
  protocol: { type?: string; transport?: { type?: string; socket?: unknown; closed?: boolean } };
  packetsSent: number;
  bytesSent: number;
}

interface SessionKeys {
  cipher: SrtpCipherKeys;
  profile: number;
  /** AES-128-CM: the HMAC key; GCM: unused. */
  auth: Buffer | null;
}

export interface SrtpForwarderOptions {
  /** Negotiated id of the playout-delay extension, or null to send without it. */
  playoutDelayId: () => number | null;
  /** Sequence number of the first packet (default random, as RFC 3550 asks). */
  initialSequence?: number;
  /** 'js' keeps the work in JavaScript even when the native sender is built (tests, bench). */
  engine?: 'auto' | 'js';
}

export interface SrtpForwarderStats {
  /** Packets sent by the fast path. */
  fast: number;
  /** Packets handed to werift's own sender (no SRTP yet, TCP/TURN pair, other profile). */
  fallback: number;
  retransmitted: number;
  /** Sender reports sent. */
  reports: number;
  /** Packets the socket refused (its buffer full); NACKs repair them like any loss. */
  dropped: number;
}

/**
 * Forwarders whose native sender holds packets, flushed once the I/O at hand is handled:
 * packets that came in together leave together, a frame per viewer in one or two writes.
 */
const queued = new Set<SrtpForwarder>();
let flushScheduled = false;
function flushQueued(): void {
  flushScheduled = false;
  const handles: NativeSenderHandle[] = [];
  for (const fwd of queued) {
    const handle = fwd.queuedHandle();
    if (handle) handles.push(handle);
  }
  queued.clear();
  // One call and one hand-over to the sender thread for every viewer's frame.
  if (handles.length) nativeSrtp()?.flushAll(handles);
}

/** The native sender of one forwarder, and what it was last told. */
interface NativeState {
  addon: NativeSrtpAddon;
  handle: NativeSenderHandle;
  info: Uint32Array;
  keysFrom: SessionKeys | null;
  /** The SRTCP context configureRtcp last took keys from, and whether they fit. */
  rtcpKeysFrom: SrtcpLocalContext | null;
  rtcpReady: boolean;
  ssrc: number;
  payloadType: number;
  pair: unknown;
  /** The socket the sender was last given (undefined: none yet). */
  socket: dgram.Socket | null | undefined;
}

/** One packet as it left: what the sender's counters and clock pair need. */
interface Sent {
  ts: number;
  marker: boolean;
  payloadLength: number;
}

export class SrtpForwarder {
  private readonly internals: WeriftSrtpInternals;
  private keys: SessionKeys | null = null;
  private keysFrom: unknown = null;
  private native: NativeState | null = null;
  /** IV scratch: 12 bytes for GCM, 16 for AES-CM (createCipheriv copies it). */
  private readonly iv = Buffer.alloc(12);
  private readonly iv16 = Buffer.alloc(16);
  private readonly rocBuf = Buffer.alloc(4);
  /** Output = source + offset (mod 2^16 / 2^32), fixed per source run. */
  private seqOffset = 0;
  private tsOffset = 0;
  private lastSeq: number;
  private lastTs: number;
  private roc = 0;
  private rebasePending = true;
  private started = false;
  private closed = false;
  private reportTimer: NodeJS.Timeout | null = null;
  /** This forwarder sends the sender reports (see startReports). */
  private ownReports = false;
  /** performance.now() when the frame of `rtpTimestamp` was sent. */
  private frameClock = 0;
  /** The last report's bytes, rewritten for the next one while SSRC and CNAME stay. */
  private lastReport: { ssrc: number; cname: string | undefined; bytes: Buffer } | null = null;
  private readonly history: Array<Buffer | undefined> = new Array(HISTORY);
  private readonly sent: Sent = { ts: 0, marker: false, payloadLength: 0 };
  private readonly counts = { fast: 0, fallback: 0, retransmitted: 0, reports: 0 };

  constructor(
    private readonly sender: RTCRtpSender,
    private readonly opts: SrtpForwarderOptions,
  ) {
    this.internals = sender as unknown as WeriftSrtpInternals;
    this.lastSeq = ((opts.initialSequence ?? randomInt(0x10000)) - 1) & 0xffff;
    this.lastTs = randomInt(0x100000000);
    const addon = opts.engine === 'js' ? null : nativeSrtp();
    if (addon) {
      const info = new Uint32Array(INFO.size);
      const handle = addon.create((this.lastSeq + 1) & 0xffff, this.lastTs, info);
      this.native = { addon, handle, info, keysFrom: null, rtcpKeysFrom: null, rtcpReady: false, ssrc: -1, payloadType: -1, pair: null, socket: undefined };
    }
  }

  get stats(): SrtpForwarderStats {
    const n = this.native;
    return { ...this.counts, dropped: n && !this.closed ? n.addon.dropped(n.handle) : 0 };
  }

  /** Which implementation protects and sends: the native addon or JavaScript. */
  get engine(): 'native' | 'js' {
    return this.native ? 'native' : 'js';
  }

  /** The next packet continues the output sequence and timestamp (new source or encoder). */
  rebase(): void {
    this.rebasePending = true;
    if (this.native) this.native.addon.rebase(this.native.handle);
  }

  /** Sends one RTP packet from the encoder; `src` is only read. */
  send(src: Buffer): void {
    const int = this.internals;
    if (this.closed || int.dtlsTransport.state !== 'connected' || !int.dtlsTransport.iceTransport.connection.nominated) return;
    const keys = this.sessionKeys();
    const codec = int.codec;
    if (!keys || !codec) {
      this.fallback(src);
      return;
    }
    const delayId = this.opts.playoutDelayId();
    const playoutDelayId = delayId !== null && delayId >= 1 && delayId <= 14 ? delayId : null;
    const sent = this.native ? this.sendNative(this.native, src, keys, codec.payloadType, playoutDelayId) : this.sendJs(src, keys, codec.payloadType, playoutDelayId);
    if (!sent) return;
    this.counts.fast++;
    int.packetCount = (int.packetCount + 1) >>> 0;
    int.octetCount = (int.octetCount + sent.payloadLength) >>> 0;
    if (sent.marker || !this.started) {
      // Once per frame is plenty for the sender report's clock pair. The NTP form (a BigInt)
      // is made when a report goes out, unless werift's own loop sends them.
      int.rtpTimestamp = sent.ts;
      this.frameClock = performance.now();
      if (!this.ownReports) int.ntpTimestamp = ntpAt(this.frameClock);
    }
    if (!this.started) {
      this.started = true;
      this.startReports();
    }
  }

  /** Sends again what is still in the history (answer to a generic NACK). */
  retransmit(lost: readonly number[]): void {
    if (this.closed || this.internals.dtlsTransport.state !== 'connected') return;
    for (const seq of lost) {
      if (this.native) {
        const { addon, handle } = this.native;
        const bytes = addon.resend(handle, seq);
        if (bytes < 0) continue;
        if (bytes > 0) this.countSent(this.internals.dtlsTransport.iceTransport.connection.nominated, bytes);
        else this.write(addon.packet(handle, seq)!);
      } else {
        const pkt = this.history[seq % HISTORY];
        if (!pkt || pkt.readUInt16BE(2) !== seq) continue;
        this.write(pkt);
      }
      this.counts.retransmitted++;
    }
  }

  /** The native sender, for the flush of what it queued this event-loop turn. */
  queuedHandle(): NativeSenderHandle | null {
    return this.native && !this.closed ? this.native.handle : null;
  }

  /** Frees the native sender's keys and history; idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    queued.delete(this);
    if (this.reportTimer) clearTimeout(this.reportTimer);
    this.reportTimer = null;
    if (this.native) this.native.addon.close(this.native.handle);
    this.history.fill(undefined);
  }

  private sendNative(n: NativeState, src: Buffer, keys: SessionKeys, payloadType: number, playoutDelayId: number | null): Sent | null {
    const int = this.internals;
    if (n.keysFrom !== keys || n.ssrc !== int.ssrc || n.payloadType !== payloadType) {
      if (!n.addon.configure(n.handle, keys.profile, keys.cipher.srtpSessionKey, keys.cipher.srtpSessionSalt, keys.auth, int.ssrc >>> 0, payloadType)) return null;
      n.keysFrom = keys;
      // configure() dropped the SRTCP keys with the old ones.
      n.rtcpKeysFrom = null;
      n.ssrc = int.ssrc;
      n.payloadType = payloadType;
    }
    const pair = int.dtlsTransport.iceTransport.connection.nominated;
    if (pair && n.pair !== pair) {
      n.pair = pair;
      n.addon.setPeer(n.handle, pair.remoteAddr[0], pair.remoteAddr[1]);
    }
    const socket = this.directSocket(pair);
    if (socket !== n.socket) {
      n.socket = socket;
      n.addon.setSocket(n.handle, socket ? socketFd(socket) : -1);
    }
    const bytes = n.addon.send(n.handle, src, playoutDelayId ?? 0);
    if (bytes < 0) return null;
    const info = n.info;
    if (bytes > 0) {
      this.countSent(pair, bytes);
      queued.add(this);
      if (!flushScheduled) {
        flushScheduled = true;
        setImmediate(flushQueued);
      }
    } else {
      this.write(n.addon.packet(n.handle, info[INFO.seq]!)!);
    }
    const sent = this.sent;
    sent.ts = info[INFO.ts]!;
    sent.marker = info[INFO.marker] === 1;
    sent.payloadLength = info[INFO.payload]!;
    return sent;
  }

  private sendJs(src: Buffer, keys: SessionKeys, payloadType: number, playoutDelayId: number | null): Sent | null {
    const int = this.internals;
    const h = parseRtpHeader(src);
    if (!h) return null;
    const srcSeq = h.sequenceNumber;
    const srcTs = h.timestamp;
    if (this.rebasePending) {
      this.seqOffset = (this.lastSeq + 1 - srcSeq) & 0xffff;
      this.tsOffset = (this.lastTs + 1 - srcTs) >>> 0;
      this.rebasePending = false;
    }
    const seq = (srcSeq + this.seqOffset) & 0xffff;
    const ts = (srcTs + this.tsOffset) >>> 0;
    // Rollover counter (RFC 3711 §3.3.1): counts wraps of the sequence we send, from 0 at
    // the first packet (the receiver starts there, whatever its sequence number).
    if (this.started && seq < this.lastSeq && this.lastSeq - seq > 0x8000) this.roc = (this.roc + 1) >>> 0;
    if (((seq - this.lastSeq) & 0xffff) < 0x8000) {
      this.lastSeq = seq;
      this.lastTs = ts;
    }

    const hdrLen = rtpHeaderLength(playoutDelayId);
    const payloadLen = h.payloadLength;
    const tagLen = keys.profile === PROFILE_AEAD_AES128_GCM ? GCM_TAG : HMAC_TAG;
    const out = Buffer.allocUnsafe(hdrLen + payloadLen + tagLen);
    writeRtpHeader(out, { marker: h.marker, payloadType, seq, ts, ssrc: int.ssrc, playoutDelayId });
    const header = out.subarray(0, hdrLen);
    const payload = src.subarray(h.payloadOffset, h.payloadOffset + payloadLen);
    if (keys.profile === PROFILE_AEAD_AES128_GCM) {
      this.gcmIv(int.ssrc, seq, keys.cipher.srtpSessionSalt);
      const cipher = createCipheriv('aes-128-gcm', keys.cipher.srtpSessionKey, this.iv);
      cipher.setAAD(header);
      cipher.update(payload).copy(out, hdrLen);
      cipher.final();
      cipher.getAuthTag().copy(out, hdrLen + payloadLen);
    } else {
      this.ctrIv(int.ssrc, seq, keys.cipher.srtpSessionSalt);
      const cipher = createCipheriv('aes-128-ctr', keys.cipher.srtpSessionKey, this.iv16);
      cipher.update(payload).copy(out, hdrLen);
      this.rocBuf.writeUInt32BE(this.roc);
      const mac = createHmac('sha1', keys.auth!);
      mac.update(out.subarray(0, hdrLen + payloadLen));
      mac.update(this.rocBuf);
      mac.digest().copy(out, hdrLen + payloadLen, 0, HMAC_TAG);
    }

    this.history[seq % HISTORY] = out;
    this.write(out);
    const sent = this.sent;
    sent.ts = ts;
    sent.marker = h.marker;
    sent.payloadLength = payloadLen;
    return sent;
  }

  /**
   * Sender reports (RFC 3550 §6.4.1), which receivers need for lip sync and round-trip times.
   * Ours rather than werift's loop (`runRtcp`), which per report builds packet objects,
   * serializes and concatenates them, makes a cipher object and goes through dgram's address
   * lookup: with many viewers that was the largest part of their cost after the media itself.
   * werift's loop is held off by claiming its flag; if it already runs (werift sent packets
   * itself before), it keeps the reports, from the counters this forwarder keeps current.
   */
  private startReports(): void {
    const int = this.internals;
    if (int.rtcpRunning) return;
    int.rtcpRunning = true;
    this.ownReports = true;
    this.scheduleReport();
  }

  private scheduleReport(): void {
    const steps = Math.floor(Math.random() * (REPORT_SPREAD_MS / REPORT_STEP_MS + 1));
    this.reportTimer = setTimeout(() => this.report(), REPORT_MIN_MS + steps * REPORT_STEP_MS);
    this.reportTimer.unref();
  }

  private report(): void {
    this.reportTimer = null;
    const int = this.internals;
    if (this.closed || int.stopped) return;
    this.scheduleReport();
    const dtls = int.dtlsTransport;
    const srtcp = dtls.srtcp;
    const ctx = srtcp?.localContext;
    if (dtls.state !== 'connected' || !srtcp || !ctx || !dtls.iceTransport.connection.nominated) return;
    int.ntpTimestamp = ntpAt(this.frameClock);
    const info = { ntp: int.ntpTimestamp, rtpTimestamp: int.rtpTimestamp, packets: int.packetCount, octets: int.octetCount };
    const last = this.lastReport;
    const plain =
      last && last.ssrc === int.ssrc && last.cname === int.cname
        ? refreshSenderReport(last.bytes, info)
        : (this.lastReport = { ssrc: int.ssrc, cname: int.cname, bytes: buildSenderReport({ ...info, ssrc: int.ssrc, cname: int.cname }) }).bytes;
    if (!this.sendReportNative(plain, ctx)) this.write(srtcp.encrypt(plain));
    this.counts.reports++;
    int.lastSRtimestamp = compactNtp(int.ntpTimestamp);
    int.lastSentSRTimestamp = Date.now() / 1000;
  }

  /** Protects and sends a report with the native sender; false when it did not send it. */
  private sendReportNative(plain: Buffer, ctx: SrtcpLocalContext): boolean {
    const n = this.native;
    if (!n || !n.keysFrom) return false;
    if (n.rtcpKeysFrom !== ctx) {
      const k = ctx.cipher;
      n.rtcpKeysFrom = ctx;
      n.rtcpReady = n.addon.configureRtcp(n.handle, k.srtcpSessionKey, k.srtcpSessionSalt, n.keysFrom.auth ? (k.srtcpSessionAuthTag ?? null) : null);
    }
    if (!n.rtcpReady) return false;
    // The index werift keeps for this SSRC, so that reports and anything werift itself sends
    // under it never reuse one (the receiver would drop it as a replay).
    const state = ctx.getSrtcpSsrcState(this.internals.ssrc >>> 0);
    const index = state.srtcpIndex >= MAX_SRTCP_INDEX ? 0 : state.srtcpIndex + 1;
    const bytes = n.addon.sendRtcp(n.handle, plain, index);
    if (bytes <= 0) return false;
    state.srtcpIndex = index;
    this.countSent(this.internals.dtlsTransport.iceTransport.connection.nominated, bytes);
    return true;
  }

  /** The UDP socket a pair sends on directly, or null for TCP and TURN (werift frames those). */
  private directSocket(pair: NominatedPair | undefined): dgram.Socket | null {
    const transport = pair?.protocol.transport;
    if (pair?.protocol.type !== 'stun' || transport?.type !== 'udp' || !(transport.socket instanceof dgram.Socket) || transport.closed) return null;
    return transport.socket;
  }

  private countSent(pair: NominatedPair | undefined, bytes: number): void {
    if (pair) {
      pair.packetsSent++;
      pair.bytesSent += bytes;
    }
    const dtls = this.internals.dtlsTransport;
    dtls.bytesSent += bytes;
    dtls.packetsSent++;
  }

  private write(pkt: Buffer): void {
    const connection = this.internals.dtlsTransport.iceTransport.connection;
    const pair = connection.nominated;
    if (!pair) return;
    const socket = this.directSocket(pair);
    if (socket) {
      // Straight to the socket: werift's path resolves the address and awaits per packet.
      socket.send(pkt, pair.remoteAddr[1], pair.remoteAddr[0]);
    } else {
      if (pair.protocol.transport?.closed) return;
      void connection.send(pkt).catch(() => undefined);
    }
    this.countSent(socket ? pair : undefined, pkt.length);
  }

  private fallback(src: Buffer): void {
    this.counts.fallback++;
    void this.sender.sendRtp(Buffer.from(src)).catch(() => undefined);
  }

  private sessionKeys(): SessionKeys | null {
    const ctx = this.internals.dtlsTransport.srtp?.localContext;
    if (!ctx) return null;
    if (this.keysFrom === ctx) return this.keys;
    this.keysFrom = ctx;
    const { profile, cipher } = ctx;
    if (profile === PROFILE_AEAD_AES128_GCM && cipher.srtpSessionKey?.length === 16 && cipher.srtpSessionSalt?.length >= 12) {
      this.keys = { profile, cipher, auth: null };
    } else if (profile === PROFILE_AES128_CM_SHA1_80 && cipher.srtpSessionKey?.length === 16 && cipher.srtpSessionSalt?.length === 14 && cipher.srtpSessionAuthTag) {
      this.keys = { profile, cipher, auth: cipher.srtpSessionAuthTag };
    } else {
      this.keys = null;
    }
    return this.keys;
  }

  /** RFC 7714 §8.1: (0x0000 ‖ SSRC ‖ ROC ‖ SEQ) XOR salt. */
  private gcmIv(ssrc: number, seq: number, salt: Buffer): void {
    const iv = this.iv;
    iv.writeUInt16BE(0, 0);
    iv.writeUInt32BE(ssrc >>> 0, 2);
    iv.writeUInt32BE(this.roc, 6);
    iv.writeUInt16BE(seq, 10);
    for (let i = 0; i < 12; i++) iv[i]! ^= salt[i]!;
  }

  /** RFC 3711 §4.1.1: (salt · 2^16) XOR (SSRC · 2^64) XOR (index · 2^16). */
  private ctrIv(ssrc: number, seq: number, salt: Buffer): void {
    const iv = this.iv16;
    iv.fill(0);
    iv.writeUInt32BE(ssrc >>> 0, 4);
    iv.writeUInt32BE(this.roc, 8);
    iv.writeUInt16BE(seq, 12);
    for (let i = 0; i < 14; i++) iv[i]! ^= salt[i]!;
  }
}

export interface RtpHeaderFields {
  marker: boolean;
  payloadType: number;
  seq: number;
  ts: number;
  ssrc: number;
  /** Adds the playout-delay extension (min = max = 0) under this one-byte id (1..14). */
  playoutDelayId: number | null;
}

/** Bytes of the header writeRtpHeader writes. */
export function rtpHeaderLength(playoutDelayId: number | null): number {
  return playoutDelayId === null ? 12 : 20;
}

/**
 * Writes a fixed RTP header (V=2, no padding, no CSRC) and, when asked, a one-byte header
 * extension block (RFC 8285) holding only playout delay min = max = 0: render frames as soon
 * as they are decoded.
 */
export function writeRtpHeader(out: Buffer, h: RtpHeaderFields): number {
  const ext = h.playoutDelayId !== null;
  out[0] = ext ? 0x90 : 0x80;
  out[1] = (h.marker ? 0x80 : 0) | (h.payloadType & 0x7f);
  out.writeUInt16BE(h.seq & 0xffff, 2);
  out.writeUInt32BE(h.ts >>> 0, 4);
  out.writeUInt32BE(h.ssrc >>> 0, 8);
  if (!ext) return 12;
  out.writeUInt32BE(0xbede0001, 12);
  out[16] = (h.playoutDelayId! << 4) | 2;
  out[17] = 0;
  out[18] = 0;
  out[19] = 0;
  return 20;
}

/** Read once: the getter costs more than the rest of ntpAt. */
const TIME_ORIGIN = performance.timeOrigin;

/** A performance.now() instant as a 64-bit NTP timestamp (RFC 3550 §4). */
function ntpAt(monotonicMs: number): bigint {
  const ms = TIME_ORIGIN + monotonicMs;
  const seconds = Math.floor(ms / 1000);
  const fraction = Math.floor(((ms % 1000) / 1000) * 0x100000000);
  return (BigInt(seconds + NTP_EPOCH_OFFSET) << 32n) | BigInt(fraction >>> 0);
}
