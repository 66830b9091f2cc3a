import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { App } from '../../../server/src/main.js';
import { startApp } from '../../helpers/app.js';
import { login, SocketClient, Viewer } from '../../helpers/viewer.js';
import { waitFor } from '../../helpers/x11.js';

describe('peer lifecycle follows the session', () => {
  let app: App;
  before(async () => {
    app = await startApp();
  });
  after(async () => {
    await app?.close();
  });

  test('a viewer that leaves without logging out has its peer closed at once', async () => {
    const { token } = await login(app.url, 'watcher', 'admin');
    const observer = await SocketClient.open(app.url, token);
    await observer.waitFor('system/init');
    const viewer = await Viewer.connect(app.url, 'leaver', 'neko');
    try {
      await viewer.waitForFrame();
      await observer.waitFor('session/state', (p) => p.id === viewer.sessionId && p.is_watching === true);
      const seen = observer.events.length;
      viewer.socket.close();
      await waitFor('the left viewer to stop watching', () =>
        observer.events.slice(seen).some((e) => e.event === 'session/state' && e.payload.id === viewer.sessionId && e.payload.is_watching === false),
      5000);
      assert.equal(app.sessions.get(viewer.sessionId)?.peer, null);
    } finally {
      viewer.close();
      observer.close();
    }
  });
});
