/**
 * Video stream selection (contract §9.2). Pure: the caller supplies the configured ids in
 * order (highest quality first) and what it knows about each stream right now.
 */

export type SelectorType = 'exact' | 'nearest' | 'lower' | 'higher';

export interface StreamSelector {
  type: SelectorType;
  /** Empty: select by bitrate. */
  id: string;
  /** bit/s; used only when `id` is empty. */
  bitrate: number;
}

export interface StreamState {
  id: string;
  /** Encoder running and delivering packets. */
  running: boolean;
  /** Measured bit/s; 0 when nothing was measured. */
  bitrate: number;
}

/** Maps the wire `type` (case-insensitive, `""` = exact); null for anything else. */
export function parseSelectorType(type: string): SelectorType | null {
  const t = type.toLowerCase();
  if (t === '' || t === 'exact') return 'exact';
  if (t === 'nearest' || t === 'lower' || t === 'higher') return t;
  return null;
}

/** The id the selector picks from `streams` (in configured order), or null when none fits. */
export function selectStream(streams: readonly StreamState[], selector: StreamSelector): string | null {
  return selector.id ? byId(streams, selector) : byBitrate(streams, selector);
}

function byId(streams: readonly StreamState[], { type, id }: StreamSelector): string | null {
  const index = streams.findIndex((s) => s.id === id);
  if (index < 0) return null;
  // Ids run from highest to lowest quality: "lower" is the next entry, "higher" the previous.
  const target = type === 'lower' ? index + 1 : type === 'higher' ? index - 1 : index;
  return streams[target]?.id ?? null;
}

function byBitrate(streams: readonly StreamState[], { type, bitrate }: StreamSelector): string | null {
  const measured = streams.filter((s) => s.running && s.bitrate > 0);
  switch (type) {
    case 'exact':
      return measured.find((s) => s.bitrate === bitrate)?.id ?? null;
    case 'nearest': {
      if (measured.length === 0) return streams[0]?.id ?? null;
      let below: StreamState | undefined;
      let above: StreamState | undefined;
      for (const s of measured) {
        if (s.bitrate <= bitrate) {
          if (!below || s.bitrate > below.bitrate) below = s;
        } else if (!above || s.bitrate < above.bitrate) {
          above = s;
        }
      }
      return (below ?? above)?.id ?? null;
    }
    case 'lower':
      return [...measured].reverse().find((s) => s.bitrate < bitrate)?.id ?? null;
    case 'higher':
      return measured.find((s) => s.bitrate > bitrate)?.id ?? null;
  }
}
