import { RtpPacket } from 'werift';

/** RTP header extension asking the receiver for a playout delay range (libwebrtc's). */
export const PLAYOUT_DELAY_URI = 'http://www.webrtc.org/experiments/rtp-hdrext/playout-delay';

/** min = max = 0 (12 bits each, 10 ms units): render frames as soon as they are decoded. */
const ZERO_DELAY = Buffer.alloc(3);

/**
 * Adds the playout-delay extension (negotiated as `id`) to a packet from the encoder. werift
 * keeps extensions it does not generate itself, so the packet goes out with it.
 */
export function withPlayoutDelay(packet: Buffer, id: number): RtpPacket {
  const rtp = RtpPacket.deSerialize(packet);
  rtp.header.extension = true;
  rtp.header.extensions = [...rtp.header.extensions.filter((e) => e.id !== id), { id, payload: ZERO_DELAY }];
  return rtp;
}
