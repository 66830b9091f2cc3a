/**
 * RTMP broadcast (contract §3.3 broadcast rows, §11.5 `capture.broadcast.*`): one supervised
 * gst-launch that captures the X display (and PulseAudio when there is a server), encodes
 * H.264 + AAC, muxes FLV and pushes it to an RTMP(S) URL. Capture and video encoding are
 * the WebRTC streams' own (pipelines.ts).
 */
import type { ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { hostname } from 'node:os';
import { badRequest, HttpError, internal, unprocessable } from '../errors.js';
import type { Logger } from '../log.js';
import { staysAlive, waitForOutput } from '../process/child-output.js';
import { execFile } from '../process/spawn.js';
import { SupervisedProcess } from '../process/supervisor.js';
import { getCodec } from './codecs.js';
import { encodedScreen, fillPlaceholders, pulseSource, splitLaunchArgs } from './pipelines.js';

export interface BroadcastStatus {
  is_active: boolean;
  url?: string;
}

export interface BroadcastOptions {
  /** X display, e.g. `:99`. */
  display: string;
  /**
   * PulseAudio server (`unix:/path/native`); null broadcasts video only. With a server, a
   * broadcast without audio is refused: no AAC encoder installed fails the start.
   */
  pulseServer: string | null;
  /** PulseAudio source (`capture.audio.device`). */
  audioDevice: string;
  /** kbit/s. */
  audioBitrate: number;
  /** kbit/s. */
  videoBitrate: number;
  /** x264 speed preset; unknown names fall back to veryfast. */
  preset: string;
  /** Custom gst-launch description with `{url}`, `{device}`, `{display}`, `{hostname}`; '' = built in. */
  pipeline: string;
  logger: Logger;
  /** Told every time the status changes (start, stop, giving up after crashes). */
  onStatus?(status: BroadcastStatus): void;
  /** Base environment of gst-launch and gst-inspect (default process.env). */
  env?: NodeJS.ProcessEnv;
}

const X264_PRESETS = new Set([
  'ultrafast', 'superfast', 'veryfast', 'faster', 'fast', 'medium', 'slow', 'slower', 'veryslow', 'placebo',
]);
/**
 * AAC encoders in order of preference; which exist depends on the installed plugin sets
 * (scripts/setup.sh installs gstreamer1.0-plugins-bad, which has voaacenc).
 */
export const AAC_ENCODERS = ['avenc_aac', 'voaacenc', 'fdkaacenc', 'faac'];
const FPS = 25;
/** Pipelines with a bad element or a refused RTMP handshake die within this after PLAYING. */
const SETTLE_MS = 500;
const READY_TIMEOUT_MS = 10_000;
const PROBE_TIMEOUT_MS = 5000;

/**
 * Only characters that cannot end a gst-launch property value or start another element:
 * the URL is spliced into a pipeline description.
 */
const SAFE_URL = /^rtmps?:\/\/[A-Za-z0-9._~:/?#@$&()*+,;=%[\]-]+$/;

/** Validates a broadcast target; throws the contract's 400 errors. */
export function checkBroadcastUrl(url: unknown): string {
  if (typeof url !== 'string' || url === '') throw badRequest('missing broadcast URL');
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw badRequest('invalid broadcast URL');
  }
  if (!SAFE_URL.test(url) || !parsed.host || url.length > 2048) throw badRequest('invalid broadcast URL');
  return url;
}

/**
 * Opens (and drops) a TCP connection to the RTMP server. The pipeline only connects once
 * its first encoded buffer is ready, which can take longer than start-up on a busy machine,
 * so an unreachable server is caught here rather than by a pipeline that fails later.
 */
function probe(url: string): Promise<void> {
  const parsed = new URL(url);
  const port = Number(parsed.port) || (parsed.protocol === 'rtmps:' ? 443 : 1935);
  const host = parsed.hostname.replace(/^\[|\]$/g, '');
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port, timeout: PROBE_TIMEOUT_MS });
    socket.once('connect', () => {
      socket.destroy();
      resolve();
    });
    socket.once('timeout', () => {
      socket.destroy();
      reject(new Error(`no answer from ${host}:${port}`));
    });
    socket.once('error', reject);
  });
}

function gstElementExists(name: string, env: NodeJS.ProcessEnv): Promise<boolean> {
  return new Promise((resolve) => {
    execFile('gst-inspect-1.0', ['--exists', name], { env }, (err) => resolve(!err));
  });
}

export class Broadcast {
  private proc: SupervisedProcess | null = null;
  private url: string | undefined;
  private aacEncoder: Promise<string | null> | null = null;
  private closed = false;
  private readonly log: Logger;

  constructor(private readonly opts: BroadcastOptions) {
    this.log = opts.logger;
  }

  status(): BroadcastStatus {
    return this.url !== undefined ? { is_active: true, url: this.url } : { is_active: false };
  }

  /**
   * Starts broadcasting to `url` and resolves once the pipeline plays. Throws 400 for a
   * missing/invalid URL, 422 when already broadcasting, 500 when the pipeline fails to start.
   */
  async start(url: unknown): Promise<void> {
    const target = checkBroadcastUrl(url);
    if (this.url !== undefined) throw unprocessable('server is already broadcasting');
    if (this.closed) throw internal('broadcast is shut down');
    // Claimed before the first await so a concurrent start is refused.
    this.url = target;
    let proc: SupervisedProcess | null = null;
    try {
      const description = await this.description(target);
      await probe(target);
      const args = splitLaunchArgs(description);
      if (this.url !== target) return;
      proc = new SupervisedProcess({
        name: 'gst-broadcast',
        command: 'gst-launch-1.0',
        args,
        env: this.env(),
        logger: this.log,
        // Piped so readiness can be read from it; drained by this no-op once ready.
        onStdout: () => {},
        ready: (child) => this.playing(child),
      });
      const own = proc;
      own.on('failed', (reason) => {
        if (this.proc !== own) return;
        this.log.error({ reason }, 'broadcast pipeline gave up');
        this.proc = null;
        this.url = undefined;
        this.opts.onStatus?.(this.status());
      });
      this.proc = own;
      this.log.info({ host: new URL(target).host }, 'starting broadcast');
      await own.start();
    } catch (err) {
      if (this.url === target) {
        this.proc = null;
        this.url = undefined;
      }
      await proc?.close();
      this.log.error({ err }, 'broadcast did not start');
      throw err instanceof HttpError ? err : internal('unable to start broadcast');
    }
    if (this.proc === proc) this.opts.onStatus?.(this.status());
  }

  /** Stops broadcasting; 422 when there is nothing to stop. */
  async stop(): Promise<void> {
    if (this.url === undefined) throw unprocessable('server is not broadcasting');
    const proc = this.proc;
    this.proc = null;
    this.url = undefined;
    await proc?.close();
    this.log.info('broadcast stopped');
    this.opts.onStatus?.(this.status());
  }

  private env(): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = { ...(this.opts.env ?? process.env), DISPLAY: this.opts.display };
    if (this.opts.pulseServer) env.PULSE_SERVER = this.opts.pulseServer;
    return env;
  }

  /** Resolves once gst-launch reports PLAYING and is still alive a moment later. */
  private async playing(child: ChildProcess): Promise<void> {
    await waitForOutput(child, /Setting pipeline to PLAYING/, READY_TIMEOUT_MS);
    // A refused RTMP handshake fails right after PLAYING.
    await staysAlive(child, SETTLE_MS);
  }

  private async description(url: string): Promise<string> {
    const { opts } = this;
    if (opts.pipeline.trim()) {
      return fillPlaceholders(opts.pipeline.trim(), {
        url,
        device: opts.audioDevice,
        display: opts.display,
        hostname: hostname(),
      });
    }
    let preset = opts.preset;
    if (!X264_PRESETS.has(preset)) {
      this.log.warn({ preset }, 'unknown x264 preset; using veryfast');
      preset = 'veryfast';
    }
    const screen = encodedScreen({
      display: opts.display,
      codec: getCodec('h264', 'video'),
      fps: FPS,
      kbps: opts.videoBitrate,
      // Viewers of a broadcast have no cursor of their own to draw.
      showPointer: true,
      params: { 'speed-preset': preset },
    });
    const video = `${screen} ! h264parse ! queue ! flvmux name=mux streamable=true ! rtmp2sink location=${url}`;
    if (!opts.pulseServer) return video;
    const aac = await this.aac();
    if (!aac) throw internal(`no AAC audio encoder installed (one of ${AAC_ENCODERS.join(', ')})`);
    const audio = `${pulseSource(opts.audioDevice, 44100, 2)} ! queue ! ${aac} bitrate=${opts.audioBitrate * 1000} ! aacparse ! queue ! mux.`;
    return `${video} ${audio}`;
  }

  /** The first AAC encoder installed, or null. */
  private aac(): Promise<string | null> {
    this.aacEncoder ??= (async () => {
      for (const name of AAC_ENCODERS) if (await gstElementExists(name, this.env())) return name;
      return null;
    })();
    return this.aacEncoder;
  }

  /** Stops the pipeline without announcing it; idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    const proc = this.proc;
    this.proc = null;
    this.url = undefined;
    await proc?.close();
  }
}
