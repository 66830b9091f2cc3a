/**
 * A viewer that receives the video over WebRTC and decodes nothing: a werift peer that counts
 * RTP packets, frames (marker bits) and sequence gaps. @roamhq/wrtc decodes every frame
 * (~6 % of a core per 720p viewer), which at 25 viewers would measure the bench, not the
 * server's fan-out.
 */
import { performance } from 'node:perf_hooks';
import dgram from 'node:dgram';
import { RTCPeerConnection, type MediaStreamTrack } from 'werift';
import { login, SocketClient, type Envelope } from '../tests/helpers/viewer.js';

export interface RtpCounts {
  /** New packets (sequence moved forward); late and repeated ones are not counted. */
  packets: number;
  frames: number;
  bytes: number;
  /** Packets skipped by a jump forward of the sequence. */
  gaps: number;
  /** Skipped packets that arrived later (NACK repairs, reordering). */
  repaired: number;
}

/** Skipped sequence numbers remembered for repair; older ones count as lost for good. */
const MAX_MISSING = 4096;

const RECEIVE_BUFFER = 4 << 20;

interface WeriftSrtpContext {
  srtpSSRCStates: Record<number, { rolloverCounter: number; lastSequenceNumber: number; rolloverHasProcessed?: boolean }>;
  cipher: { decryptRtp(cipherText: Buffer, rolloverCounter: number): unknown };
  decryptRtp(cipherText: Buffer): unknown;
}
const PATCHED = Symbol('rfc3711 rollover estimate');

/**
 * werift's receiver only notices a sequence wrap within 100 packets of it, so when a burst of
 * loss (this process too busy to read) straddles a wrap it stays one rollover behind and
 * fails every later packet: a viewer at 0 frames/s whatever the server does. The bench's
 * viewers estimate the rollover counter as RFC 3711 §3.3.1 says instead, committing it only
 * for packets that authenticate. Patched on the prototype, in this process only.
 */
function estimateRolloverLikeRfc3711(ctx: object | undefined): void {
  if (!ctx) return;
  const proto = Object.getPrototypeOf(ctx) as WeriftSrtpContext & { [PATCHED]?: true };
  if (proto[PATCHED]) return;
  proto[PATCHED] = true;
  proto.decryptRtp = function (this: WeriftSrtpContext, cipherText: Buffer): unknown {
    const seq = cipherText.readUInt16BE(2);
    const ssrc = cipherText.readUInt32BE(8);
    const state = this.srtpSSRCStates[ssrc];
    let roc = state?.rolloverCounter ?? 0;
    const last = state?.lastSequenceNumber ?? seq;
    if (state?.rolloverHasProcessed) {
      if (last < 0x8000) {
        if (seq - last > 0x8000 && roc > 0) roc--;
      } else if (last - 0x8000 > seq) {
        roc++;
      }
    }
    const decrypted = this.cipher.decryptRtp(cipherText, roc);
    if (!state) {
      this.srtpSSRCStates[ssrc] = { rolloverCounter: roc, lastSequenceNumber: seq, rolloverHasProcessed: true };
    } else if (!state.rolloverHasProcessed || roc > state.rolloverCounter || (roc === state.rolloverCounter && seq > last)) {
      state.rolloverCounter = roc;
      state.lastSequenceNumber = seq;
      state.rolloverHasProcessed = true;
    }
    return decrypted;
  };
}

export class CountingViewer {
  readonly counts: RtpCounts = { packets: 0, frames: 0, bytes: 0, gaps: 0, repaired: 0 };
  /** performance.now() of the first video packet (NaN until then). */
  firstPacketAt = NaN;
  /** performance.now() of the last `signal/answer` sent (NaN until then). */
  answeredAt = NaN;
  /** Called with performance.now() and the marker bit of every new video packet. */
  onPacket: ((at: number, marker: boolean) => void) | null = null;
  private lastSeq = -1;
  private readonly missing = new Set<number>();
  private firstWaiters: Array<() => void> = [];

  private constructor(
    readonly socket: SocketClient,
    readonly token: string,
    readonly pc: RTCPeerConnection,
  ) {}

  static async connect(baseUrl: string, username: string, password: string): Promise<CountingViewer> {
    const { token } = await login(baseUrl, username, password);
    const socket = await SocketClient.open(baseUrl, token);
    await socket.waitFor('system/init');
    const pc = new RTCPeerConnection({ iceServers: [], iceAdditionalHostAddresses: ['127.0.0.1'], iceUseIpv6: false });
    const viewer = new CountingViewer(socket, token, pc);
    pc.onTrack.subscribe((track: MediaStreamTrack) => {
      if (track.kind === 'video') track.onReceiveRtp.subscribe((rtp) => viewer.onRtp(rtp.header.sequenceNumber, rtp.header.marker, rtp.payload.length));
    });
    pc.onIceCandidate.subscribe((c) => {
      if (c) socket.send('signal/candidate', c.toJSON());
    });
    socket.ws.on('message', (data) => {
      const msg = JSON.parse(data.toString()) as Envelope;
      void viewer.onSignal(msg).catch(() => undefined);
    });
    socket.send('signal/request', { video: {}, audio: {} });
    return viewer;
  }

  /**
   * 4 MiB instead of the default 208 KiB (~90 packets): this process runs many viewers on one
   * event loop, and while it is busy (connecting the next viewer) the kernel would drop what
   * the server sent. werift then misses sequence wraps in such a gap (it only spots a wrap
   * within 100 packets of it) and fails every packet after: a viewer at 0 frames/s that the
   * server is not to blame for.
   */
  private enlargeReceiveBuffer(): void {
    for (const t of this.pc.dtlsTransports) {
      const socket = (t.iceTransport.connection as unknown as { nominated?: { protocol: { transport?: { socket?: unknown } } } }).nominated?.protocol.transport?.socket;
      if (socket instanceof dgram.Socket) {
        try {
          socket.setRecvBufferSize(RECEIVE_BUFFER);
        } catch {
          // not bound any more: the viewer is closing
        }
      }
    }
  }

  private onRtp(seq: number, marker: boolean, bytes: number): void {
    if (Number.isNaN(this.firstPacketAt)) {
      this.firstPacketAt = performance.now();
      this.firstWaiters.splice(0).forEach((w) => w());
      this.enlargeReceiveBuffer();
      for (const t of this.pc.dtlsTransports) estimateRolloverLikeRfc3711((t as unknown as { srtp?: { remoteContext?: object } }).srtp?.remoteContext);
    }
    if (this.lastSeq >= 0) {
      const step = (seq - this.lastSeq) & 0xffff;
      if (step === 0 || step >= 0x8000) {
        if (this.missing.delete(seq)) this.counts.repaired++;
        return;
      }
      for (let k = 1; k < step; k++) this.missing.add((this.lastSeq + k) & 0xffff);
      this.counts.gaps += step - 1;
      // Sets iterate in insertion order: the oldest gaps go first.
      for (const old of this.missing) {
        if (this.missing.size <= MAX_MISSING) break;
        this.missing.delete(old);
      }
    }
    this.lastSeq = seq;
    this.onPacket?.(performance.now(), marker);
    this.counts.packets++;
    this.counts.bytes += bytes;
    if (marker) this.counts.frames++;
  }

  private async onSignal(msg: Envelope): Promise<void> {
    if (msg.event === 'signal/provide' || msg.event === 'signal/offer' || msg.event === 'signal/restart') {
      await this.pc.setRemoteDescription({ type: 'offer', sdp: msg.payload.sdp as string });
      const answer = await this.pc.createAnswer();
      await this.pc.setLocalDescription(answer);
      this.answeredAt = performance.now();
      this.socket.send('signal/answer', { sdp: this.pc.localDescription?.sdp ?? answer.sdp });
    } else if (msg.event === 'signal/candidate') {
      await this.pc.addIceCandidate(msg.payload).catch(() => undefined);
    }
  }

  waitForVideo(timeoutMs: number): Promise<void> {
    if (!Number.isNaN(this.firstPacketAt)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        const events = this.socket.events.map((e) => e.event).join(', ');
        reject(new Error(`no video packet within ${timeoutMs} ms (peer ${this.pc.connectionState}, ICE ${this.pc.iceConnectionState}; events: ${events})`));
      }, timeoutMs);
      this.firstWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** Logs out first: a peer that only goes away is fed video until ICE gives up. */
  async close(baseUrl: string): Promise<void> {
    await fetch(`${baseUrl}/api/logout`, { method: 'POST', headers: { authorization: `Bearer ${this.token}` }, signal: AbortSignal.timeout(2000) })
      .then((res) => res.body?.cancel())
      .catch(() => undefined);
    this.socket.close();
    await this.pc.close().catch(() => undefined);
  }
}
