import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import type { App } from '../../../server/src/main.js';
import { startApp } from '../../helpers/app.js';
import { Viewer } from '../../helpers/viewer.js';

/** Records `ms` of the PulseAudio source desktop apps record from (48 kHz mono): RMS (0..1) and pitch (Hz). */
async function record(pulseServer: string, ms: number): Promise<{ rms: number; hz: number }> {
  // Without a small latency parec hands over (almost) nothing in a short recording.
  const args = ['-d', 'audio_input', '--format=s16le', '--rate=48000', '--channels=1', '--latency-msec=20'];
  const child = spawn('parec', args, {
    env: { ...process.env, PULSE_SERVER: pulseServer },
    stdio: ['ignore', 'pipe', 'ignore'],
    detached: true,
  });
  const chunks: Buffer[] = [];
  // parec sometimes takes a while to deliver its first bytes: wait for the amount, not the time.
  const wanted = 9600 + ms * 96;
  let received = 0;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms + 5000);
    child.stdout.on('data', (c: Buffer) => {
      chunks.push(c);
      received += c.length;
      if (received >= wanted) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  process.kill(-child.pid!, 'SIGKILL');
  await new Promise((r) => child.once('exit', r));
  const pcm = Buffer.concat(chunks);
  const samples: number[] = [];
  // The first 100 ms may hold what the source buffered before we asked.
  for (let i = 9600; i + 1 < pcm.length; i += 2) samples.push(pcm.readInt16LE(i) / 32768);
  assert.ok(samples.length >= ms * 48, `recorded enough audio (${samples.length} samples)`);
  const rms = Math.sqrt(samples.reduce((sum, v) => sum + v * v, 0) / samples.length);
  // Pitch from zero crossings (two per period), over the 10 ms blocks that carry sound, so a
  // gap while one track replaces another does not lower it.
  let crossings = 0;
  let voiced = 0;
  for (let start = 0; start + 480 <= samples.length; start += 480) {
    const block = samples.slice(start, start + 480);
    if (Math.max(...block.map(Math.abs)) < 0.01) continue;
    voiced += block.length;
    for (let i = 1; i < block.length; i++) if (Math.sign(block[i]!) !== Math.sign(block[i - 1]!)) crossings++;
  }
  return { rms, hz: voiced ? crossings / 2 / (voiced / 48000) : 0 };
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
      const { rms } = await record(app.desktop.pulseServer!, 1500);
      mic.stop();
      assert.ok(rms < 0.01, `silence expected, RMS ${rms.toFixed(4)}`);
    } finally {
      viewer.close();
    }
  });

  test('with can_share_media the tone is recorded from audio_input; a newer track replaces it; revoking stops it', async () => {
    const first = await Viewer.connect(app.url, 'boss', 'admin', { video: {}, audio: { disabled: true } });
    const second = await Viewer.connect(app.url, 'chief', 'admin', { video: {}, audio: { disabled: true } });
    try {
      await Promise.all([first.waitForDataChannel(), second.waitForDataChannel()]);
      await first.addMicrophone(440);
      await new Promise((r) => setTimeout(r, 800));
      const a = await record(app.desktop.pulseServer!, 1500);
      // The tone is sent at 12000/32768 ≈ 0.37 peak, an RMS of about 0.26.
      assert.ok(a.rms > 0.05, `tone expected, RMS ${a.rms.toFixed(4)}`);
      assert.ok(Math.abs(a.hz - 440) < 40, `440 Hz expected, measured ${a.hz.toFixed(0)} Hz`);
      // The server answered the client offer and the video keeps flowing.
      await first.waitForFrame(() => true, 10_000);

      await second.addMicrophone(1000);
      await new Promise((r) => setTimeout(r, 800));
      const b = await record(app.desktop.pulseServer!, 1500);
      assert.ok(Math.abs(b.hz - 1000) < 80, `the newer 1000 Hz track plays, measured ${b.hz.toFixed(0)} Hz`);

      // Losing the permission stops the microphone.
      const session = app.sessions.get(second.sessionId)!;
      app.sessions.updateProfile(session, { ...session.profile, can_share_media: false });
      await new Promise((r) => setTimeout(r, 500));
      const c = await record(app.desktop.pulseServer!, 1500);
      assert.ok(c.rms < 0.01, `silence after the permission is revoked, RMS ${c.rms.toFixed(4)}`);
    } finally {
      first.close();
      second.close();
    }
  });
});
