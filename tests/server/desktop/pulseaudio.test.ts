import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { Desktop } from '../../../server/src/desktop/desktop.js';
import { PulseAudio } from '../../../server/src/desktop/pulseaudio.js';
import { silentLogger } from '../../../server/src/log.js';
import { execFileP, pgrep, waitFor } from '../../helpers/x11.js';

const logger = silentLogger();

async function pactl(server: string, ...args: string[]): Promise<string> {
  const { stdout } = await execFileP('pactl', args, { env: { ...process.env, PULSE_SERVER: server }, timeout: 5000 });
  return stdout;
}

/** Plays a square wave into `sink` while recording `source`; returns the loudest sample seen. */
async function loopback(server: string, sink: string, source: string): Promise<number> {
  const env = { ...process.env, PULSE_SERVER: server };
  const fmt = ['--format=s16le', '--rate=48000', '--channels=1'];
  const rec = spawn('parec', [`--device=${source}`, ...fmt, '--latency-msec=20'], {
    env,
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const play = spawn('pacat', [`--device=${sink}`, ...fmt, '--latency-msec=20'], {
    env,
    stdio: ['pipe', 'ignore', 'ignore'],
  });
  const tone = Buffer.alloc(48000 * 2); // 1 s, 16-bit mono
  for (let i = 0; i < tone.length / 2; i++) tone.writeInt16LE(Math.floor(i / 48) % 2 ? 8000 : -8000, i * 2);
  play.stdin.end(tone);
  let peak = 0;
  rec.stdout.on('data', (chunk: Buffer) => {
    for (let i = 0; i + 1 < chunk.length; i += 2) peak = Math.max(peak, Math.abs(chunk.readInt16LE(i)));
  });
  try {
    await waitFor('audio through the loop', () => peak > 4000, 5000);
  } finally {
    rec.kill();
    play.kill();
  }
  return peak;
}

describe('PulseAudio', () => {
  it('provides audio_output (+ monitor) and an audio_input source that carries audio', async () => {
    const pulse = await PulseAudio.start({ logger });
    const dir = pulse.server.replace(/^unix:/, '').replace(/\/native$/, '');
    try {
      assert.match(pulse.server, /^unix:\/.+\/native$/);
      assert.equal(pulse.state, 'running');
      const sinks = await pactl(pulse.server, 'list', 'short', 'sinks');
      assert.match(sinks, /^\d+\taudio_output\t/m);
      const sources = await pactl(pulse.server, 'list', 'short', 'sources');
      assert.match(sources, /^\d+\taudio_output\.monitor\t/m);
      assert.match(sources, /^\d+\taudio_input\t/m);
      const info = await pactl(pulse.server, 'info');
      assert.match(info, /Default Sink: audio_output/);
      assert.match(info, /Default Source: audio_input/);
      // What a microphone writes into audio_input_sink comes out of audio_input…
      assert.ok((await loopback(pulse.server, 'audio_input_sink', 'audio_input')) > 4000);
      // …and what the desktop plays reaches the capture device.
      assert.ok((await loopback(pulse.server, 'audio_output', 'audio_output.monitor')) > 4000);
    } finally {
      await pulse.close();
      await pulse.close(); // idempotent
    }
    assert.ok(!existsSync(dir), 'runtime dir removed');
    assert.deepEqual(await pgrep(`pulseaudio .*--file=${dir}/`), []);
  });

  it('is restarted after a crash at the same socket', async () => {
    const pulse = await PulseAudio.start({ logger });
    try {
      pulse.kill();
      await waitFor('restart', () => pulse.state === 'restarting');
      await waitFor('running again', () => pulse.state === 'running');
      assert.match(await pactl(pulse.server, 'list', 'short', 'sinks'), /audio_output/);
    } finally {
      await pulse.close();
    }
  });

  it('runs with a desktop that owns its X server, and the app gets PULSE_SERVER and DISPLAY', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'neko-test-')), 'env');
    const desktop = await Desktop.start({
      screen: { width: 800, height: 600, rate: 30 },
      server: 'xvfb',
      windowManager: '',
      app: `sh -c 'pactl info >/dev/null && echo "$PULSE_SERVER $DISPLAY" > ${out} && exec sleep 60'`,
      audio: true,
      logger,
    });
    try {
      assert.match(desktop.pulseServer ?? '', /^unix:\/.+\/native$/);
      assert.equal(desktop.health()['desktop.pulseaudio'], 'running');
      const seen = await waitFor('app wrote its env', () => existsSync(out) && readFileSync(out, 'utf8').trim());
      assert.equal(seen, `${desktop.pulseServer} ${desktop.display}`);
    } finally {
      await desktop.close();
      rmSync(dirname(out), { recursive: true, force: true });
    }
  });
});
