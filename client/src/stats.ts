// What the stats overlay shows, computed from two successive WebRTC stats reports of the
// receiving peer. Pure (plain objects in, numbers out), so the arithmetic is testable in Node.

/** The counters of one report that the overlay needs; cumulative ones as the browser reports them. */
export interface StatsSample {
  /** Report time, ms. */
  at: number;
  framesDecoded: number;
  bytesReceived: number;
  packetsReceived: number;
  packetsLost: number;
  /** Seconds, summed over emitted frames. */
  jitterBufferDelay: number;
  jitterBufferEmittedCount: number;
  /** Seconds, summed over decoded frames. */
  totalDecodeTime: number;
  width: number;
  height: number;
  /** The browser's own frame rate, when it reports one. */
  framesPerSecond: number | null;
  /** Seconds, from the selected ICE candidate pair. */
  roundTrip: number | null;
  codec: string | null;
}

export interface StatsView {
  fps: number | null;
  /** Video, kbit/s. */
  bitrateKbps: number | null;
  /** Share of the video packets lost since the last report, percent. */
  lossPercent: number | null;
  jitterBufferMs: number | null;
  decodeMs: number | null;
  roundTripMs: number | null;
  /** Screen to eyes, roughly: half the round trip (one way) + jitter buffer + decode. */
  latencyMs: number | null;
  width: number;
  height: number;
  codec: string | null;
}

type Entry = Record<string, unknown> & { id?: string; type?: string };

const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
const optNum = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/** Picks the video counters out of a report (an RTCStatsReport's values); null without inbound video. */
export function readStats(entries: Iterable<Entry>, at: number): StatsSample | null {
  const byId = new Map<string, Entry>();
  const all = [...entries];
  for (const e of all) if (typeof e.id === 'string') byId.set(e.id, e);
  const video = all.find((e) => e.type === 'inbound-rtp' && e.kind === 'video');
  if (!video) return null;
  const transport = all.find((e) => e.type === 'transport' && typeof e.selectedCandidatePairId === 'string');
  const pair =
    (transport && byId.get(transport.selectedCandidatePairId as string)) ??
    all.find((e) => e.type === 'candidate-pair' && e.nominated === true && e.state === 'succeeded');
  const codec = typeof video.codecId === 'string' ? byId.get(video.codecId) : undefined;
  const mime = typeof codec?.mimeType === 'string' ? codec.mimeType : null;
  return {
    at,
    framesDecoded: num(video.framesDecoded),
    bytesReceived: num(video.bytesReceived),
    packetsReceived: num(video.packetsReceived),
    packetsLost: Math.max(0, num(video.packetsLost)),
    jitterBufferDelay: num(video.jitterBufferDelay),
    jitterBufferEmittedCount: num(video.jitterBufferEmittedCount),
    totalDecodeTime: num(video.totalDecodeTime),
    width: num(video.frameWidth),
    height: num(video.frameHeight),
    framesPerSecond: optNum(video.framesPerSecond),
    roundTrip: optNum(pair?.currentRoundTripTime),
    codec: mime ? mime.replace(/^video\//i, '') : null,
  };
}

/** Per-unit average of a cumulative total over the span between two samples, or over all time without a span. */
function average(total: number, count: number, prevTotal: number | undefined, prevCount: number | undefined): number | null {
  const dt = total - (prevTotal ?? 0);
  const dc = count - (prevCount ?? 0);
  if (dc > 0) return dt / dc;
  return count > 0 ? total / count : null;
}

/**
 * The overlay's numbers from the current sample and the one before it (null at first).
 * `channelRttMs`, the data channel's ping time, stands in when ICE reports no round trip.
 */
export function deriveStats(prev: StatsSample | null, cur: StatsSample, channelRttMs: number | null): StatsView {
  const span = prev ? (cur.at - prev.at) / 1000 : 0;
  const usable = prev !== null && span > 0 && cur.framesDecoded >= prev.framesDecoded;
  const fps = usable ? (cur.framesDecoded - prev.framesDecoded) / span : cur.framesPerSecond;
  const bitrateKbps = usable ? ((cur.bytesReceived - prev.bytesReceived) * 8) / span / 1000 : null;
  let lossPercent: number | null = null;
  if (usable) {
    const lost = Math.max(0, cur.packetsLost - prev.packetsLost);
    const got = Math.max(0, cur.packetsReceived - prev.packetsReceived);
    lossPercent = lost + got > 0 ? (lost / (lost + got)) * 100 : 0;
  }
  const p = usable ? prev : null;
  const jitter = average(cur.jitterBufferDelay, cur.jitterBufferEmittedCount, p?.jitterBufferDelay, p?.jitterBufferEmittedCount);
  const decode = average(cur.totalDecodeTime, cur.framesDecoded, p?.totalDecodeTime, p?.framesDecoded);
  const jitterBufferMs = jitter === null ? null : jitter * 1000;
  const decodeMs = decode === null ? null : decode * 1000;
  const roundTripMs = cur.roundTrip !== null ? cur.roundTrip * 1000 : channelRttMs;
  const latencyMs =
    roundTripMs === null && jitterBufferMs === null ? null : (roundTripMs ?? 0) / 2 + (jitterBufferMs ?? 0) + (decodeMs ?? 0);
  return {
    fps,
    bitrateKbps,
    lossPercent,
    jitterBufferMs,
    decodeMs,
    roundTripMs,
    latencyMs,
    width: cur.width,
    height: cur.height,
    codec: cur.codec,
  };
}
