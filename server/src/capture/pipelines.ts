/**
 * gst-launch-1.0 pipeline descriptions for the capture streams. Every pipeline ends in an
 * RTP payloader and `udpsink` to a loopback port owned by the server (see stream.ts). The
 * RTMP broadcast (broadcast.ts) captures and encodes through the same builders.
 *
 * Config (§11.5) semantics implemented here:
 * - `capture.video.pipelines.<id>`: `width`, `height`, `fps` are expressions over the screen
 *   variables `width`, `height`, `fps` (e.g. `width / 2`); `bitrate` is kbit/s (the encoder
 *   target unless `gst_params` sets the encoder's own bitrate property); `gst_encoder`
 *   replaces the encoder element; `gst_params` are `property: expression` pairs for the
 *   encoder (merged over the built-in defaults when the encoder is one we know);
 *   `gst_prefix` is inserted after the source, before scaling; `gst_suffix` after the encoder;
 *   `show_pointer` (default false: the client draws the cursor from the data channel).
 * - Built-in streams share one X capture (screen-capture.ts): the capture converts every
 *   frame to I420 once and hands it to the encoders through shared memory (`shmsink` →
 *   `shmsrc`). A stream that needs its own source keeps its own `ximagesrc`: a custom
 *   pipeline, `show_pointer`, `gst_prefix`, or an fps other than the screen's.
 * - Custom pipelines (`gst_pipeline`, `capture.video.pipeline`, `capture.audio.pipeline`)
 *   may use the placeholders `{display}`, `{device}`, `{width}`, `{height}`, `{fps}`,
 *   `{pt}`, `{host}` and `{port}` (other `{...}`, e.g. caps lists, are left alone).
 *   1. If the text contains `{port}`, it is the whole pipeline, RTP payloader and udpsink
 *      included (`... ! rtpvp8pay pt={pt} ! udpsink host={host} port={port}`).
 *   2. Otherwise it must produce the encoded elementary stream; a trailing neko-style
 *      `! appsink name=appsink` is removed, and the RTP tail (payloader + udpsink) appended.
 */
import { availableParallelism } from 'node:os';
import type { Codec } from './codecs.js';
import { evaluateLenient, evaluateNumber, type ExprValue } from './expr.js';

export const RTP_HOST = '127.0.0.1';
export const RTP_MTU = 1200;

export interface ScreenSize {
  width: number;
  height: number;
  rate: number;
}

/** One entry of `capture.video.pipelines` (§11.5). */
export interface VideoPipelineConfig {
  width?: string | number;
  height?: string | number;
  fps?: string | number;
  /** kbit/s. */
  bitrate?: number;
  gst_prefix?: string;
  gst_encoder?: string;
  gst_params?: Record<string, string | number | boolean>;
  gst_suffix?: string;
  gst_pipeline?: string;
  show_pointer?: boolean;
}

/** Built-in encoder per codec. */
export const DEFAULT_ENCODERS: Readonly<Record<string, string>> = {
  vp8: 'vp8enc',
  vp9: 'vp9enc',
  av1: 'av1enc',
  h264: 'x264enc',
  h265: 'x265enc',
  opus: 'opusenc',
  g722: 'avenc_g722',
  pcmu: 'mulawenc',
  pcma: 'alawenc',
};

interface EncoderTuning {
  kbps: number;
  fps: number;
  /** Frames between keyframes. */
  keyint: number;
  /** Encoder threads (see encoderThreads). */
  threads: number;
}

/**
 * Threads for the libvpx/libaom encoders on a machine with `cores` CPUs. Their threads wait
 * for each other by spinning, so a second thread only pays when it has a core to itself:
 * with two cores shared with the X server and this process, vp8enc threads=2 measured 2–3×
 * the CPU of threads=1 at 720p30 and fell to 10–20 fps with 50–180 ms encode latency,
 * where threads=1 held 27 fps at 25–55 ms (bench/encoder-probe.ts on a busy 2-core machine).
 */
export function encoderThreads(cores: number): number {
  return cores >= 4 ? 2 : 1;
}

interface EncoderPreset {
  params: (t: EncoderTuning) => Record<string, ExprValue>;
  /** Name of the property that sets the bitrate, for `bitrate` vs `gst_params` precedence. */
  bitrateProp?: string;
  /** Caps filter placed right after the encoder. */
  caps?: string;
}

/**
 * Realtime settings per known encoder. Values from platform.md: vp8enc deadline=1
 * cpu-used=16 cbr (~31–43 % of a core at 720p30), x264enc ultrafast zerolatency
 * (~12 %). Keyframes every 2 s so a lost keyframe costs at most that long.
 */
const ENCODER_PRESETS: Record<string, EncoderPreset> = {
  vp8enc: {
    bitrateProp: 'target-bitrate',
    params: (t) => ({
      'target-bitrate': t.kbps * 1000,
      'end-usage': 'cbr',
      deadline: 1,
      'cpu-used': 16,
      threads: t.threads,
      'lag-in-frames': 0,
      'error-resilient': 'partitions',
      'keyframe-max-dist': t.keyint,
      // Small client buffer model: bursts (keyframes) stay short.
      'buffer-size': 1000,
      'buffer-initial-size': 500,
      'buffer-optimal-size': 600,
      undershoot: 95,
    }),
  },
  vp9enc: {
    bitrateProp: 'target-bitrate',
    params: (t) => ({
      'target-bitrate': t.kbps * 1000,
      'end-usage': 'cbr',
      deadline: 1,
      'cpu-used': 8,
      threads: t.threads,
      'row-mt': 'true',
      'lag-in-frames': 0,
      'error-resilient': 'default',
      'keyframe-max-dist': t.keyint,
      'buffer-size': 1000,
      'buffer-initial-size': 500,
      'buffer-optimal-size': 600,
    }),
  },
  av1enc: {
    bitrateProp: 'target-bitrate',
    params: (t) => ({
      'target-bitrate': t.kbps,
      'usage-profile': 'realtime',
      'cpu-used': 10,
      'end-usage': 'cbr',
      'lag-in-frames': 0,
      'keyframe-max-dist': t.keyint,
      threads: t.threads,
    }),
  },
  x264enc: {
    bitrateProp: 'bitrate',
    params: (t) => ({
      'speed-preset': 'ultrafast',
      tune: 'zerolatency',
      'byte-stream': 'true',
      bitrate: t.kbps,
      'key-int-max': t.keyint,
      // Caps keyframe size (an uncapped 720p x264 keyframe is ~130 packets).
      'vbv-buf-capacity': 300,
      bframes: 0,
      cabac: 'false',
    }),
    // profile-level-id 42e01f = constrained baseline.
    caps: 'video/x-h264,profile=constrained-baseline,stream-format=byte-stream',
  },
  openh264enc: {
    bitrateProp: 'bitrate',
    params: (t) => ({
      bitrate: t.kbps * 1000,
      'rate-control': 'bitrate',
      'usage-type': 'screen',
      complexity: 'low',
      'gop-size': t.keyint,
      'multi-thread': 2,
    }),
    caps: 'video/x-h264,profile=constrained-baseline,stream-format=byte-stream',
  },
  x265enc: {
    bitrateProp: 'bitrate',
    params: (t) => ({
      'speed-preset': 'ultrafast',
      tune: 'zerolatency',
      bitrate: t.kbps,
      'key-int-max': t.keyint,
    }),
    caps: 'video/x-h265,stream-format=byte-stream',
  },
  opusenc: {
    bitrateProp: 'bitrate',
    params: (t) => ({
      bitrate: t.kbps * 1000,
      // 20 ms, WebRTC's usual ptime: 10 ms frames doubled the packets, and every packet wakes
      // the server (one listener cost the server 4.4 % of a core on a 2-core VM, 2.2 % at 20 ms).
      'frame-size': 20,
      'inband-fec': 'true',
      // Silence goes out as one packet every 400 ms instead of 50 a second (with the
      // payloader's dtx): a quiet desktop costs the server and every viewer next to nothing.
      dtx: 'true',
      'audio-type': 'generic',
    }),
  },
};

/** Payloader element and its extra properties per codec. */
const PAYLOADERS: Record<string, string> = {
  vp8: 'rtpvp8pay picture-id-mode=15-bit',
  vp9: 'rtpvp9pay picture-id-mode=15-bit',
  av1: 'rtpav1pay',
  h264: 'rtph264pay config-interval=-1 aggregate-mode=zero-latency',
  h265: 'rtph265pay config-interval=-1',
  opus: 'rtpopuspay dtx=true',
  g722: 'rtpg722pay',
  pcmu: 'rtppcmupay',
  pcma: 'rtppcmapay',
};

/** `! <payloader> pt=.. mtu=1200 ! udpsink host=127.0.0.1 port=P sync=false async=false`. */
export function rtpTail(codec: Codec, port: number): string {
  const pay = PAYLOADERS[codec.name];
  if (!pay) throw new Error(`no RTP payloader for codec ${codec.name}`);
  return (
    `${pay} pt=${codec.payloadType} mtu=${RTP_MTU} ! ` +
    `udpsink host=${RTP_HOST} port=${port} sync=false async=false`
  );
}

/** Formats a property value for gst-launch (quoted when it contains spaces). */
function formatValue(v: ExprValue): string {
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : String(Number(v.toFixed(6)));
  return /[\s!"']/.test(v) ? `"${v.replace(/(["\\])/g, '\\$1')}"` : v;
}

function formatParams(params: Record<string, ExprValue>): string {
  return Object.entries(params)
    .map(([k, v]) => `${k}=${formatValue(v)}`)
    .join(' ');
}

/** Replaces known `{name}` placeholders only. */
export function fillPlaceholders(text: string, values: Record<string, string | number>): string {
  return text.replace(/\{([a-z_]+)\}/g, (m, name: string) =>
    Object.prototype.hasOwnProperty.call(values, name) ? String(values[name]) : m,
  );
}

/** Applies the custom-pipeline rules of the file comment. */
export function customPipeline(text: string, codec: Codec, port: number, values: Record<string, string | number>): string {
  const all = { ...values, port, host: RTP_HOST, pt: codec.payloadType };
  let desc = fillPlaceholders(text.trim(), all);
  if (/\{port\}/.test(text)) return desc;
  desc = desc.replace(/\s*!\s*appsink(\s+[^!]*)?$/, '').trim();
  if (desc.endsWith('!')) desc = desc.slice(0, -1).trim();
  return `${desc} ! ${rtpTail(codec, port)}`;
}

const even = (n: number): number => Math.max(2, Math.round(n / 2) * 2);

/** Default target bitrate (kbit/s) for a picture size: ~0.1 bit per pixel, 300..8000. */
export function defaultVideoKbps(width: number, height: number, fps: number): number {
  return Math.min(8000, Math.max(300, Math.round((width * height * fps * 0.1) / 1000)));
}

export interface ResolvedVideo {
  width: number;
  height: number;
  fps: number;
  /** kbit/s: configured `bitrate`, else the default for the size. */
  kbps: number;
  /** True when the picture is scaled from the screen size. */
  scaled: boolean;
}

/** Evaluates `width`/`height`/`fps`/`bitrate` of a pipeline config against the screen. */
export function resolveVideo(config: VideoPipelineConfig, screen: ScreenSize): ResolvedVideo {
  const vars = { width: screen.width, height: screen.height, fps: screen.rate };
  const width = config.width !== undefined ? even(evaluateNumber(config.width, vars)) : screen.width;
  const height = config.height !== undefined ? even(evaluateNumber(config.height, vars)) : screen.height;
  // Without an explicit fps the stream follows the screen mode: a fixed 25 fps on a 30 Hz
  // screen drops every sixth frame and adds up to 40 ms of capture wait to every change.
  const fpsRaw = config.fps !== undefined ? evaluateNumber(config.fps, vars) : screen.rate;
  const fps = Math.max(1, Math.round(fpsRaw));
  const kbps = config.bitrate && config.bitrate > 0 ? Math.round(config.bitrate) : defaultVideoKbps(width, height, fps);
  return { width, height, fps, kbps, scaled: width !== screen.width || height !== screen.height };
}

/**
 * Whether a stream can be fed by the shared screen capture at this screen mode: only the
 * built-in source with no pointer, no prefix, at the screen's own rate (a rate converter
 * would hold every frame until the next one arrives).
 */
export function sharesCapture(config: VideoPipelineConfig, legacyPipeline: string | undefined, screen: ScreenSize): boolean {
  if (config.gst_pipeline?.trim() || legacyPipeline?.trim()) return false;
  if (config.show_pointer || config.gst_prefix?.trim()) return false;
  try {
    return resolveVideo(config, screen).fps === captureRate(screen);
  } catch {
    return false;
  }
}

/** Frames per second of the shared capture: the screen mode's rate, whole. */
function captureRate(screen: ScreenSize): number {
  return Math.max(1, Math.round(screen.rate));
}

export interface VideoPipelineOptions {
  /** X display, e.g. `:99`. */
  display: string;
  codec: Codec;
  /** Per-stream config; `{}` for the defaults. */
  config?: VideoPipelineConfig;
  /** Legacy `capture.video.pipeline` (used when `config.gst_pipeline` is empty). */
  pipeline?: string;
  screen: ScreenSize;
  port: number;
  /** CPUs the encoder may count on (default: this machine's). */
  cores?: number;
  /**
   * Control socket of the shared screen capture: the stream reads its frames from there
   * instead of capturing the screen itself (only for streams that `sharesCapture`).
   */
  sharedSocket?: string;
}

/** The gst-launch description of a video stream. */
export function buildVideoPipeline(opts: VideoPipelineOptions): string {
  const { codec, screen, port } = opts;
  const config = opts.config ?? {};
  const r = resolveVideo(config, screen);
  const custom = config.gst_pipeline?.trim() || opts.pipeline?.trim();
  if (custom) {
    return customPipeline(custom, codec, port, {
      display: opts.display,
      width: r.width,
      height: r.height,
      fps: r.fps,
    });
  }
  const encode = {
    codec,
    fps: r.fps,
    kbps: r.kbps,
    scale: r.scaled ? { width: r.width, height: r.height } : undefined,
    encoder: config.gst_encoder,
    params: config.gst_params,
    vars: { width: screen.width, height: screen.height, fps: screen.rate },
    suffix: config.gst_suffix,
    cores: opts.cores,
  };
  const encoded = opts.sharedSocket
    ? `${sharedScreenSource(opts.sharedSocket, screen)} ! ${encodeRaw(encode)}`
    : encodedScreen({
        ...encode,
        display: opts.display,
        showPointer: config.show_pointer,
        prefix: config.gst_prefix,
      });
  return `${encoded} ! ${rtpTail(codec, port)}`;
}

export interface ScreenCapturePipelineOptions {
  /** X display, e.g. `:99`. */
  display: string;
  screen: ScreenSize;
  /** Control socket the encoders connect to. */
  socket: string;
  /** Bytes of shared memory for the frames in flight. */
  shmSize: number;
  /**
   * `damage`: server/native's nekodamagesrc, which grabs when the screen changes (`always`:
   * every frame period regardless); `ximagesrc` (default): a grab every frame period.
   */
  grabber?: 'damage' | 'ximagesrc';
  always?: boolean;
}

/** Bytes of one I420 frame (chroma planes of half size, rounded up). */
export function i420FrameBytes(width: number, height: number): number {
  return width * height + 2 * Math.ceil(width / 2) * Math.ceil(height / 2);
}

/**
 * Colour matrix of every captured frame. Caps without one default to BT.709 from 720 lines up
 * and BT.601 below, so a downscaling encoder converted the matrix too, through GStreamer's
 * slow path (720p → 360p: 7 % of a core instead of 1 %). BT.601 is also what browsers assume
 * for VP8, which carries no colour description: BT.709 frames decode a pure red as about
 * (233, 0, 2).
 */
const FRAME_COLORIMETRY = 'bt601';

/**
 * The shared screen capture: the screen converted to I420 once, handed to the encoders'
 * `shmsrc` through shared memory. Frames are dropped while no encoder is connected
 * (`wait-for-connection=false`), and the shared memory is readable by the owner only.
 */
export function screenCapturePipeline(opts: ScreenCapturePipelineOptions): string {
  const fps = captureRate(opts.screen);
  return [
    opts.grabber === 'damage'
      ? `nekodamagesrc display-name=${opts.display} always=${opts.always ? 'true' : 'false'}`
      : `ximagesrc display-name=${opts.display} use-damage=false show-pointer=false`,
    `video/x-raw,framerate=${fps}/1`,
    'videoconvert',
    `video/x-raw,format=I420,colorimetry=${FRAME_COLORIMETRY},framerate=${fps}/1`,
    `shmsink socket-path=${formatValue(opts.socket)} shm-size=${opts.shmSize} perms=384 wait-for-connection=false sync=false async=false`,
  ].join(' ! ');
}

/**
 * An encoder's side of the shared capture. shmsrc carries no caps, so they are spelled out
 * here and must match the capture's output (the screen at its rate, I420).
 */
export function sharedScreenSource(socket: string, screen: ScreenSize): string {
  return (
    `shmsrc socket-path=${formatValue(socket)} is-live=true do-timestamp=true ! ` +
    `video/x-raw,format=I420,colorimetry=${FRAME_COLORIMETRY},width=${screen.width},height=${screen.height},framerate=${captureRate(screen)}/1`
  );
}

export interface EncodedScreenOptions {
  /** X display, e.g. `:99`. */
  display: string;
  codec: Codec;
  fps: number;
  /** kbit/s. */
  kbps: number;
  showPointer?: boolean;
  /** Size to scale to before encoding; the screen's own size when absent. */
  scale?: { width: number; height: number };
  /** Inserted after the source, before scaling. */
  prefix?: string;
  /** Replaces the codec's built-in encoder element. */
  encoder?: string;
  /** Encoder properties, over the built-in ones; expressions see `vars`. */
  params?: Record<string, string | number | boolean>;
  vars?: Record<string, number>;
  /** Inserted after the encoder. */
  suffix?: string;
  /** CPUs the encoder may count on (default: this machine's). */
  cores?: number;
}

/**
 * The screen captured and encoded, up to the encoder's output: the WebRTC streams put an
 * RTP tail after it, the RTMP broadcast a muxer.
 */
export function encodedScreen(opts: EncodedScreenOptions): string {
  const { fps } = opts;
  const parts: string[] = [];
  // No XDamage: ximagesrc still emits every frame with it, so a static screen costs the
  // encoder as much, and on moving content its per-rectangle copies cost more (720p30 VP8:
  // static 19 % vs 15 % of a core, moving 44 % vs 24 %, measured with `npm run bench`).
  parts.push(`ximagesrc display-name=${opts.display} use-damage=false show-pointer=${opts.showPointer ? 'true' : 'false'}`);
  parts.push(`video/x-raw,framerate=${fps}/1`);
  if (opts.prefix?.trim()) parts.push(opts.prefix.trim());
  // Scale in the source format (BGRx) before converting: cheaper when downscaling.
  if (opts.scale) parts.push(`videoscale ! video/x-raw,width=${opts.scale.width},height=${opts.scale.height}`);
  // No videorate: ximagesrc already paces at the caps' rate, and videorate holds every frame
  // until the next arrives — a whole frame of added latency (measured by `npm run bench`).
  parts.push('videoconvert');
  parts.push(`video/x-raw,format=I420,colorimetry=${FRAME_COLORIMETRY},framerate=${fps}/1`);
  parts.push(encodeRaw({ ...opts, scale: undefined }));
  return parts.join(' ! ');
}

type EncodeRawOptions = Pick<EncodedScreenOptions, 'codec' | 'fps' | 'kbps' | 'scale' | 'encoder' | 'params' | 'vars' | 'suffix' | 'cores'>;

/** I420 frames (scaled when asked) through the leaky queue and the encoder. */
function encodeRaw(opts: EncodeRawOptions): string {
  const { fps } = opts;
  const parts: string[] = [];
  if (opts.scale) parts.push(`videoscale ! video/x-raw,width=${opts.scale.width},height=${opts.scale.height}`);
  // A slow encoder drops frames instead of building latency (and, on the shared capture,
  // instead of holding the capture's shared memory).
  parts.push('queue max-size-buffers=2 max-size-bytes=0 max-size-time=0 leaky=downstream');
  parts.push(encoderElement(opts.codec, opts.encoder, opts.params, { kbps: opts.kbps, fps, keyint: fps * 2, threads: encoderThreads(opts.cores ?? availableParallelism()) }, opts.vars ?? {}));
  if (opts.suffix?.trim()) parts.push(opts.suffix.trim());
  return parts.join(' ! ');
}

function encoderElement(
  codec: Codec,
  gstEncoder: string | undefined,
  gstParams: Record<string, string | number | boolean> | undefined,
  tuning: EncoderTuning,
  vars: Record<string, number>,
): string {
  const name = gstEncoder?.trim() || DEFAULT_ENCODERS[codec.name];
  if (!name) throw new Error(`no encoder for codec ${codec.name}`);
  // gst_encoder may carry its own properties ("x264enc threads=1"); the preset keys off the element name.
  const element = name.split(/\s+/)[0]!;
  const preset = ENCODER_PRESETS[element];
  const params: Record<string, ExprValue> = preset ? preset.params(tuning) : {};
  for (const [k, v] of Object.entries(gstParams ?? {})) params[k] = evaluateLenient(v, vars);
  const str = [name, formatParams(params)].filter(Boolean).join(' ');
  return preset?.caps ? `${str} ! ${preset.caps}` : str;
}

export interface AudioPipelineOptions {
  codec: Codec;
  /** PulseAudio source, e.g. `audio_output.monitor`. */
  device: string;
  /** `capture.audio.pipeline` override. */
  pipeline?: string;
  /** kbit/s for opus (default 128). */
  bitrate?: number;
  port: number;
}

/** Raw audio from a PulseAudio source (PULSE_SERVER comes from the env) at `rate` and `channels`. */
export function pulseSource(device: string, rate: number, channels: number): string {
  return `pulsesrc device=${formatValue(device)} ! audioconvert ! audioresample ! audio/x-raw,rate=${rate},channels=${channels}`;
}

/** The gst-launch description of the audio stream (PULSE_SERVER comes from the env). */
export function buildAudioPipeline(opts: AudioPipelineOptions): string {
  const { codec, port } = opts;
  const custom = opts.pipeline?.trim();
  if (custom) return customPipeline(custom, codec, port, { device: opts.device });
  const rate = codec.clockRate === 8000 && codec.name === 'g722' ? 16000 : codec.clockRate;
  const src = pulseSource(opts.device, rate, codec.channels ?? 1);
  const enc = encoderElement(codec, undefined, undefined, { kbps: opts.bitrate ?? 128, fps: 0, keyint: 0, threads: 1 }, {});
  return `${src} ! ${enc} ! ${rtpTail(codec, port)}`;
}

/**
 * Splits a gst-launch description into argv like a POSIX shell would (whitespace separates,
 * single/double quotes group and are removed, backslash escapes). gst-launch-1.0 re-joins
 * its arguments, escaping spaces inside each, so quoted values survive intact.
 */
export function splitLaunchArgs(desc: string): string[] {
  const args: string[] = [];
  let cur = '';
  let has = false;
  let quote: '"' | "'" | null = null;
  for (let i = 0; i < desc.length; i++) {
    const c = desc[i]!;
    if (quote) {
      if (c === quote) quote = null;
      else if (c === '\\' && quote === '"' && i + 1 < desc.length && '"\\'.includes(desc[i + 1]!)) cur += desc[++i];
      else cur += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      has = true;
    } else if (c === '\\' && i + 1 < desc.length) {
      cur += desc[++i];
      has = true;
    } else if (/\s/.test(c)) {
      if (has) args.push(cur);
      cur = '';
      has = false;
    } else {
      cur += c;
      has = true;
    }
  }
  if (quote) throw new Error('unterminated quote in pipeline description');
  if (has) args.push(cur);
  return args;
}
