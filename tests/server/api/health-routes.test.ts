import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import type { App } from '../../../server/src/main.js';
import { api } from '../../helpers/api.js';
import { startApp } from '../../helpers/app.js';
import { waitFor } from '../../helpers/x11.js';

describe('GET /health reports every supervised part', () => {
  let app: App | undefined;
  after(async () => {
    await app?.close();
  });

  test('200 with the state of X, PulseAudio and the encoders while all run', async () => {
    app = await startApp();
    const res = await api(app.url).get('/health').expect(200);
    assert.equal(res.body.status, 'ok');
    assert.equal(res.body.components['desktop.xserver'], 'running');
    assert.equal(res.body.components['desktop.pulseaudio'], 'running');
    assert.equal(res.body.components['video:main'], 'idle');
    await app.close();
    app = undefined;
  });

  test('503 naming the part once a supervised process keeps dying', async () => {
    // A demo app that exits at once exhausts its restarts; health must say so.
    app = await startApp(['--desktop.app', 'sh -c "exit 3"']);
    const url = app.url;
    const first = await waitFor('health to turn 503', async () => {
      const r = await api(url).get('/health');
      return r.status === 503 ? r : null;
    }, 20_000);
    assert.equal(first.body.status, 'degraded');
    const res = await waitFor('the app to be given up on', async () => {
      const r = await api(url).get('/health');
      return r.body.components['desktop.app'] === 'failed' ? r : null;
    }, 30_000);
    assert.equal(res.status, 503);
    assert.equal(res.body.components['desktop.app'], 'failed');
    assert.equal(res.body.components['desktop.xserver'], 'running');
  });
});
