import type { Logger } from '../../log.js';
import type { WebRTCManager } from '../../webrtc/manager.js';
import type { EventTable } from '../gateway.js';
import { object, optionalBool, optionalInt, optionalObject, optionalString, string, PayloadError } from '../payload.js';

/** `signal/*` events (contract §7). */
export function signalHandlers(webrtc: WebRTCManager, logger: Logger): EventTable {
  return {
    'signal/request': async (session, payload) => {
      if (!session.profile.can_watch) {
        logger.warn({ session_id: session.id }, 'signal/request without can_watch dropped');
        return;
      }
      const body = optionalObject(payload);
      const video = optionalObject(body.video);
      const audio = optionalObject(body.audio);
      const selector = optionalObject(video.selector);
      const selectorType = optionalString(selector, 'type') ?? '';
      if (!['', 'exact', 'nearest'].includes(selectorType.toLowerCase())) {
        throw new PayloadError(`unsupported selector type ${selectorType}`);
      }
      const provide = await webrtc.connect(session, {
        videoId: optionalString(selector, 'id') || undefined,
        audioDisabled: optionalBool(audio, 'disabled') ?? false,
      });
      if (provide) session.send('signal/provide', provide);
    },
    'signal/answer': async (session, payload) => {
      await webrtc.answer(session, string(object(payload), 'sdp'));
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
  };
}
