import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import diagnostics from 'node:diagnostics_channel';
import { after, before, describe, test } from 'node:test';
import { getCodec } from '../../../server/src/capture/codecs.js';
import { INPUT_SOURCE, PulseAudio } from '../../../server/src/desktop/pulseaudio.js';
import { silentLogger } from '../../../server/src/log.js';
import type { App } from '../../../server/src/main.js';
import { Microphone, type IncomingTrack } from '../../../server/src/webrtc/microphone.js';
import { startApp } from '../../helpers/app.js';
import { LogLines } from '../../helpers/log-lines.js';
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

type Heard = { rms: number; hz: number };

/**
 * Records `audio_input` one second at a time until `ok` holds for a recording, or throws
 * after `timeoutMs` with the last measurement. The tone reaches the source some time after
 * the track is attached (pipeline start, jitter buffer, PulseAudio latency), and that time
 * is not fixed.
 */
async function hear(pulseServer: string, what: string, ok: (h: Heard) => boolean, timeoutMs = 20_000): Promise<Heard> {
  const deadline = Date.now() + timeoutMs;
  let last: Heard;
  do {
    last = await record(pulseServer, 1000);
    if (ok(last)) return last;
  } while (Date.now() < deadline);
  throw new Error(`timed out waiting for ${what}: last RMS ${last.rms.toFixed(4)}, ${last.hz.toFixed(0)} Hz`);
}

const tone = (hz: number, tolerance: number) => (h: Heard) => h.rms > 0.05 && Math.abs(h.hz - hz) < tolerance;
const silence = (h: Heard) => h.rms < 0.01;

describe('microphone: a viewer’s audio track is played into the desktop’s audio_input', () => {
  let app: App;
  let logs: LogLines;

  before(async () => {
    logs = new LogLines();
    app = await startApp(['--member.multiuser.user_profile', '{"can_share_media": false}'], logs.logger);
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
      // The refusal is decided (and logged) as the track arrives: nothing else could play it.
      await logs.waitFor('the track refused', (l) => l.session_id === viewer.sessionId && l.msg === 'microphone track without can_share_media ignored');
      assert.ok(!logs.lines.some((l) => l.session_id === viewer.sessionId && l.msg === 'microphone track attached'));
      const { rms } = await record(app.desktop.pulseServer!, 1500);
      mic.stop();
      assert.ok(silence({ rms, hz: 0 }), `silence expected, RMS ${rms.toFixed(4)}`);
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
      // The tone is sent at 12000/32768 ≈ 0.37 peak, an RMS of about 0.26.
      await hear(app.desktop.pulseServer!, 'the 440 Hz tone', tone(440, 40));
      // The server answered the client offer and the video keeps flowing.
      await first.waitForFrame(() => true, 10_000);

      await second.addMicrophone(1000);
      await hear(app.desktop.pulseServer!, 'the newer 1000 Hz track', tone(1000, 80));

      // Losing the permission stops the microphone.
      const session = app.sessions.get(second.sessionId)!;
      app.sessions.updateProfile(session, { ...session.profile, can_share_media: false });
      await hear(app.desktop.pulseServer!, 'silence after the permission is revoked', silence);
    } finally {
      first.close();
      second.close();
    }
  });
});

/** An opus RTP tone from a real encoder, handed over the way werift hands over a client track. */
async function toneTrack(hz: number): Promise<{ track: IncomingTrack; close(): Promise<void> }> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const subscribers = new Set<(packet: { serialize(): Buffer }) => void>();
  const first = new Promise<void>((resolve) => socket.once('message', () => resolve()));
  socket.on('message', (msg) => {
    for (const fn of subscribers) fn({ serialize: () => Buffer.from(msg) });
  });
  const encoder = spawn(
    'gst-launch-1.0',
    [
      '-q', 'audiotestsrc', 'is-live=true', `freq=${hz}`, 'volume=0.4',
      '!', 'audioconvert', '!', 'audioresample', '!', 'audio/x-raw,rate=48000,channels=2',
      '!', 'opusenc', '!', 'rtpopuspay', 'pt=111',
      '!', 'udpsink', 'host=127.0.0.1', `port=${socket.address().port}`,
    ],
    { stdio: 'ignore', detached: true },
  );
  const exited = new Promise((resolve) => encoder.once('exit', resolve));
  const close = async () => {
    try {
      process.kill(-encoder.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
    await exited;
    socket.close();
  };
  await Promise.race([first, exited.then(() => Promise.reject(new Error('the tone encoder exited')))]).catch(async (err: unknown) => {
    await close();
    throw err;
  });
  return {
    track: {
      onReceiveRtp: {
        subscribe(fn) {
          subscribers.add(fn);
          return { unSubscribe: () => subscribers.delete(fn) };
        },
      },
    },
    close,
  };
}

describe('microphone: the pipeline’s RTP port', () => {
  let pulse: PulseAudio;

  before(async () => {
    pulse = await PulseAudio.start({ logger: silentLogger() });
  });
  after(async () => {
    await pulse?.close();
  });

  test('no one can take the port between its choice and the pipeline binding it', async () => {
    // A port that a loopback UDP socket of this process frees is taken at once, as any
    // other program could: a port found free, released and handed to the pipeline is lost.
    const taken: dgram.Socket[] = [];
    let stealing = true;
    let creatingThief = false;
    const onSocket = (message: unknown) => {
      if (creatingThief) return;
      const socket = (message as { socket: dgram.Socket }).socket;
      socket.once('listening', () => {
        const { address, port } = socket.address();
        if (address !== '127.0.0.1') return;
        socket.once('close', () => {
          if (!stealing) return;
          creatingThief = true;
          const thief = dgram.createSocket('udp4');
          creatingThief = false;
          taken.push(thief);
          thief.once('error', () => {});
          thief.bind(port, '127.0.0.1');
        });
      });
    };
    const source = await toneTrack(440);
    const logs = new LogLines();
    const mic = new Microphone({ pulseServer: pulse.server, device: INPUT_SOURCE, codec: getCodec('opus', 'audio'), logger: logs.logger });
    diagnostics.subscribe('udp.socket', onSocket);
    try {
      mic.attach({}, source.track);
      const outcome = await logs.waitFor(
        'the microphone pipeline playing or failing',
        (l) => l.msg === 'microphone playing' || l.msg === 'microphone pipeline did not start',
        20_000,
      );
      stealing = false;
      assert.equal(outcome.msg, 'microphone playing', `the pipeline started: ${JSON.stringify(outcome)}`);
      await hear(pulse.server, 'the 440 Hz tone', tone(440, 40));
      assert.equal(taken.length, 0, 'no loopback port was freed on the way');
    } finally {
      stealing = false;
      diagnostics.unsubscribe('udp.socket', onSocket);
      await mic.close();
      await source.close();
      for (const socket of taken) socket.close();
    }
  });
});
