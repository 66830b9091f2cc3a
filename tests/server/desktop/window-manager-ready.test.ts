import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Desktop } from '../../../server/src/desktop/desktop.js';
import { silentLogger } from '../../../server/src/log.js';
import { onDisplay } from '../../helpers/x11.js';

describe('window manager before the app', () => {
  test('the app window is managed on every start: never mapped while the window manager still starts', async () => {
    // Started together, openbox drops most windows mapped during its first ~100 ms.
    for (let attempt = 0; attempt < 6; attempt++) {
      const desktop = await Desktop.start({
        screen: { width: 800, height: 600, rate: 30 },
        server: 'xvfb',
        windowManager: 'openbox',
        app: 'xterm -title neko-managed',
        audio: false,
        logger: silentLogger(),
      });
      try {
        const id = (await onDisplay(desktop.display, 'xdotool', ['search', '--name', 'neko-managed'])).trim().split('\n')[0]!;
        assert.match(await onDisplay(desktop.display, 'xwininfo', ['-id', id]), /Map State: IsViewable/, `attempt ${attempt}: mapped`);
        assert.match(await onDisplay(desktop.display, 'xprop', ['-id', id, 'WM_STATE']), /window state: Normal/, `attempt ${attempt}: managed`);
      } finally {
        await desktop.close();
      }
    }
  });
});
