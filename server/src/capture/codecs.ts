/**
 * Codec table of contract §9.1. One video and one audio codec per server; only these are
 * offered. Field names follow werift's `RTCRtpCodecParameters` (`fmtp` maps to its
 * `parameters`), so a WebRTC module can build its codec list straight from a `Codec`.
 */

export type MediaKind = 'video' | 'audio';

export interface RtcpFeedback {
  type: string;
  parameter?: string;
}

export interface Codec {
  /** Config name, lower case: `vp8`, `h264`, `opus`, ... */
  readonly name: string;
  readonly kind: MediaKind;
  /** e.g. `video/VP8`, `audio/opus`. */
  readonly mimeType: string;
  readonly payloadType: number;
  readonly clockRate: number;
  /** Audio channel count (omitted for video). */
  readonly channels?: number;
  /** SDP `a=fmtp` parameters, if any. */
  readonly fmtp?: string;
  readonly rtcpFeedback: readonly RtcpFeedback[];
}

/** Video RTCP feedback advertised for every video codec (§9.1). */
export const VIDEO_RTCP_FEEDBACK: readonly RtcpFeedback[] = Object.freeze([
  { type: 'transport-cc' },
  { type: 'goog-remb' },
  { type: 'ccm', parameter: 'fir' },
  { type: 'nack', parameter: 'pli' },
  { type: 'nack' },
]);

function video(name: string, mime: string, payloadType: number, fmtp?: string): Codec {
  return Object.freeze({
    name,
    kind: 'video' as const,
    mimeType: `video/${mime}`,
    payloadType,
    clockRate: 90000,
    ...(fmtp ? { fmtp } : {}),
    rtcpFeedback: VIDEO_RTCP_FEEDBACK,
  });
}

function audio(name: string, mime: string, payloadType: number, clockRate: number, channels: number, fmtp?: string): Codec {
  return Object.freeze({
    name,
    kind: 'audio' as const,
    mimeType: `audio/${mime}`,
    payloadType,
    clockRate,
    channels,
    ...(fmtp ? { fmtp } : {}),
    rtcpFeedback: Object.freeze([]),
  });
}

export const CODECS: Readonly<Record<string, Codec>> = Object.freeze({
  vp8: video('vp8', 'VP8', 96),
  vp9: video('vp9', 'VP9', 98, 'profile-id=0'),
  av1: video('av1', 'AV1', 96),
  h264: video('h264', 'H264', 102, 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f'),
  h265: video('h265', 'H265', 116, 'profile-id=1;level-id=93;tx-mode=SRST'),
  opus: audio('opus', 'opus', 111, 48000, 2, 'useinbandfec=1;stereo=1'),
  g722: audio('g722', 'G722', 9, 8000, 1),
  pcmu: audio('pcmu', 'PCMU', 0, 8000, 1),
  pcma: audio('pcma', 'PCMA', 8, 8000, 1),
});

export const DEFAULT_VIDEO_CODEC = 'vp8';
export const DEFAULT_AUDIO_CODEC = 'opus';

/** True when `name` (case-insensitive) is a codec of the given kind in the table. */
export function isKnownCodec(name: string, kind: MediaKind): boolean {
  const c = CODECS[name.trim().toLowerCase()];
  return c !== undefined && c.kind === kind;
}

/**
 * Looks a codec up by config name (case-insensitive). Unknown names, or a name of the
 * other kind, fall back to `vp8` (video) / `opus` (audio), as §9.1 requires.
 */
export function getCodec(name: string | undefined | null, kind: MediaKind): Codec {
  const c = name ? CODECS[name.trim().toLowerCase()] : undefined;
  if (c && c.kind === kind) return c;
  return CODECS[kind === 'video' ? DEFAULT_VIDEO_CODEC : DEFAULT_AUDIO_CODEC]!;
}

/** The codec whose MIME type matches (case-insensitive), e.g. from an SDP answer. */
export function codecByMimeType(mimeType: string): Codec | undefined {
  const m = mimeType.toLowerCase();
  return Object.values(CODECS).find((c) => c.mimeType.toLowerCase() === m);
}
