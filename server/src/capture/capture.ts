/**
 * Capture manager: builds one RtpStream per configured video id (§9.2, §11.5) and one audio
 * stream (when a PulseAudio server is configured). Streams start with their first
 * subscriber and stop after their last (see stream.ts).
 *
 * Video ids:
 * - `video.pipelines` non-empty: ids = `video.ids` if given, else the keys of `pipelines`;
 *   an id without an entry uses the defaults (with a warning).
 * - otherwise: ids = `video.ids` if given, else `['main']`; each uses `video.pipeline`
 *   (legacy single custom pipeline) if set, else the defaults (screen size and rate).
 *
 * Streams that can (pipelines.ts `sharesCapture`) read the screen from one shared capture
 * (screen-capture.ts), which runs while any of them runs and pauses on an idle screen.
 */
import type { Logger } from '../log.js';
import { getCodec, isKnownCodec, type Codec } from './codecs.js';
import {
  buildAudioPipeline,
  buildVideoPipeline,
  resolveVideo,
  sharesCapture,
  type ResolvedVideo,
  type ScreenSize,
  type VideoPipelineConfig,
} from './pipelines.js';
import { ScreenCapture, sharedCaptureAvailable, type DamageSource } from './screen-capture.js';
import { RtpStream, type StreamSource } from './stream.js';

export interface CaptureOptions {
  /** X display, e.g. `:99`. */
  display: string;
  /** PulseAudio server (`unix:/path/native`); null disables audio. */
  pulseServer: string | null;
  video: {
    codec: string;
    ids: string[];
    pipelines: Record<string, VideoPipelineConfig>;
    pipeline?: string;
  };
  audio: {
    codec: string;
    /** PulseAudio source, e.g. `audio_output.monitor`. */
    device: string;
    pipeline?: string;
    /** kbit/s (opus; default 128). */
    bitrate?: number;
  };
  screen: ScreenSize;
  logger: Logger;
  /** Passed to every stream (default 5000 ms). */
  idleStopMs?: number;
  /** Base environment for the encoders (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Quiet time after which the shared screen capture pauses (default 1000 ms; 0: never). */
  idleAfterMs?: number;
  /** What grabs the screen for the shared capture (screen-capture.ts; default auto). */
  grabber?: 'auto' | 'ximagesrc';
  /** Screen changes (desktop/damage.ts); without it the shared capture never pauses. */
  damage?: DamageSource | null;
}

export const DEFAULT_VIDEO_ID = 'main';

export class Capture {
  readonly videoIds: string[];
  readonly videoCodec: Codec;
  readonly audioCodec: Codec;
  readonly audio: RtpStream | null;

  private readonly log: Logger;
  private readonly streams = new Map<string, RtpStream>();
  private readonly configs = new Map<string, VideoPipelineConfig>();
  /** Null when no stream can ever share it. */
  private readonly shared: ScreenCapture | null;
  /** Streams that read the shared capture (decided at each start). */
  private readonly sharers = new Set<string>();
  private warnedNoShm = false;
  private _screen: ScreenSize;
  private readonly env: NodeJS.ProcessEnv;
  private closing: Promise<void> | null = null;

  constructor(opts: CaptureOptions) {
    this.log = opts.logger.child({ module: 'capture' });
    this._screen = { ...opts.screen };
    const base = opts.env ?? process.env;
    this.env = base;

    if (!isKnownCodec(opts.video.codec, 'video')) {
      this.log.warn({ codec: opts.video.codec }, 'unknown video codec; using vp8');
    }
    if (!isKnownCodec(opts.audio.codec, 'audio')) {
      this.log.warn({ codec: opts.audio.codec }, 'unknown audio codec; using opus');
    }
    this.videoCodec = getCodec(opts.video.codec, 'video');
    this.audioCodec = getCodec(opts.audio.codec, 'audio');

    const pipelines = opts.video.pipelines ?? {};
    const hasPipelines = Object.keys(pipelines).length > 0;
    const ids = (opts.video.ids ?? []).filter((id) => id.length > 0);
    this.videoIds = [...new Set(ids.length > 0 ? ids : hasPipelines ? Object.keys(pipelines) : [DEFAULT_VIDEO_ID])];

    const videoEnv = { ...base, DISPLAY: opts.display };
    const legacy = hasPipelines ? undefined : opts.video.pipeline;
    const custom = (cfg: VideoPipelineConfig) => Boolean(cfg.gst_pipeline?.trim() || legacy?.trim());
    const shareable = this.videoIds.some((id) => {
      const cfg = pipelines[id] ?? {};
      return !custom(cfg) && !cfg.show_pointer && !cfg.gst_prefix?.trim();
    });
    this.shared = shareable
      ? new ScreenCapture({
          display: opts.display,
          screen: () => this._screen,
          env: base,
          logger: this.log,
          idleAfterMs: opts.idleAfterMs ?? 1000,
          damage: opts.damage,
          grabber: opts.grabber,
        })
      : null;
    // Its encoders died with it: restarted, they wait for the new capture in acquire().
    this.shared?.on('lost', () => {
      for (const [id, stream] of this.streams) if (this.sharing(id) && stream.state !== 'idle') void stream.restart();
    });
    for (const id of this.videoIds) {
      const config = pipelines[id];
      if (hasPipelines && !config) this.log.warn({ id }, 'no pipeline configured for video id; using defaults');
      const cfg = config ?? {};
      this.configs.set(id, cfg);
      const stream = new RtpStream({
        id,
        kind: 'video',
        codec: this.videoCodec,
        env: videoEnv,
        logger: this.log,
        idleStopMs: opts.idleStopMs,
        source: this.shared ? this.sharedSource(id, (screen) => sharesCapture(cfg, legacy, screen)) : undefined,
        pipeline: (port) =>
          buildVideoPipeline({
            display: opts.display,
            codec: this.videoCodec,
            config: cfg,
            pipeline: legacy,
            screen: this._screen,
            port,
            sharedSocket: this.sharing(id) ? this.shared?.socket : undefined,
          }),
      });
      // An encoder restarted after a crash needs a first frame even on an idle screen.
      stream.on('restarted', () => {
        if (this.sharing(id)) this.shared?.wake();
      });
      this.streams.set(id, stream);
    }

    if (opts.pulseServer) {
      const audioEnv = { ...base, PULSE_SERVER: opts.pulseServer };
      this.audio = new RtpStream({
        id: 'audio',
        kind: 'audio',
        codec: this.audioCodec,
        env: audioEnv,
        logger: this.log,
        idleStopMs: opts.idleStopMs,
        pipeline: (port) =>
          buildAudioPipeline({
            codec: this.audioCodec,
            device: opts.audio.device || 'audio_output.monitor',
            pipeline: opts.audio.pipeline,
            bitrate: opts.audio.bitrate,
            port,
          }),
      });
    } else {
      this.audio = null;
    }
  }

  /** The shared screen capture (null when no stream can use it). */
  get screenCapture(): ScreenCapture | null {
    return this.shared;
  }

  video(id: string): RtpStream | undefined {
    return this.streams.get(id);
  }

  /** Resolved size/fps/bitrate (kbit/s) of a video id at the current screen size. */
  videoInfo(id: string): ResolvedVideo | undefined {
    const cfg = this.configs.get(id);
    if (!cfg) return undefined;
    try {
      return resolveVideo(cfg, this._screen);
    } catch {
      return undefined;
    }
  }

  get screen(): ScreenSize {
    return { ...this._screen };
  }

  /** State per stream: `video:<id>` and `audio` → idle/starting/running/restarting/failed. */
  health(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [id, s] of this.streams) out[`video:${id}`] = s.state;
    // A paused capture is running as far as health goes (its state says `running`).
    if (this.shared) out['video:capture'] = this.shared.state;
    if (this.audio) out.audio = this.audio.state;
    return out;
  }

  /** Records the new screen size and restarts the video encoders that are running. */
  async setScreen(size: ScreenSize): Promise<void> {
    const changed =
      size.width !== this._screen.width || size.height !== this._screen.height || size.rate !== this._screen.rate;
    this._screen = { ...size };
    if (!changed) return;
    this.log.info({ screen: size }, 'screen changed; restarting video encoders');
    const running = [...this.streams.values()].filter((s) => s.state !== 'idle');
    // The capture first: its `lost` restarts the encoders that share it, and they wait for
    // the capture at the new size before they start.
    const capture = this.shared?.restart();
    await Promise.all([capture, ...running.filter((s) => !this.sharing(s.id)).map((s) => s.restart())]);
  }

  close(): Promise<void> {
    if (!this.closing) {
      const all = [...this.streams.values(), ...(this.audio ? [this.audio] : [])];
      this.closing = Promise.all(all.map((s) => s.close()))
        .then(() => this.shared?.close())
        .then(() => undefined);
    }
    return this.closing;
  }

  private sharing(id: string): boolean {
    return this.sharers.has(id);
  }

  /** The shared capture as stream `id` uses it: only while `shares` holds at the start. */
  private sharedSource(id: string, shares: (screen: ScreenSize) => boolean): StreamSource {
    const shared = this.shared!;
    return {
      acquire: async () => {
        const available = await sharedCaptureAvailable(this.env);
        if (!available && !this.warnedNoShm) {
          this.warnedNoShm = true;
          this.log.warn('GStreamer shmsink/shmsrc not installed (gstreamer1.0-plugins-bad): every video stream captures the screen itself');
        }
        if (available && shares(this._screen)) {
          this.sharers.add(id);
          await shared.acquire(id);
        } else {
          this.sharers.delete(id);
          shared.release(id);
        }
      },
      release: () => {
        this.sharers.delete(id);
        shared.release(id);
      },
      wake: () => shared.wake(),
      frameEncoded: () => {
        if (this.sharers.has(id)) shared.frameEncoded(id);
      },
      encoderRestarted: () => {
        if (this.sharers.has(id)) shared.firstFrameWanted(id);
      },
    };
  }
}
