import type { WebRTCManager } from '../../webrtc/manager.js';
import { parseSelectorType, type StreamSelector } from '../../webrtc/selector.js';
import type { EventTable } from '../gateway.js';
import { EventRefused, object, optionalBool, optionalInt, optionalObject, optionalString, string, PayloadError, type Obj } from '../payload.js';

/** Description sizes far beyond any real SDP are refused before werift parses them. */
const MAX_SDP = 64 * 1024;

function sdpOf(payload: unknown): string {
  const sdp = string(object(payload), 'sdp');
  if (sdp.length > MAX_SDP) throw new PayloadError(`sdp longer than ${MAX_SDP} characters`);
  return sdp;
}

/** Contract §9.2 StreamSelector `{type, id, bitrate}`; absent → undefined. */
function selectorOf(video: Obj): StreamSelector | undefined {
  if (video.selector === undefined || video.selector === null) return undefined;
  const selector = object(video.selector);
  const typeText = optionalString(selector, 'type') ?? '';
  const type = parseSelectorType(typeText);
  if (!type) throw new PayloadError(`unknown selector type ${typeText}`);
  return {
    type,
    id: optionalString(selector, 'id') ?? '',
    bitrate: optionalInt(selector, 'bitrate', 0, Number.MAX_SAFE_INTEGER) ?? 0,
  };
}

/** `signal/*` events (contract §7). */
export function signalHandlers(webrtc: WebRTCManager): EventTable {
  return {
    'signal/request': async (session, payload) => {
      if (!session.profile.can_watch) throw new EventRefused('signal/request without can_watch', 'warn');
      const body = optionalObject(payload);
      const video = optionalObject(body.video);
      const audio = optionalObject(body.audio);
      const provide = await webrtc.connect(session, {
        selector: selectorOf(video),
        videoDisabled: optionalBool(video, 'disabled') ?? false,
        auto: optionalBool(video, 'auto') ?? optionalBool(body, 'auto') ?? false,
        audioDisabled: optionalBool(audio, 'disabled') ?? false,
      });
      if (provide) session.send('signal/provide', provide);
    },
    'signal/answer': async (session, payload) => {
      await webrtc.answer(session, sdpOf(payload));
    },
    'signal/offer': async (session, payload) => {
      const sdp = await webrtc.offer(session, sdpOf(payload));
      if (sdp) session.send('signal/answer', { sdp });
    },
    'signal/restart': async (session) => {
      const sdp = await webrtc.restart(session);
      if (!sdp) throw new EventRefused('signal/restart without a stable peer', 'warn');
      session.send('signal/restart', { sdp });
    },
    'signal/candidate': async (session, payload) => {
      const body = object(payload);
      await webrtc.candidate(session, {
        candidate: string(body, 'candidate'),
        sdpMid: optionalString(body, 'sdpMid'),
        sdpMLineIndex: optionalInt(body, 'sdpMLineIndex', 0, 255),
        usernameFragment: optionalString(body, 'usernameFragment'),
      });
    },
    'signal/video': (session, payload) => {
      const body = object(payload);
      const video = webrtc.setVideo(session, {
        disabled: optionalBool(body, 'disabled'),
        selector: selectorOf(body),
        auto: optionalBool(body, 'auto'),
      });
      if (video) session.send('signal/video', video);
    },
    'signal/audio': (session, payload) => {
      const disabled = optionalBool(object(payload), 'disabled');
      if (disabled === undefined) return;
      const audio = webrtc.setAudio(session, disabled);
      if (audio) session.send('signal/audio', audio);
    },
  };
}
