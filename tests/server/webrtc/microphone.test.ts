import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import type { App } from '../../../server/src/main.js';
import { startApp } from '../../helpers/app.js';
import { Viewer } from '../../helpers/viewer.js';

/** Records `ms` of the PulseAudio source desktop apps record from, and returns its RMS (0..1). */
async function recordRms(pulseServer: string, ms: number): Promise<number> {
  // Without a small latency parec hands over (almost) nothing in a short recording.
  const args = ['-d', 'audio_input', '--format=s16le', '--rate=48000', '--channels=1', '--latency-msec=20'];
  const child = spawn('parec', args, {
    env: { ...process.env, PULSE_SERVER: pulseServer },
    stdio: ['ignore', 'pipe', 'ignore'],
    detached: true,
  });
  const chunks: Buffer[] = [];
  child.stdout.on('data', (c: Buffer) => chunks.push(c));
  await new Promise((r) => setTimeout(r, ms));
  process.kill(-child.pid!, 'SIGKILL');
  await new Promise((r) => child.once('exit', r));
  const pcm = Buffer.concat(chunks);
  // The first 100 ms may hold what the source buffered before we asked.
  const start = Math.min(pcm.length, 9600) & ~1;
  let sum = 0;
  let n = 0;
  for (let i = start; i + 1 < pcm.length; i += 2) {
    const v = pcm.readInt16LE(i) / 32768;
    sum += v * v;
    n++;
  }
  assert.ok(n > 12_000, `recorded enough audio (${n} samples)`);
  return Math.sqrt(sum / n);
}

describe('microphone: a viewer’s audio track is played into the desktop’s audio_input', () => {
  let app: App;

  before(async () => {
    app = await startApp(['--member.multiuser.user_profile', '{"can_share_media": false}']);
    assert.ok(app.desktop.pulseServer, 'the desktop runs PulseAudio');
  });

  after(async () => {
    await app?.close();
  });

  test('without can_share_media the track is ignored', async () => {
    const viewer = await Viewer.connect(app.url, 'alice', 'neko', { video: {}, audio: { disabled: true } });
    try {
      await viewer.waitForDataChannel();
      const mic = await viewer.addMicrophone();
      await new Promise((r) => setTimeout(r, 800));
      const rms = await recordRms(app.desktop.pulseServer!, 1500);
      mic.stop();
      assert.ok(rms < 0.01, `silence expected, RMS ${rms.toFixed(4)}`);
    } finally {
      viewer.close();
    }
  });

  test('with can_share_media the sine tone is recorded from audio_input', async () => {
    const viewer = await Viewer.connect(app.url, 'boss', 'admin', { video: {}, audio: { disabled: true } });
    try {
      await viewer.waitForDataChannel();
      const mic = await viewer.addMicrophone();
      await new Promise((r) => setTimeout(r, 800));
      const rms = await recordRms(app.desktop.pulseServer!, 1500);
      mic.stop();
      // A full-scale sine has RMS 0.707; the tone is sent at 12000/32768 ≈ 0.37 peak → ~0.26.
      assert.ok(rms > 0.05, `tone expected, RMS ${rms.toFixed(4)}`);
      // The server answered the client offer and the video keeps flowing.
      await viewer.waitForFrame(() => true, 10_000);
    } finally {
      viewer.close();
    }
  });
});
