import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { loadConfig } from '../../server/src/config/index.js';
import { silentLogger, createLogger, type Logger } from '../../server/src/log.js';
import { start, type App } from '../../server/src/main.js';

export const exec = promisify(execFile);

/**
 * Starts the whole product in-process on a free port with its own X server. No window
 * manager, app or background colour unless asked, so the root window's colour is under the
 * test's control. The frontend ICE list points at loopback so no client ever tries a public
 * STUN server. The screen capture never pauses unless asked (`capture.video.idle_after`):
 * on this still screen it would, and tests counting frames expect a steady stream.
 */
export async function startApp(flags: string[] = [], logger?: Logger): Promise<App> {
  return startDesktopApp(['--desktop.window_manager', '', '--desktop.app', '', '--desktop.background', '', '--capture.video.idle_after', '0', ...flags], logger);
}

/** Like startApp, but with the desktop `npm start` shows: window manager, Chromium, background. */
export async function startDesktopApp(flags: string[] = [], logger?: Logger): Promise<App> {
  const config = loadConfig(
    ['--server.bind', '127.0.0.1:0', '--webrtc.iceservers.frontend', '[{"urls":["stun:127.0.0.1:3478"]}]', ...flags],
    {},
  );
  const log = logger ?? (process.env.TEST_LOG ? createLogger({ level: process.env.TEST_LOG }) : silentLogger());
  return start(config, log);
}

/** Paints the root window of `display` a solid colour (`#rrggbb`). */
export async function paintRoot(display: string, colour: string): Promise<void> {
  await exec('xsetroot', ['-solid', colour], { env: { ...process.env, DISPLAY: display } });
}
