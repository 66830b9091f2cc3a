/**
 * Audio RtpStream against a real private PulseAudio (null sink `audio_output`).
 */
import assert from 'node:assert/strict';
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

describe('audio capture', () => {
  it('opus RTP packets arrive from the pulse monitor', async () => {
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
    try {
      const got: Buffer[] = [];
      const t0 = performance.now();
      let firstMs = -1;
      s.subscribe((p) => {
        if (got.length === 0) firstMs = performance.now() - t0;
        got.push(p);
      });
      const deadline = Date.now() + 5000;
      while (got.length < 20 && Date.now() < deadline) await sleep(20);
      // An idle null sink renders in ~2 s blocks until a client asks for lower latency, so
      // the first packet takes ~2 s here (~130 ms when something is playing).
      console.log(`# opus: first packet after ${firstMs.toFixed(0)} ms`);
      assert.ok(got.length >= 20, `got ${got.length} packets`);
      const h = parseRtpHeader(got[0]!)!;
      assert.equal(h.payloadType, 111);
      // 20 ms frames at a 48 kHz RTP clock (the very first step may be short: median).
      const deltas = got
        .slice(1, 20)
        .map((p, i) => (parseRtpHeader(p)!.timestamp - parseRtpHeader(got[i]!)!.timestamp) >>> 0)
        .sort((a, b) => a - b);
      assert.equal(deltas[Math.floor(deltas.length / 2)], 960);
      assert.equal(s.state, 'running');
      await sleep(1000);
      const st = s.stats();
      console.log(`# opus: ${st.packets} packets, ${st.bitrate} bit/s, gaps ${st.seqGaps}`);
      // 20 or more at the first check, then a second of 50 packets/s.
      assert.ok(st.packets > 60, `packets ${st.packets}`);
    } finally {
      await s.close();
    }
  });
});
