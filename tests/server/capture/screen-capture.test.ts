/**
 * The shared screen capture with a real Xvfb, real gst-launch processes and real X DAMAGE:
 * one capture for every built-in stream, paused on an idle screen and continued by the next
 * change, encoder or viewer; crashes and close() leave nothing behind.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { performance } from 'node:perf_hooks';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Capture, type CaptureOptions } from '../../../server/src/capture/capture.js';
import { parseRtpHeader } from '../../../server/src/capture/rtp.js';
import type { RtpStream } from '../../../server/src/capture/stream.js';
import { DamageWatcher } from '../../../server/src/desktop/damage.js';
import { X11Client } from '../../../server/src/desktop/x11-client.js';
import type { XServer } from '../../../server/src/desktop/xserver.js';
import { silentLogger } from '../../../server/src/log.js';
import type { App } from '../../../server/src/main.js';
import { paintRoot, startApp } from '../../helpers/app.js';
import { near, pixel, Viewer } from '../../helpers/viewer.js';
import { LogLines } from '../../helpers/log-lines.js';
import { lockPid, waitFor } from '../../helpers/x11.js';
import { startXvfb } from '../../helpers/xvfb.js';

const RED = { r: 255, g: 0, b: 0 };
const BLUE = { r: 0, g: 0, b: 255 };

/** hd at the screen's size, sd at half: both can share the capture. */
const TWO_QUALITIES = { hd: {}, sd: { width: 'width / 2', height: 'height / 2', bitrate: 400 } };

/** Command lines of the gst-launch processes whose command line contains `text`. */
function gst(text: string): string[] {
  let out = '';
  try {
    out = execFileSync('pgrep', ['-af', '^gst-launch-1.0 '], { encoding: 'utf8' });
  } catch {
    return [];
  }
  return out
    .trim()
    .split('\n')
    .filter((line) => line.includes(text));
}

/** Single-letter process state from /proc (R, S, T = stopped, ...), '' when gone. */
function procState(pid: number): string {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  } catch {
    return '';
  }
}

/** Stops (SIGSTOP) the encoder reading `socket` whose command line has `text`: a hung encoder. */
function hangEncoder(socket: string, text: string): number {
  const [line] = execFileSync('pgrep', ['-af', `^gst-launch-1.0 shmsrc socket-path=${socket} .*${text}`], { encoding: 'utf8' }).trim().split('\n');
  const pid = Number(line!.split(' ')[0]);
  process.kill(pid, 'SIGSTOP');
  return pid;
}

/** Continues a stopped encoder, if it is still there. */
function unhang(pid: number): void {
  if (procState(pid) !== '') process.kill(pid, 'SIGCONT');
}

function shmSegments(pid: number): string[] {
  return readdirSync('/dev/shm').filter((name) => new RegExp(`^shmpipe\\.\\s*${pid}\\.`).test(name));
}

/** Counts RTP frames (marker bits) and packets of a stream. */
function counter(stream: RtpStream): { frames: number; packets: number; stop: () => void } {
  const c = { frames: 0, packets: 0, stop: () => undefined as void };
  c.stop = stream.subscribe((p) => {
    c.packets++;
    if (parseRtpHeader(p)?.marker) c.frames++;
  });
  return c;
}

describe('shared screen capture (Capture + Xvfb + gst-launch)', () => {
  let x: XServer;
  let damage: DamageWatcher;
  before(async () => {
    x = await startXvfb({ width: 1280, height: 720 });
    damage = await DamageWatcher.start({ display: x.display, logger: silentLogger() });
  });
  after(async () => {
    await damage?.close();
    await x?.close();
  });

  function options(over: Partial<CaptureOptions> = {}): CaptureOptions {
    return {
      display: x.display,
      pulseServer: null,
      video: { codec: 'vp8', ids: [], pipelines: TWO_QUALITIES },
      audio: { codec: 'opus', device: '' },
      screen: { width: 1280, height: 720, rate: 30 },
      logger: silentLogger(),
      idleStopMs: 200,
      damage,
      ...over,
    };
  }

  it('one screen grabber for two qualities at once, encoders read it with shmsrc; the capture stops with its last encoder', async () => {
    const c = new Capture(options({ idleAfterMs: 0 }));
    const shared = c.screenCapture!;
    const hd = counter(c.video('hd')!);
    const sd = counter(c.video('sd')!);
    try {
      await waitFor('packets of both qualities', () => hd.packets > 0 && sd.packets > 0, 10_000);
      const captures = gst(`display-name=${x.display} `);
      assert.equal(captures.length, 1, `one capture process: ${captures.join('\n')}`);
      assert.equal(shared.grabber, 'damage', 'server/native is built by the set-up');
      assert.match(captures[0]!, /nekodamagesrc .*always=true .* ! shmsink socket-path=/);
      const encoders = gst(`shmsrc socket-path=${shared.socket} `);
      assert.equal(encoders.length, 2, `two encoders on the shared capture: ${encoders.join('\n')}`);
      assert.ok(encoders.some((cmd) => /videoscale ! video\/x-raw,width=640,height=360/.test(cmd)), 'sd scales');
      assert.equal(c.health()['video:capture'], 'running');
      const pid = shared.processId!;
      assert.equal(statMode(dirname(shared.socket)), 0o700, 'private socket directory');

      hd.stop();
      sd.stop();
      await waitFor('capture stopped after its last encoder', () => gst(shared.socket).length === 0 && gst(`display-name=${x.display} `).length === 0, 10_000);
      await waitFor('capture idle', () => shared.state === 'idle');
      assert.deepEqual(shmSegments(pid), [], 'no shared memory left by the stopped capture');
    } finally {
      await c.close();
    }
  });

  it('an encoder that stops reading (hung) does not freeze the other qualities: the stalled capture restarts with its encoders', async () => {
    const log = new LogLines('info');
    const c = new Capture(options({ idleAfterMs: 0, logger: log.logger }));
    const shared = c.screenCapture!;
    const hd = counter(c.video('hd')!);
    const sd = counter(c.video('sd')!);
    let hung: number | null = null;
    try {
      await waitFor('packets of both qualities', () => hd.frames > 0 && sd.frames > 0, 10_000);
      hung = hangEncoder(shared.socket, 'width=640');
      // Its unreturned frames fill the shared memory within a third of a second; the capture
      // then blocks, and with it every other encoder.
      await sleep(1000);
      const hdAt = hd.frames;
      const sdAt = sd.frames;
      await waitFor('hd frames again', () => hd.frames > hdAt + 30, 15_000);
      await waitFor('sd frames again, from a new encoder', () => procState(hung!) === '' && sd.frames > sdAt + 30, 15_000);
      assert.ok(log.lines.some((l) => l.msg === 'screen capture stalled: no encoder finished a frame; restarting it and its encoders'), 'the stall is logged');
    } finally {
      if (hung !== null) unhang(hung);
      hd.stop();
      sd.stop();
      await c.close();
    }
  });

  it('an encoder waits for a capture slow to start instead of failing without it', async () => {
    const c = new Capture(options({ video: { codec: 'vp8', ids: [], pipelines: {} }, idleAfterMs: 0 }));
    const xPid = lockPid(x.display);
    // A stopped X server holds the capture in its connection set-up, before it listens.
    process.kill(xPid, 'SIGSTOP');
    let main: ReturnType<typeof counter> | null = null;
    try {
      main = counter(c.video('main')!);
      await waitFor('capture process spawned', () => gst(`display-name=${x.display} `).length === 1, 10_000);
      await sleep(1000);
      process.kill(xPid, 'SIGCONT');
      await waitFor('packets', () => main!.packets > 0, 10_000);
      assert.equal(c.video('main')!.state, 'running');
      assert.equal(c.video('main')!.stats().restarts, 0, 'no encoder start wasted on a capture not listening yet');
    } finally {
      process.kill(xPid, 'SIGCONT');
      main?.stop();
      await c.close();
    }
  });

  it('pauses (SIGSTOP) on an idle screen and runs again at the next change, whose frames arrive', async () => {
    const c = new Capture(options({ video: { codec: 'vp8', ids: [], pipelines: {} }, idleAfterMs: 300, grabber: 'ximagesrc' }));
    const shared = c.screenCapture!;
    const main = counter(c.video('main')!);
    try {
      await waitFor('packets', () => main.frames > 0, 10_000);
      const pid = shared.processId!;
      await waitFor('capture stopped (state T) on the idle screen', () => procState(pid) === 'T', 10_000);
      assert.equal(shared.paused, true);
      assert.equal(c.health()['video:capture'], 'running', 'a paused capture is healthy');

      const framesWhilePaused = main.frames;
      const t0 = performance.now();
      await paintRoot(x.display, '#ff0000');
      await waitFor('frames after the change', () => main.frames > framesWhilePaused, 5000);
      console.log(`# first frame ${(performance.now() - t0).toFixed(0)} ms after xsetroot on a paused capture`);
      assert.notEqual(procState(pid), 'T', 'running again');
      assert.equal(shared.processId, pid, 'the same process, continued');
      await waitFor('paused again', () => procState(pid) === 'T', 10_000);
    } finally {
      main.stop();
      await c.close();
    }
  });

  it('pauses are sent between frames, never inside the grab ximagesrc holds around every frame: 50 pauses at 1080p, each ended by a change', async () => {
    const big = await startXvfb({ width: 1920, height: 1080 });
    const bigDamage = await DamageWatcher.start({ display: big.display, logger: silentLogger() });
    const painter = await X11Client.connect(big.display);
    const log = new LogLines('debug');
    const c = new Capture(
      options({
        logger: log.logger,
        display: big.display,
        video: { codec: 'vp8', ids: [], pipelines: {} },
        screen: { width: 1920, height: 1080, rate: 30 },
        idleAfterMs: 150,
        damage: bigDamage,
        grabber: 'ximagesrc',
      }),
    );
    const shared = c.screenCapture!;
    const main = counter(c.video('main')!);
    try {
      await waitFor('packets', () => main.packets > 0, 10_000);
      for (let i = 0; i < 50; i++) {
        await waitFor(`pause ${i}`, () => shared.paused && procState(shared.processId!) === 'T', 5000);
        const before = main.packets;
        await painter.setRootBackground(i % 2 ? 0xff0000 : 0x00ff00);
        await waitFor(`frames after change ${i}`, () => main.packets > before, 3000);
      }
      const caught = log.lines.filter((l) => l.msg === 'screen capture resumed' && l.reason === 'x server grabbed').length;
      console.log(`# pauses undone because the capture was stopped holding its grab: ${caught}`);
      // Stopped at a random time, about one pause in fifteen lands inside the grab at 1080p
      // (three or more of fifty) and freezes every X client until the round trip gives up.
      // Sent right after a finished frame, none does on a quiet machine; on a loaded
      // one the stop itself can come late, and an occasional one is caught and undone.
      assert.ok(caught <= 1, `pauses stopped inside the grab: ${caught} of 50`);
      assert.deepEqual(log.lines.filter((l) => l.msg === 'X server held by the paused screen capture; resuming it'), []);
    } finally {
      main.stop();
      await c.close();
      await painter.close();
      await bigDamage.close();
      await big.close();
    }
  });

  it('an encoder restarted after a crash on an idle screen gets frames again', async () => {
    const c = new Capture(options({ video: { codec: 'vp8', ids: [], pipelines: {} }, idleAfterMs: 300, grabber: 'ximagesrc' }));
    const shared = c.screenCapture!;
    const stream = c.video('main')!;
    const main = counter(stream);
    try {
      await waitFor('packets', () => main.packets > 0, 10_000);
      await waitFor('paused', () => procState(shared.processId!) === 'T', 10_000);
      const restarted = once(stream, 'restarted');
      stream.killEncoder();
      await restarted;
      const before = main.packets;
      await waitFor('packets from the restarted encoder', () => main.packets > before, 5000);
    } finally {
      main.stop();
      await c.close();
    }
  });

  it('a killed capture comes back and so do its encoders', async () => {
    const c = new Capture(options({ idleAfterMs: 0 }));
    const shared = c.screenCapture!;
    const hd = counter(c.video('hd')!);
    const sd = counter(c.video('sd')!);
    try {
      await waitFor('packets of both qualities', () => hd.packets > 0 && sd.packets > 0, 10_000);
      const pid = shared.processId!;
      process.kill(pid, 'SIGKILL');
      await waitFor('a new capture process', () => shared.processId !== null && shared.processId !== pid, 10_000);
      const [h, s] = [hd.packets, sd.packets];
      await waitFor('packets of both qualities again', () => hd.packets > h && sd.packets > s, 10_000);
      assert.equal(gst(`display-name=${x.display} `).length, 1, 'one capture');
      assert.equal(gst(`shmsrc socket-path=${shared.socket} `).length, 2, 'two encoders');
      assert.ok(c.video('hd')!.stats().restarts >= 1 && c.video('sd')!.stats().restarts >= 1, 'encoders restarted');
      assert.equal(c.video('hd')!.state, 'running');
      assert.deepEqual(shmSegments(pid), [], 'the killed capture\'s shared memory is removed');
    } finally {
      hd.stop();
      sd.stop();
      await c.close();
    }
  });

  it('a new screen mode restarts the capture, then its encoders at the new mode', async () => {
    const c = new Capture(options({ idleAfterMs: 0 }));
    const shared = c.screenCapture!;
    const hd = counter(c.video('hd')!);
    const sd = counter(c.video('sd')!);
    try {
      await waitFor('packets of both qualities', () => hd.packets > 0 && sd.packets > 0, 10_000);
      const pid = shared.processId!;
      const restarted = Promise.all([once(c.video('hd')!, 'restarted'), once(c.video('sd')!, 'restarted')]);
      await c.setScreen({ width: 1280, height: 720, rate: 25 });
      await restarted;
      const [h, s] = [hd.packets, sd.packets];
      await waitFor('packets of both qualities at 25 fps', () => hd.packets > h && sd.packets > s, 10_000);
      assert.notEqual(shared.processId, pid, 'a new capture process');
      const captures = gst(`display-name=${x.display} `);
      assert.equal(captures.length, 1);
      assert.match(captures[0]!, /format=I420,colorimetry=bt601,framerate=25\/1 ! shmsink/);
      const encoders = gst(`shmsrc socket-path=${shared.socket} `);
      assert.equal(encoders.length, 2);
      for (const cmd of encoders) assert.match(cmd, /colorimetry=bt601,width=1280,height=720,framerate=25\/1/);
    } finally {
      hd.stop();
      sd.stop();
      await c.close();
    }
  });

  it('close() of a paused capture leaves no process, shared memory or socket directory', async () => {
    const c = new Capture(options({ idleAfterMs: 200, grabber: 'ximagesrc' }));
    const shared = c.screenCapture!;
    const hd = counter(c.video('hd')!);
    await waitFor('packets', () => hd.packets > 0, 10_000);
    const pid = shared.processId!;
    await waitFor('paused', () => procState(pid) === 'T', 10_000);
    const t0 = performance.now();
    await c.close();
    // A stopped process ignores SIGTERM until continued: without SIGCONT first, close()
    // would only return after the supervisor's 2 s SIGKILL grace.
    assert.ok(performance.now() - t0 < 1500, `close took ${(performance.now() - t0).toFixed(0)} ms`);
    assert.equal(procState(pid), '', 'capture gone');
    assert.deepEqual(gst(shared.socket), [], 'encoders gone');
    assert.deepEqual(shmSegments(pid), []);
    assert.equal(existsSync(dirname(shared.socket)), false, 'socket directory removed');
  });
});

describe('damage-driven grabber (server/native nekodamagesrc, Capture + Xvfb)', () => {
  let x: XServer;
  let damage: DamageWatcher;
  let painter: X11Client;
  before(async () => {
    x = await startXvfb({ width: 1280, height: 720 });
    damage = await DamageWatcher.start({ display: x.display, logger: silentLogger() });
    painter = await X11Client.connect(x.display);
  });
  after(async () => {
    await painter?.close();
    await damage?.close();
    await x?.close();
  });

  function capture(logger = silentLogger()): Capture {
    return new Capture({
      display: x.display,
      pulseServer: null,
      video: { codec: 'vp8', ids: [], pipelines: TWO_QUALITIES },
      audio: { codec: 'opus', device: '' },
      screen: { width: 1280, height: 720, rate: 30 },
      logger,
      idleStopMs: 200,
      idleAfterMs: 100,
      damage,
    });
  }

  /** Frames counted over `ms` after waiting `settleMs` for the last change to pass. */
  async function framesOver(c: { frames: number }, ms: number, settleMs = 1500): Promise<number> {
    await sleep(settleMs);
    const before = c.frames;
    await sleep(ms);
    return c.frames - before;
  }

  it('grabs changes only: a still screen sends no frames and is never stopped; a change, a new quality and a restarted encoder each get a picture', async () => {
    const c = capture();
    const shared = c.screenCapture!;
    const hd = counter(c.video('hd')!);
    let sd: ReturnType<typeof counter> | null = null;
    try {
      await waitFor('a first hd frame of the still screen', () => hd.frames > 0, 10_000);
      assert.equal(shared.grabber, 'damage');
      assert.match(gst(`display-name=${x.display} `)[0]!, / gst-launch-1\.0 nekodamagesrc display-name=\S+ always=false ! /);
      assert.equal(await framesOver(hd, 1000), 0, 'no frames of a still screen');
      assert.notEqual(procState(shared.processId!), 'T', 'not stopped: it waits for changes by itself');

      // The grabber watches drawing itself: this process is told of changes a few times a
      // second, not at every one (each report costs an X event, a request and timers here).
      let reports = 0;
      const count = () => reports++;
      damage.on('damage', count);
      for (let i = 0; i < 25; i++) {
        await painter.setRootBackground(i % 2 ? 0x101010 : 0x303030);
        await sleep(20);
      }
      damage.off('damage', count);
      assert.ok(reports >= 1 && reports <= 6, `${reports} reports of 25 changes`);

      const before = hd.frames;
      await painter.setRootBackground(0xff0000);
      await waitFor('frames after a change', () => hd.frames > before, 3000);

      // A new encoder of a still screen: its first picture is asked for.
      await sleep(1500);
      sd = counter(c.video('sd')!);
      await waitFor('a first sd frame of the still screen', () => sd!.frames > 0, 5000);

      const stream = c.video('hd')!;
      const restarted = once(stream, 'restarted');
      stream.killEncoder();
      await restarted;
      const afterRestart = hd.frames;
      await waitFor('a frame from the restarted encoder', () => hd.frames > afterRestart, 5000);
    } finally {
      hd.stop();
      sd?.stop();
      await c.close();
    }
  });

  it('a hung encoder on a screen that keeps changing: the changes that bring no frame restart the capture and its encoders', async () => {
    const log = new LogLines('info');
    const c = capture(log.logger);
    const shared = c.screenCapture!;
    const hd = counter(c.video('hd')!);
    const sd = counter(c.video('sd')!);
    let hung: number | null = null;
    const stalled = () => log.lines.some((l) => l.msg === 'screen capture stalled: no encoder finished a frame; restarting it and its encoders');
    try {
      await waitFor('frames of both qualities', () => hd.frames > 0 && sd.frames > 0, 10_000);
      hung = hangEncoder(shared.socket, 'width=640');
      // Changes fill the shared memory with frames the stopped encoder never returns, and keep
      // coming (a moving page): the stall must show although the last change is always new.
      const deadline = Date.now() + 15_000;
      for (let i = 0; !stalled() && Date.now() < deadline; i++) {
        await painter.setRootBackground(i % 2 ? 0x00ff00 : 0x0000ff);
        await sleep(100);
      }
      assert.ok(stalled(), 'the stall logged while the screen kept changing');
      const hdAt = hd.frames;
      const sdAt = sd.frames;
      await painter.setRootBackground(0xffffff);
      await waitFor('frames of both again', () => procState(hung!) === '' && hd.frames > hdAt && sd.frames > sdAt, 10_000);
    } finally {
      if (hung !== null) unhang(hung);
      hd.stop();
      sd.stop();
      await c.close();
    }
  });
});

function statMode(path: string): number {
  return Number.parseInt(execFileSync('stat', ['-c', '%a', path], { encoding: 'utf8' }).trim(), 8);
}

describe('idle screen with viewers (whole app, wrtc viewers)', () => {
  let app: App;
  const viewers: Viewer[] = [];
  before(async () => {
    app = await startApp([
      '--desktop.audio=false',
      '--capture.video.grabber',
      'ximagesrc',
      '--capture.video.idle_after',
      '300ms',
      '--capture.video.pipelines',
      JSON.stringify({ ...TWO_QUALITIES, pointer: { show_pointer: true } }),
    ]);
    await paintRoot(app.desktop.display, '#0000ff');
  });
  after(async () => {
    viewers.forEach((v) => v.close());
    await app?.close();
  });

  it('a change after an idle pause shows; viewers joining a paused capture get a picture (also of a quality not yet encoded) in BT.601 colours', async () => {
    const shared = app.capture.screenCapture!;
    const watching = await Viewer.connect(app.url, 'alice', 'neko');
    viewers.push(watching);
    await watching.waitForFrame((f) => near(pixel(f, 640, 360), BLUE), 15_000);
    await waitFor('capture paused', () => shared.paused && procState(shared.processId!) === 'T', 10_000);

    await paintRoot(app.desktop.display, '#ff0000');
    await watching.waitForFrame((f) => near(pixel(f, 640, 360), RED), 5000);
    await waitFor('capture paused again', () => shared.paused && procState(shared.processId!) === 'T', 10_000);

    // Same quality: its encoder runs (blocked), the keyframe cache gives the picture.
    const t0 = performance.now();
    const same = await Viewer.connect(app.url, 'bob', 'neko');
    viewers.push(same);
    await same.waitForFrame((f) => near(pixel(f, 640, 360), RED), 5000);
    console.log(`# joining hd while paused: first red frame ${(performance.now() - same.answeredAt).toFixed(0)} ms after the answer (${(performance.now() - t0).toFixed(0)} ms after login)`);

    await waitFor('capture paused again', () => shared.paused && procState(shared.processId!) === 'T', 10_000);
    // Another quality: a new encoder, which gets frames only from a running capture.
    const other = await Viewer.connect(app.url, 'carol', 'neko', { video: { selector: { type: 'exact', id: 'sd' } }, audio: {} });
    viewers.push(other);
    const frame = await other.waitForFrame((f) => near(pixel(f, f.width >> 1, f.height >> 1), RED), 5000);
    assert.equal(frame.width, 640);
    // BT.601 frames, as VP8 decoders assume: BT.709 ones (the default from 720 lines up)
    // decode to a red of about (233, 0, 2).
    for (const [f, x, y] of [[frame, 320, 180], [same.lastFrame!, 640, 360]] as const) {
      const p = pixel(f, x, y);
      assert.ok(near(p, RED, 10), `exact red at ${f.width}x${f.height}: ${JSON.stringify(p)}`);
    }
    console.log(`# joining sd while paused: first red frame ${(performance.now() - other.answeredAt).toFixed(0)} ms after the answer`);
  });

  it('a quality with a capture of its own (show_pointer) is in BT.601 colours too', async () => {
    const own = await Viewer.connect(app.url, 'dave', 'neko', { video: { selector: { type: 'exact', id: 'pointer' } }, audio: {} });
    viewers.push(own);
    // Away from the pointer, which this capture draws.
    const frame = await own.waitForFrame((f) => f.width === 1280 && near(pixel(f, 100, 100), RED, 60), 10_000);
    assert.ok(gst('ximagesrc').some((cmd) => /show-pointer=true/.test(cmd)), 'its own ximagesrc');
    const p = pixel(frame, 100, 100);
    assert.ok(near(p, RED, 10), `exact red at 1280x720: ${JSON.stringify(p)}`);
  });
});
