/**
 * Audio RtpStream against a real private PulseAudio (null sink `audio_output`).
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { silentLogger } from '../../../server/src/log.js';
import { getCodec } from '../../../server/src/capture/codecs.js';
import { buildAudioPipeline } from '../../../server/src/capture/pipelines.js';
import { parseRtpHeader } from '../../../server/src/capture/rtp.js';
import { RtpStream } from '../../../server/src/capture/stream.js';
import { PulseAudio } from '../../../server/src/desktop/pulseaudio.js';

let pulse: PulseAudio;
before(async () => {
  pulse = await PulseAudio.start({ logger: silentLogger() });
});
after(async () => {
  await pulse?.close();
});

/** A tone played into the null sink, so its monitor carries sound. */
function playTone(server: string): ChildProcess {
  return spawn('gst-launch-1.0', ['-q', 'audiotestsrc', 'is-live=true', 'volume=0.3', '!', 'pulsesink', 'device=audio_output'], {
    env: { ...process.env, PULSE_SERVER: server },
    stdio: 'ignore',
    detached: true,
  });
}

describe('audio capture', () => {
  it('opus RTP packets arrive from the pulse monitor: 20 ms frames with sound, a trickle on silence', async () => {
    const codec = getCodec('opus', 'audio');
    const s = new RtpStream({
      id: 'audio',
      kind: 'audio',
      codec,
      env: { ...process.env, PULSE_SERVER: pulse.server },
      logger: silentLogger(),
      idleStopMs: 100,
      pipeline: (port) => buildAudioPipeline({ codec, device: 'audio_output.monitor', port }),
    });
    let tone: ChildProcess | null = playTone(pulse.server);
    try {
      const got: Buffer[] = [];
      const t0 = performance.now();
      let firstMs = -1;
      s.subscribe((p) => {
        if (got.length === 0) firstMs = performance.now() - t0;
        got.push(p);
      });
      const deadline = Date.now() + 8000;
      while (got.length < 60 && Date.now() < deadline) await sleep(20);
      console.log(`# opus: first packet after ${firstMs.toFixed(0)} ms`);
      assert.ok(got.length >= 60, `got ${got.length} packets`);
      const h = parseRtpHeader(got[0]!)!;
      assert.equal(h.payloadType, 111);
      // 20 ms frames at a 48 kHz RTP clock, one after the other while there is sound (the
      // first packets may still be silence: look at the last ones).
      const recent = got.slice(-30);
      const deltas = recent.slice(1).map((p, i) => (parseRtpHeader(p)!.timestamp - parseRtpHeader(recent[i]!)!.timestamp) >>> 0);
      assert.ok(deltas.every((d) => d === 960), `timestamp steps ${deltas.join(',')}`);
      assert.equal(s.state, 'running');

      // Silence: discontinuous transmission, a packet every 400 ms instead of 50 a second.
      process.kill(-tone.pid!, 'SIGKILL');
      tone = null;
      await sleep(1500);
      const before = got.length;
      await sleep(2000);
      const perSecond = (got.length - before) / 2;
      console.log(`# opus: ${perSecond} packets/s on silence`);
      assert.ok(perSecond > 0 && perSecond <= 10, `${perSecond} packets/s on silence`);
    } finally {
      if (tone) process.kill(-tone.pid!, 'SIGKILL');
      await s.close();
    }
  });
});
