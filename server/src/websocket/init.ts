import type { SessionManager } from '../sessions/manager.js';
import type { Session } from '../sessions/session.js';

export interface ScreenSize {
  width: number;
  height: number;
  rate: number;
}

export interface ConnectSources {
  sessions: SessionManager;
  screenSize(): ScreenSize;
  screenSizes(): ScreenSize[];
  videoIds(): string[];
  touchEvents: boolean;
  screencastEnabled: boolean;
  broadcastStatus(): { is_active: boolean; url?: string };
  /** Session holding the file chooser dialog, if one is open (step 4). */
  fileChooserDialogOwner?(): string | null;
  /** Plugin init events (`chat/init`, …), sent last. */
  pluginInits: Array<(session: Session) => void>;
}

/** The contract's connect sequence (§5.2), in its order. */
export function sendConnectSequence(session: Session, src: ConnectSources): void {
  const { sessions } = src;
  const sessionMap: Record<string, unknown> = {};
  for (const s of sessions.list()) sessionMap[s.id] = s.data();
  session.send('system/init', {
    session_id: session.id,
    control_host: { id: '', ...sessions.controlStatus() },
    screen_size: src.screenSize(),
    sessions: sessionMap,
    settings: sessions.settings,
    touch_events: src.touchEvents,
    screencast_enabled: src.screencastEnabled,
    webrtc: { videos: src.videoIds() },
  });
  if (session.isAdmin) {
    session.send('system/admin', {
      screen_sizes_list: src.screenSizes(),
      broadcast_status: src.broadcastStatus(),
    });
    const settings = sessions.settings;
    // Control protection: an admin's arrival unlocks controls (contract §6).
    if (settings.locked_controls && settings.control_protection) {
      sessions.updateSettings({ ...settings, locked_controls: false }, session);
    }
  }
  sessions.broadcastState(session);
  const dialogOwner = src.fileChooserDialogOwner?.();
  if (dialogOwner) session.send('file_chooser_dialog/opened', { id: dialogOwner });
  for (const init of src.pluginInits) init(session);
}
