/**
 * Reads the tags of an FLV file (Adobe FLV spec, annex E), so a test can see what a recorded
 * stream really carries: the header's audio/video flags are whatever the writer chose
 * (nginx-rtmp always sets both), the tags are the media.
 */

export const TAG_AUDIO = 8;
export const TAG_VIDEO = 9;
export const TAG_SCRIPT = 18;

/** SoundFormat 10 in an audio tag's first byte. */
const SOUND_AAC = 10;
/** CodecID 7 in a video tag's first byte. */
const CODEC_AVC = 7;

export interface FlvTag {
  /** 8 audio, 9 video, 18 script data. */
  type: number;
  /** Milliseconds. */
  timestamp: number;
  data: Buffer;
}

export interface FlvFile {
  /** Header flags: 0x04 audio, 0x01 video. */
  flags: number;
  tags: FlvTag[];
}

const HEADER = 9;
const TAG_HEADER = 11;
const PREVIOUS_SIZE = 4;

/**
 * Parses the header and every complete tag. A recording still being written may end in a
 * partial tag: parsing stops before it. Throws on anything that is not FLV.
 */
export function parseFlv(buf: Buffer): FlvFile {
  if (buf.length < HEADER || buf.toString('latin1', 0, 3) !== 'FLV') throw new Error('not an FLV file');
  const dataOffset = buf.readUInt32BE(5);
  if (dataOffset < HEADER) throw new Error(`bad FLV data offset ${dataOffset}`);
  const tags: FlvTag[] = [];
  let pos = dataOffset + PREVIOUS_SIZE;
  while (pos + TAG_HEADER <= buf.length) {
    const type = buf[pos]! & 0x1f;
    const size = buf.readUIntBE(pos + 1, 3);
    const timestamp = (buf.readUIntBE(pos + 4, 3) | (buf[pos + 7]! << 24)) >>> 0;
    const end = pos + TAG_HEADER + size;
    if (end + PREVIOUS_SIZE > buf.length) break;
    const previous = buf.readUInt32BE(end);
    if (previous !== TAG_HEADER + size) throw new Error(`FLV tag at ${pos}: previous-tag-size ${previous}, expected ${TAG_HEADER + size}`);
    tags.push({ type, timestamp, data: buf.subarray(pos + TAG_HEADER, end) });
    pos = end + PREVIOUS_SIZE;
  }
  return { flags: buf[4]!, tags };
}

export interface FlvMedia {
  /** AAC configuration tags (AudioSpecificConfig). */
  aacConfigs: number;
  /** AAC frames. */
  aacFrames: number;
  /** Audio tags in any other format. */
  otherAudio: number;
  /** AVC configuration tags (AVCDecoderConfigurationRecord). */
  avcConfigs: number;
  /** AVC frames, and how many of them are keyframes. */
  avcFrames: number;
  avcKeyframes: number;
  /** Video tags in any other codec. */
  otherVideo: number;
  /** Milliseconds between the first and last AAC frame. */
  audioSpanMs: number;
}

/** Counts the AAC and H.264 (AVC) content of the tags. */
export function flvMedia(file: FlvFile): FlvMedia {
  const m: FlvMedia = { aacConfigs: 0, aacFrames: 0, otherAudio: 0, avcConfigs: 0, avcFrames: 0, avcKeyframes: 0, otherVideo: 0, audioSpanMs: 0 };
  const audioTimes: number[] = [];
  for (const tag of file.tags) {
    if (tag.type === TAG_AUDIO) {
      if (tag.data.length < 2 || tag.data[0]! >> 4 !== SOUND_AAC) m.otherAudio++;
      else if (tag.data[1] === 0) m.aacConfigs++;
      else {
        m.aacFrames++;
        audioTimes.push(tag.timestamp);
      }
    } else if (tag.type === TAG_VIDEO) {
      if (tag.data.length < 5 || (tag.data[0]! & 0x0f) !== CODEC_AVC) m.otherVideo++;
      else if (tag.data[1] === 0) m.avcConfigs++;
      else if (tag.data[1] === 1) {
        m.avcFrames++;
        if (tag.data[0]! >> 4 === 1) m.avcKeyframes++;
      }
    }
  }
  if (audioTimes.length) m.audioSpanMs = Math.max(...audioTimes) - Math.min(...audioTimes);
  return m;
}
