/**
 * One encoded media stream: a supervised `gst-launch-1.0` that sends RTP to a loopback UDP
 * socket owned by this object, fanned out to any number of subscribers.
 *
 * - The first subscriber starts the encoder; `idleStopMs` after the last one leaves it stops
 *   (quick reconnects keep it running). The UDP socket lives until close().
 * - Video: the packets since the last keyframe are kept (bounded) and replayed to a new
 *   subscriber on the next tick, then it gets live packets. With nothing cached, a new
 *   subscriber is held until the next keyframe starts, so its first packet is a keyframe.
 * - Every subscriber gets the packet as received, shared with the others: subscribers only
 *   read it (webrtc/srtp-forwarder.ts writes each viewer's packet into a buffer of its own).
 * - Encoder deaths are restarted by the SupervisedProcess; subscriptions survive. After a
 *   restart (crash or restart()) `restarted` is emitted once the new process runs, and every
 *   subscriber's onDiscontinuity is called right before the first packet of the new process
 *   (new SSRC, sequence and timestamp bases).
 * - An encoder fed by a shared source (the screen capture) acquires it before every start and
 *   releases it when it stops for good; every new subscriber wakes it (see StreamSource).
 */
import dgram from 'node:dgram';
import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import type { Logger } from '../log.js';
import { SupervisedProcess } from '../process/supervisor.js';
import type { Codec } from './codecs.js';
import { splitLaunchArgs } from './pipelines.js';
import { keyframeDetector, parseRtpHeader, rtpPayload, seqDelta } from './rtp.js';

export type RtpStreamState = 'idle' | 'starting' | 'running' | 'restarting' | 'failed';

/** A source shared by several encoders, which must run before they start. */
export interface StreamSource {
  /** Called before every encoder start; the encoder is spawned once it resolves. */
  acquire(): Promise<void>;
  /** The encoder stopped and is not about to start again. */
  release(): void;
  /** A subscriber arrived: it needs frames now. */
  wake(): void;
  /** The encoder sent the last packet of a frame (RTP marker bit). */
  frameEncoded?(): void;
  /** The encoder was restarted after a crash: it needs a first frame. */
  encoderRestarted?(): void;
}

export interface RtpStreamOptions {
  id: string;
  kind: 'video' | 'audio';
  codec: Codec;
  /** gst-launch description for the given loopback UDP port; called at every (re)start. */
  pipeline: (port: number) => string;
  env?: NodeJS.ProcessEnv;
  logger: Logger;
  /** Delay between the last unsubscribe and stopping the encoder (default 5000 ms). */
  idleStopMs?: number;
  source?: StreamSource;
}

export interface RtpStreamStats {
  packets: number;
  bytes: number;
  /** bit/s measured over the last ~2 s (0 when idle). */
  bitrate: number;
  /** Packets missing according to RTP sequence numbers (sum of gap sizes). */
  seqGaps: number;
  keyframes: number;
  subscribers: number;
  /** Encoder restarts: crashes restarted by the supervisor plus restart() calls. */
  restarts: number;
}

/** Keyframe cache bounds: beyond either, the cache is dropped until the next keyframe. */
export const CACHE_MAX_PACKETS = 2000;
export const CACHE_MAX_BYTES = 8 << 20;
/** Receive buffer of the RTP socket: an x264 keyframe is ~130 packets (platform.md). */
export const RECV_BUFFER_BYTES = 4 << 20;
const GST_LAUNCH = 'gst-launch-1.0';

const BUCKET_MS = 100;
const BUCKETS = 20; // 2 s window

interface Subscriber {
  fn: (packet: Buffer) => void;
  onDiscontinuity?: () => void;
  /** 'replay': cache replay scheduled; 'keyframe': waiting for a keyframe start; 'live'. */
  mode: 'replay' | 'keyframe' | 'live';
  errored: boolean;
}

export class RtpStream extends EventEmitter<{ state: [string]; restarted: [] }> {
  readonly id: string;
  readonly kind: 'video' | 'audio';
  readonly codec: Codec;

  private readonly log: Logger;
  private readonly idleStopMs: number;
  private readonly isKeyframe: ((payload: Buffer) => boolean) | null;
  private readonly subs = new Set<Subscriber>();
  private socket: dgram.Socket | null = null;
  private _port = 0;
  private proc: SupervisedProcess | null = null;
  private _state: RtpStreamState = 'idle';
  private idleTimer: NodeJS.Timeout | null = null;
  private queue: Promise<void> = Promise.resolve();
  private closed = false;
  private closing: Promise<void> | null = null;

  // Per encoder run.
  private discontinuityPending = false;
  private lastSeq: number | null = null;
  private lastSsrc: number | null = null;
  private cache: Buffer[] = [];
  private cacheBytes = 0;
  private cacheValid = false;
  private cacheTs = 0;

  // Stats.
  private packets = 0;
  private bytes = 0;
  private seqGaps = 0;
  private keyframes = 0;
  private restarts = 0;
  private readonly buckets = new Float64Array(BUCKETS);
  private lastSlot = 0;
  private measureStart = 0;

  constructor(private readonly opts: RtpStreamOptions) {
    super();
    this.id = opts.id;
    this.kind = opts.kind;
    this.codec = opts.codec;
    this.log = opts.logger.child({ stream: opts.id, kind: opts.kind, codec: opts.codec.name });
    this.idleStopMs = opts.idleStopMs ?? 5000;
    this.isKeyframe = opts.kind === 'video' ? keyframeDetector(opts.codec.name) : null;
  }

  get state(): RtpStreamState {
    return this._state;
  }

  /** The loopback UDP port the encoder sends to (0 before the first start). */
  get port(): number {
    return this._port;
  }

  subscribe(fn: (packet: Buffer) => void, onDiscontinuity?: () => void): () => void {
    if (this.closed) {
      this.log.warn('subscribe after close');
      return () => undefined;
    }
    const sub: Subscriber = { fn, onDiscontinuity, mode: 'live', errored: false };
    if (this.isKeyframe) {
      if (this.cacheValid && this.cache.length > 0) {
        sub.mode = 'replay';
        process.nextTick(() => this.replay(sub));
      } else {
        sub.mode = 'keyframe';
      }
    }
    this.subs.add(sub);
    this.opts.source?.wake();
    if (this.idleTimer) {
      clearTimeout(this.idleTimer);
      this.idleTimer = null;
    }
    if (!this.proc || this._state === 'failed') this.enqueue(() => this.startEncoder(this._state === 'failed'));

    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.subs.delete(sub);
      if (this.subs.size === 0 && !this.closed && !this.idleTimer) {
        this.idleTimer = setTimeout(() => {
          this.idleTimer = null;
          this.enqueue(() => this.stopIfIdle());
        }, this.idleStopMs);
        this.idleTimer.unref?.();
      }
    };
  }

  stats(): RtpStreamStats {
    return {
      packets: this.packets,
      bytes: this.bytes,
      bitrate: this.bitrate(),
      seqGaps: this.seqGaps,
      keyframes: this.keyframes,
      subscribers: this.subs.size,
      restarts: this.restarts,
    };
  }

  killEncoder(): void {
    this.proc?.kill('SIGKILL');
  }

  /** Stops and starts the encoder with a freshly built pipeline; no-op while idle. */
  restart(): Promise<void> {
    return this.enqueue(async () => {
      if (this.closed || !this.proc) return;
      this.log.info('restarting encoder');
      this.setState('restarting');
      await this.stopProc();
      if (this.subs.size === 0) {
        // Was only waiting for its idle stop: stay stopped, the next subscriber starts afresh.
        if (this.idleTimer) clearTimeout(this.idleTimer);
        this.idleTimer = null;
        this.opts.source?.release();
        this.setState('idle');
        return;
      }
      this.restarts++;
      this.discontinuityPending = true;
      await this.startEncoder(false);
      if (this.proc) this.emit('restarted');
    });
  }

  close(): Promise<void> {
    if (this.closing) return this.closing;
    this.closed = true;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
    this.subs.clear();
    this.closing = this.enqueue(async () => {
      await this.stopProc();
      this.opts.source?.release();
      const socket = this.socket;
      this.socket = null;
      if (socket) await new Promise<void>((resolve) => socket.close(() => resolve()));
      this.setState('idle');
    });
    return this.closing;
  }

  // ---------------------------------------------------------------------------------------

  /** Serializes start/stop/restart/close. */
  private enqueue(fn: () => Promise<void>): Promise<void> {
    const run = this.queue.then(fn);
    this.queue = run.catch((err: unknown) => {
      this.log.error({ err }, 'capture stream operation failed');
    });
    return run;
  }

  private setState(s: RtpStreamState): void {
    if (s === this._state) return;
    this._state = s;
    this.log.debug({ state: s }, 'stream state');
    this.emit('state', s);
  }

  private async ensureSocket(): Promise<void> {
    if (this.socket) return;
    const socket = dgram.createSocket({ type: 'udp4', recvBufferSize: RECV_BUFFER_BYTES });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, '127.0.0.1', () => {
        socket.off('error', reject);
        resolve();
      });
    });
    socket.on('error', (err) => this.log.error({ err }, 'rtp socket error'));
    socket.on('message', (msg) => this.onPacket(msg));
    this.socket = socket;
    this._port = socket.address().port;
  }

  private async startEncoder(retryFailed: boolean): Promise<void> {
    if (this.closed || this.subs.size === 0) return;
    if (this.proc) {
      if (!retryFailed || this._state !== 'failed') return;
      await this.stopProc();
    }
    const { source } = this.opts;
    if (source) {
      this.setState('starting');
      try {
        await source.acquire();
      } catch (err) {
        this.log.error({ err }, 'encoder source did not start');
        source.release();
        this.setState('failed');
        return;
      }
      if (this.closed || this.subs.size === 0) {
        source.release();
        this.setState('idle');
        return;
      }
    }
    let args: string[];
    try {
      await this.ensureSocket();
      args = splitLaunchArgs(this.opts.pipeline(this._port));
    } catch (err) {
      this.log.error({ err }, 'cannot build capture pipeline');
      source?.release();
      this.setState('failed');
      return;
    }
    this.resetRun();
    const proc = new SupervisedProcess({
      name: `gst-${this.kind}-${this.id}`,
      command: GST_LAUNCH,
      args,
      env: this.opts.env,
      logger: this.log,
    });
    let starts = 0;
    proc.on('started', () => {
      if (this.proc !== proc) return;
      starts++;
      this.setState('starting');
      if (starts > 1) {
        // Restarted by the supervisor after a crash.
        this.restarts++;
        this.discontinuityPending = true;
        this.opts.source?.encoderRestarted?.();
        this.emit('restarted');
      }
    });
    proc.on('exited', () => {
      if (this.proc !== proc) return;
      this.resetRun();
      this.setState('restarting');
    });
    proc.on('failed', (reason) => {
      if (this.proc !== proc) return;
      this.log.error({ reason }, 'encoder failed');
      this.setState('failed');
    });
    this.proc = proc;
    this.setState('starting');
    this.log.info({ port: this._port, pipeline: args.join(' ') }, 'starting encoder');
    try {
      await proc.start();
    } catch (err) {
      this.log.error({ err }, 'encoder did not start');
      if (this.proc === proc) this.setState('failed');
    }
  }

  private async stopIfIdle(): Promise<void> {
    if (this.subs.size > 0 || !this.proc) return;
    this.log.info('no subscribers; stopping encoder');
    await this.stopProc();
    this.opts.source?.release();
    this.setState('idle');
  }

  private async stopProc(): Promise<void> {
    const proc = this.proc;
    this.proc = null;
    this.resetRun();
    if (proc) await proc.close();
  }

  /** Forgets per-run state (cache, sequence tracking). */
  private resetRun(): void {
    this.lastSeq = null;
    this.lastSsrc = null;
    this.dropCache();
    this.measureStart = 0;
    this.buckets.fill(0);
  }

  private dropCache(): void {
    this.cache = [];
    this.cacheBytes = 0;
    this.cacheValid = false;
  }

  private replay(sub: Subscriber): void {
    if (!this.subs.has(sub) || sub.mode !== 'replay') return;
    if (!this.cacheValid || this.cache.length === 0) {
      sub.mode = 'keyframe';
      return;
    }
    for (const pkt of this.cache) this.deliver(sub, pkt);
    sub.mode = 'live';
  }

  private deliver(sub: Subscriber, pkt: Buffer): void {
    try {
      sub.fn(pkt);
    } catch (err) {
      if (!sub.errored) this.log.warn({ err }, 'subscriber threw');
      sub.errored = true;
    }
  }

  private onPacket(buf: Buffer): void {
    // Only packets of a running encoder process; anything else is stale.
    if (!this.proc || this._state === 'restarting' || this._state === 'idle') return;
    const h = parseRtpHeader(buf);
    if (!h) return;
    const now = performance.now();

    if (this.discontinuityPending || (this.lastSsrc !== null && h.ssrc !== this.lastSsrc)) {
      if (!this.discontinuityPending) {
        // SSRC changed without a process restart (custom pipeline): treat it alike.
        this.log.info('rtp ssrc changed');
        this.dropCache();
      }
      this.discontinuityPending = false;
      this.lastSeq = null;
      for (const sub of this.subs) {
        try {
          sub.onDiscontinuity?.();
        } catch (err) {
          this.log.warn({ err }, 'onDiscontinuity threw');
        }
      }
    }
    this.lastSsrc = h.ssrc;

    if (this.lastSeq !== null) {
      const d = seqDelta(this.lastSeq, h.sequenceNumber);
      if (d > 1) this.seqGaps += d - 1;
      if (d > 0) this.lastSeq = h.sequenceNumber;
    } else {
      this.lastSeq = h.sequenceNumber;
    }

    this.packets++;
    this.bytes += buf.length;
    if (this.measureStart === 0) this.measureStart = now;
    this.addBytes(buf.length, now);
    if (this._state !== 'running') this.setState('running');

    if (this.isKeyframe) {
      const key = this.isKeyframe(rtpPayload(buf, h));
      if (key && !(this.cacheValid && h.timestamp === this.cacheTs)) {
        // First packet of a new keyframe (an H264 IDR after its SPS shares the timestamp).
        this.keyframes++;
        this.cache = [buf];
        this.cacheBytes = buf.length;
        this.cacheValid = true;
        this.cacheTs = h.timestamp;
        for (const sub of this.subs) if (sub.mode === 'keyframe') sub.mode = 'live';
      } else if (this.cacheValid) {
        this.cache.push(buf);
        this.cacheBytes += buf.length;
        if (this.cache.length > CACHE_MAX_PACKETS || this.cacheBytes > CACHE_MAX_BYTES) {
          this.log.debug({ packets: this.cache.length, bytes: this.cacheBytes }, 'keyframe cache overflow; dropped');
          this.dropCache();
        }
      }
    }

    for (const sub of this.subs) if (sub.mode === 'live') this.deliver(sub, buf);
    if (h.marker) this.opts.source?.frameEncoded?.();
  }

  private advance(slot: number): void {
    if (slot - this.lastSlot >= BUCKETS) {
      this.buckets.fill(0);
    } else {
      for (let s = this.lastSlot + 1; s <= slot; s++) this.buckets[s % BUCKETS] = 0;
    }
    if (slot > this.lastSlot) this.lastSlot = slot;
  }

  private addBytes(n: number, now: number): void {
    const slot = Math.floor(now / BUCKET_MS);
    this.advance(slot);
    this.buckets[slot % BUCKETS]! += n;
  }

  private bitrate(): number {
    const now = performance.now();
    this.advance(Math.floor(now / BUCKET_MS));
    if (this.measureStart === 0) return 0;
    let sum = 0;
    for (const b of this.buckets) sum += b;
    // The window holds BUCKETS-1 full buckets plus the current partial one.
    let windowMs = (BUCKETS - 1) * BUCKET_MS + (now % BUCKET_MS);
    windowMs = Math.min(windowMs, now - this.measureStart);
    if (windowMs < 200) return 0;
    return Math.round((sum * 8 * 1000) / windowMs);
  }
}
