/** RTP header extension asking the receiver for a playout delay range (libwebrtc's). */
export const PLAYOUT_DELAY_URI = 'http://www.webrtc.org/experiments/rtp-hdrext/playout-delay';
