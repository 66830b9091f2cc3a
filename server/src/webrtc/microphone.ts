import dgram from 'node:dgram';
import { promisify } from 'node:util';
import type { Codec } from '../capture/codecs.js';
import type { Logger } from '../log.js';
import { waitForOutput } from '../process/child-output.js';
import { execFile } from '../process/spawn.js';
import { SupervisedProcess } from '../process/supervisor.js';

const execFileP = promisify(execFile);

/** An incoming audio track as werift delivers it. */
export interface IncomingTrack {
  onReceiveRtp: { subscribe(fn: (packet: { serialize(): Buffer }) => void): { unSubscribe(): void } };
}

export interface MicrophoneOptions {
  /** `unix:/…/native`. */
  pulseServer: string;
  /**
   * Contract `capture.microphone.device`: the PulseAudio source desktop apps record from.
   * When a sink named `<device>_sink` exists (our desktop's layout) it is played into,
   * otherwise the device itself is taken as the sink.
   */
  device: string;
  /** The audio codec the peers negotiate (the capture codec). */
  codec: Codec;
  logger: Logger;
}

/** RTP caps name and decoder chain per codec a client may send (contract §9.1: opus, g722). */
const DECODERS: Record<string, { encoding: string; chain: string }> = {
  opus: { encoding: 'OPUS', chain: 'rtpopusdepay ! opusdec' },
  g722: { encoding: 'G722', chain: 'rtpg722depay ! avdec_g722' },
  pcmu: { encoding: 'PCMU', chain: 'rtppcmudepay ! mulawdec' },
  pcma: { encoding: 'PCMA', chain: 'rtppcmadepay ! alawdec' },
};

/** Larger datagrams are not audio RTP; they are dropped rather than forwarded. */
const MAX_PACKET = 1500;
/** Name of the pipeline's `udpsrc`, as gst-launch -v reports its properties. */
const RTP_SOURCE = 'rtpin';
/** gst-launch -v's line for the port `udpsrc port=0` was given by the kernel. */
const BOUND_PORT = new RegExp(`GstUDPSrc:${RTP_SOURCE}: port = (\\d+)`);
/** From spawn to a bound port: GStreamer start-up, plus the plugin scan when its registry is cold. */
const BIND_TIMEOUT_MS = 10_000;

/**
 * The microphone: one client audio track at a time, decoded by a supervised GStreamer
 * pipeline into PulseAudio. werift hands over RTP, which goes to the pipeline's `udpsrc`
 * over loopback. A newer track (from any session) replaces the previous one.
 *
 * The pipeline binds its port itself (`port=0`) and reports it: a port picked here and
 * handed over could be taken by anyone in between.
 */
export class Microphone {
  private readonly log: Logger;
  private socket: dgram.Socket | null = null;
  private owner: object | null = null;
  private subscription: { unSubscribe(): void } | null = null;
  private proc: SupervisedProcess | null = null;
  private port = 0;
  /** Serializes pipeline starts and stops. */
  private queue: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(private readonly opts: MicrophoneOptions) {
    this.log = opts.logger.child({ module: 'microphone' });
  }

  /** Plays `track` from now on; `owner` (its peer) later releases it. */
  attach(owner: object, track: IncomingTrack): void {
    if (this.closed) return;
    this.detachTrack();
    this.owner = owner;
    const pt = this.opts.codec.payloadType;
    this.subscription = track.onReceiveRtp.subscribe((packet) => {
      const port = this.port;
      if (this.owner !== owner || !port || !this.socket) return;
      const bytes = packet.serialize();
      if (bytes.length < 12 || bytes.length > MAX_PACKET) return;
      // The pipeline's caps name one payload type; a client may have picked another number.
      bytes[1] = (bytes[1]! & 0x80) | pt;
      this.socket.send(bytes, port, '127.0.0.1');
    });
    // A fresh pipeline per track: its jitter buffer must not bridge two unrelated streams.
    this.enqueue(async () => {
      await this.stopPipeline();
      if (this.owner === owner) await this.startPipeline();
    });
  }

  /** The owner's track is gone (peer closed); stops playing if it was the current one. */
  release(owner: object): void {
    if (this.owner !== owner) return;
    this.detachTrack();
    this.owner = null;
    this.enqueue(() => this.stopPipeline());
  }

  close(): Promise<void> {
    if (this.closed) return this.queue;
    this.closed = true;
    this.detachTrack();
    this.owner = null;
    return this.enqueue(async () => {
      await this.stopPipeline();
      const socket = this.socket;
      this.socket = null;
      if (socket) await new Promise<void>((resolve) => socket.close(() => resolve()));
    });
  }

  private detachTrack(): void {
    this.subscription?.unSubscribe();
    this.subscription = null;
  }

  private enqueue(fn: () => Promise<void>): Promise<void> {
    const run = this.queue.then(fn);
    this.queue = run.catch((err: unknown) => this.log.error({ err }, 'microphone pipeline operation failed'));
    return this.queue;
  }

  private async startPipeline(): Promise<void> {
    const decoder = DECODERS[this.opts.codec.name];
    if (!decoder) {
      this.log.warn({ codec: this.opts.codec.name }, 'no decoder for the microphone codec');
      return;
    }
    if (!this.socket) {
      this.socket = dgram.createSocket('udp4');
      // Bound implicitly by the first send, which can fail (no free port): not a crash.
      this.socket.on('error', (err) => this.log.warn({ err }, 'microphone RTP socket error'));
    }
    const sink = await this.sinkName();
    const { clockRate, payloadType } = this.opts.codec;
    const caps = `application/x-rtp,media=audio,clock-rate=${clockRate},encoding-name=${decoder.encoding},payload=${payloadType}`;
    const args = [
      // -v prints property changes, the bound port among them; not the pads' caps.
      '-v', '--exclude=caps',
      'udpsrc', `name=${RTP_SOURCE}`, 'address=127.0.0.1', 'port=0', `caps=${caps}`,
      '!', 'rtpjitterbuffer', 'latency=60',
      '!', ...decoder.chain.split(' '),
      '!', 'audioconvert', '!', 'audioresample',
      '!', 'pulsesink', `device=${sink}`, 'client-name=microphone',
    ];
    const proc: SupervisedProcess = new SupervisedProcess({
      name: 'gst-microphone',
      command: 'gst-launch-1.0',
      args,
      env: { ...process.env, PULSE_SERVER: this.opts.pulseServer },
      logger: this.log,
      onStdout: () => {},
      // Every (re)start binds a new port.
      ready: async (child) => {
        const [, port] = await waitForOutput(child, BOUND_PORT, BIND_TIMEOUT_MS);
        if (this.proc === proc) this.port = Number(port);
      },
    });
    // Until a restarted pipeline reports its port, the old one may belong to someone else.
    proc.on('exited', () => {
      if (this.proc === proc) this.port = 0;
    });
    this.proc = proc;
    try {
      await proc.start();
      this.log.info({ port: this.port, sink, codec: this.opts.codec.name }, 'microphone playing');
    } catch (err) {
      this.log.error({ err }, 'microphone pipeline did not start');
      this.proc = null;
      await proc.close();
    }
  }

  private async stopPipeline(): Promise<void> {
    const proc = this.proc;
    this.proc = null;
    this.port = 0;
    if (proc) await proc.close();
  }

  private async sinkName(): Promise<string> {
    const preferred = `${this.opts.device}_sink`;
    try {
      const { stdout } = await execFileP('pactl', ['list', 'short', 'sinks'], {
        env: { ...process.env, PULSE_SERVER: this.opts.pulseServer },
        timeout: 2000,
      });
      if (stdout.split('\n').some((line) => line.split('\t')[1] === preferred)) return preferred;
    } catch (err) {
      this.log.warn({ err }, 'cannot list PulseAudio sinks');
    }
    return this.opts.device;
  }
}
