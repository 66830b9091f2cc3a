import { XServer } from '../../server/src/desktop/xserver.js';
import { silentLogger } from '../../server/src/log.js';

/** A bare Xvfb on a free display for tests that need X but not the whole product. */
export function startXvfb(opts: { width?: number; height?: number } = {}): Promise<XServer> {
  return XServer.start({ kind: 'xvfb', width: opts.width ?? 1280, height: opts.height ?? 720, logger: silentLogger() });
}
