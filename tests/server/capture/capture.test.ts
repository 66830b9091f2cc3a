/**
 * Capture manager with a real Xvfb, PulseAudio and gst-launch encoders.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { silentLogger } from '../../../server/src/log.js';
import { Capture, type CaptureOptions } from '../../../server/src/capture/capture.js';
import { parseRtpHeader } from '../../../server/src/capture/rtp.js';
import type { XServer } from '../../../server/src/desktop/xserver.js';
import { startXvfb } from '../../helpers/xvfb.js';
import { PulseAudio } from '../../../server/src/desktop/pulseaudio.js';

let x: XServer;
let pulse: PulseAudio;
before(async () => {
  [x, pulse] = await Promise.all([startXvfb(), PulseAudio.start({ logger: silentLogger() })]);
});
after(async () => {
  await Promise.all([x?.close(), pulse?.close()]);
});

function options(over: Partial<CaptureOptions> = {}): CaptureOptions {
  return {
    display: x.display,
    pulseServer: pulse.server,
    video: { codec: 'vp8', ids: [], pipelines: {} },
    audio: { codec: 'opus', device: 'audio_output.monitor' },
    screen: { width: 1280, height: 720, rate: 30 },
    logger: silentLogger(),
    idleStopMs: 200,
    ...over,
  };
}

/** Command lines of gst-launch processes sending to this port. */
function encoderCmdlines(port: number): string[] {
  try {
    return execFileSync('pgrep', ['-af', `gst-launch-1.0 .*port=${port} `], { encoding: 'utf8' }).trim().split('\n');
  } catch {
    return [];
  }
}

async function waitFor(cond: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timeout waiting for ${what}`);
    await sleep(10);
  }
}

describe('Capture', () => {
  it('defaults: one vp8 stream `main` and opus audio; codec fallback; health', async () => {
    const c = new Capture(options({ video: { codec: 'theora', ids: [], pipelines: {} }, audio: { codec: 'mp3', device: '' } }));
    try {
      assert.deepEqual(c.videoIds, ['main']);
      assert.equal(c.videoCodec.name, 'vp8');
      assert.equal(c.audioCodec.name, 'opus');
      const main = c.video('main');
      assert.ok(main, 'main stream');
      assert.equal(main.codec.name, 'vp8');
      assert.equal(c.video('hq'), undefined);
      assert.ok(c.audio, 'audio stream');
      assert.deepEqual(c.health(), { 'video:main': 'idle', 'video:capture': 'idle', audio: 'idle' });
      assert.deepEqual(c.videoInfo('main'), { width: 1280, height: 720, fps: 30, kbps: 2765, scaled: false });

      const video: Buffer[] = [];
      const audio: Buffer[] = [];
      main.subscribe((p) => video.push(p));
      c.audio.subscribe((p) => audio.push(p));
      await waitFor(() => video.length > 0 && audio.length > 0, 5000, 'video and audio packets');
      assert.equal(parseRtpHeader(video[0]!)!.payloadType, 96);
      assert.equal(parseRtpHeader(audio[0]!)!.payloadType, 111);
      assert.deepEqual(c.health(), { 'video:main': 'running', 'video:capture': 'running', audio: 'running' });
    } finally {
      await c.close();
      await c.close();
    }
    assert.deepEqual(c.health(), { 'video:main': 'idle', 'video:capture': 'idle', audio: 'idle' });
  });

  it('no pulse server → no audio; ids and per-id pipelines; setScreen restarts running streams', async () => {
    const c = new Capture(
      options({
        pulseServer: null,
        video: {
          codec: 'h264',
          ids: ['hq', 'lq'],
          pipelines: {
            hq: { fps: 30 },
            lq: { width: 'width / 2', height: 'height / 2', fps: 15, bitrate: 400 },
          },
        },
      }),
    );
    try {
      assert.equal(c.audio, null);
      assert.deepEqual(c.videoIds, ['hq', 'lq']);
      assert.deepEqual(c.health(), { 'video:hq': 'idle', 'video:lq': 'idle', 'video:capture': 'idle' });
      assert.deepEqual(c.videoInfo('lq'), { width: 640, height: 360, fps: 15, kbps: 400, scaled: true });
      const lq = c.video('lq')!;
      let disc = 0;
      let n = 0;
      lq.subscribe(
        () => n++,
        () => disc++,
      );
      await waitFor(() => n > 0, 3000, 'lq packets');
      assert.match(encoderCmdlines(lq.port).join('\n'), /width=640,height=360/);

      const restarted = once(lq, 'restarted');
      await c.setScreen({ width: 1024, height: 768, rate: 30 });
      await restarted;
      const before = n;
      await waitFor(() => n > before && disc === 1, 3000, 'lq packets after setScreen');
      const cmd = encoderCmdlines(lq.port);
      assert.equal(cmd.length, 1);
      assert.match(cmd[0]!, /width=512,height=384/);
      assert.equal(c.video('hq')!.state, 'idle', 'idle streams are not started by setScreen');
      assert.equal(c.video('hq')!.stats().restarts, 0);
    } finally {
      await c.close();
    }
  });

  it('pipelines without ids: ids are the pipeline keys', async () => {
    const c = new Capture(options({ video: { codec: 'vp8', ids: [], pipelines: { a: {}, b: { fps: 10 } } } }));
    assert.deepEqual(c.videoIds, ['a', 'b']);
    await c.close();
  });
});
