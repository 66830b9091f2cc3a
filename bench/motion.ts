/**
 * The motion scenario of `npm run bench`: a test pattern scrolling over most of the screen
 * (bench/motion-window.ts), the server at the screen's own mode (no fps override), and
 * - a viewer in real Chromium timing key → flip of a square on top of the motion;
 * - fan-out to N non-decoding werift viewers: server CPU per extra viewer, µs of server CPU
 *   per forwarded packet per viewer, loss and frame rate at every viewer;
 * - the encoder on a moving and on a static screen;
 * - the server's pipeline run bare (gst-launch-1.0 alone) against the whole stack.
 */
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Browser } from 'playwright-core';
import { splitLaunchArgs } from '../server/src/capture/pipelines.js';
import { encodeClientMessage } from '../server/src/webrtc/datachannel.js';
import { lockPid } from '../tests/helpers/x11.js';
import { ChromiumViewer, type BrowserVideoStats, type FlipSample } from './chromium-viewer.js';
import { CountingViewer } from './counting-viewer.js';
import { FlipWindow, withTimeout } from './flip-window.js';
import { MotionWindow } from './motion-window.js';
import { cmdline, CpuWindow, readProc } from './proc.js';
import { startServer, type ServerProcess } from './server-process.js';

export interface Report {
  row(metric: string, value: string, target?: string, pass?: boolean): void;
  section(title: string): void;
  footer: string[];
}

export interface MotionOptions {
  width: number;
  height: number;
  full: boolean;
  /** Extra server flags from the command line, applied last. */
  extraFlags: string[];
}

const FPS = 30;
const KEYSYM = 0x61;
const WHITE = { r: 255, g: 255, b: 255 };
const BLACK = { r: 0, g: 0, b: 0 };

const quantile = (values: number[], q: number): number => {
  const v = values.filter(Number.isFinite).sort((a, b) => a - b);
  return v.length ? v[Math.min(v.length - 1, Math.max(0, Math.ceil(q * v.length) - 1))]! : NaN;
};
const median = (v: number[]) => quantile(v, 0.5);
const ms = (v: number) => (Number.isFinite(v) ? `${v.toFixed(v < 10 ? 1 : 0)} ms` : 'n/a');
const pct = (v: number) => (Number.isFinite(v) ? `${v.toFixed(1)} %` : 'n/a');

interface FanWindow {
  usage: Record<string, number>;
  seconds: number;
  /** Per viewer, over the window. */
  packetsPerS: number[];
  framesPerS: number[];
  kbps: number[];
  /** Sequence gaps not filled by a late packet (repair) by the end of the window. */
  lost: number[];
  /** Busy CPU of processes neither ours nor the bench's, % of one core. */
  others: number;
}

function videoEncoders(server: ServerProcess): number[] {
  return server.tree().filter((pid) => readProc(pid)?.comm === 'gst-launch-1.0' && cmdline(pid).includes('ximagesrc'));
}

async function cpuWindow(server: ServerProcess, motion: MotionWindow | null, viewers: CountingViewer[], ms: number): Promise<FanWindow> {
  const xPid = lockPid(server.display);
  const groups: Record<string, () => number[]> = {
    server: () => [server.pid],
    video: () => videoEncoders(server),
    xserver: () => [xPid],
    motion: () => (motion ? [motion.pid] : []),
    bench: () => [process.pid],
  };
  const before = viewers.map((v) => ({ ...v.counts }));
  const cpu = new CpuWindow(groups);
  const t0 = performance.now();
  await sleep(ms);
  const usage = cpu.finish();
  const seconds = (performance.now() - t0) / 1000;
  const per = (k: 'packets' | 'frames' | 'bytes' | 'gaps' | 'repaired') => viewers.map((v, i) => v.counts[k] - before[i]![k]);
  const repaired = per('repaired');
  const ours = Object.entries(usage).filter(([k]) => k !== 'machine').reduce((s, [, v]) => s + v, 0);
  return {
    usage,
    seconds,
    packetsPerS: per('packets').map((n) => n / seconds),
    framesPerS: per('frames').map((n) => n / seconds),
    kbps: per('bytes').map((n) => (n * 8) / 1000 / seconds),
    lost: per('gaps').map((g, i) => Math.max(0, g - repaired[i]!)),
    others: Math.max(0, (usage.machine ?? NaN) - ours),
  };
}

/** The server's pipeline alone, its RTP drained by this process; % of one core over `ms`. */
async function bareEncoder(display: string, pipeline: string, ms: number): Promise<{ cpu: number; fps: number }> {
  const socket = dgram.createSocket({ type: 'udp4', recvBufferSize: 4 << 20 });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
  let frames = 0;
  socket.on('message', (buf: Buffer) => {
    if (buf.length >= 12 && buf[1]! & 0x80) frames++;
  });
  const desc = pipeline.replace(/udpsink host=\S+ port=\d+/, `udpsink host=127.0.0.1 port=${socket.address().port}`);
  const child = spawn('gst-launch-1.0', splitLaunchArgs(desc), { env: { ...process.env, DISPLAY: display }, stdio: 'ignore', detached: true });
  const kill = () => {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // gone
    }
  };
  process.prependListener('exit', kill);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    const deadline = performance.now() + 5000;
    while (frames === 0 && performance.now() < deadline) await sleep(50);
    if (frames === 0) throw new Error('bare encoder: no frames within 5 s');
    await sleep(1000);
    const cpu = new CpuWindow({ bare: () => [child.pid!] });
    const f0 = frames;
    const t0 = performance.now();
    await sleep(ms);
    const usage = cpu.finish();
    return { cpu: usage.bare ?? NaN, fps: (frames - f0) / ((performance.now() - t0) / 1000) };
  } finally {
    kill();
    await Promise.race([exited, sleep(2000)]);
    process.removeListener('exit', kill);
    socket.close();
  }
}

interface BrowserFlips {
  samples: FlipSample[];
  /** KeyPress at the flip window for each sample (wall clock, NaN when unseen). */
  pressedAt: number[];
  missed: number;
  statsBefore: BrowserVideoStats | null;
  statsAfter: BrowserVideoStats | null;
  seconds: number;
}

async function browserFlips(viewer: ChromiumViewer, flip: FlipWindow, samples: number): Promise<BrowserFlips> {
  const keyDown = encodeClientMessage({ type: 'keyDown', keysym: KEYSYM });
  const keyUp = encodeClientMessage({ type: 'keyUp', keysym: KEYSYM });
  const out: BrowserFlips = { samples: [], pressedAt: [], missed: 0, statsBefore: null, statsAfter: null, seconds: 0 };
  const { x, y } = flip.centre;
  out.statsBefore = await viewer.stats().catch(() => null);
  const began = performance.now();
  for (let i = -3; i < samples; i++) {
    const want = flip.white ? BLACK : WHITE;
    const pressIndex = flip.presses.length;
    const t0 = performance.now();
    const sample = await viewer.flip(x, y, want, keyDown, keyUp, 2000);
    if (i >= 0) {
      if (sample) {
        out.samples.push(sample);
        const pressed = flip.presses[pressIndex];
        out.pressedAt.push(pressed === undefined ? NaN : performance.timeOrigin + pressed);
      } else {
        out.missed++;
      }
    }
    // A random offset keeps the presses from locking onto one phase of the capture.
    await sleep(Math.max(0, t0 + 250 + Math.random() * (1000 / FPS) - performance.now()));
  }
  out.seconds = (performance.now() - began) / 1000;
  out.statsAfter = await viewer.stats().catch(() => null);
  return out;
}

function reportBrowserFlips(rep: Report, f: BrowserFlips, size: string): void {
  const total = f.samples.map((s) => s.shownAt - s.sentAt);
  const gate = size === '1280x720';
  const missed = f.missed ? `, ${f.missed} missed` : '';
  rep.row(`Chromium input-to-photon p50 (${total.length} samples${missed})`, ms(median(total)), gate ? '<= 30 ms' : '', gate ? median(total) <= 30 : undefined);
  rep.row('Chromium input-to-photon p95', ms(quantile(total, 0.95)), gate ? '<= 50 ms' : '', gate ? quantile(total, 0.95) <= 50 : undefined);
  const legs = f.samples.map((s, i) => ({
    input: f.pressedAt[i]! - s.sentAt,
    server: s.receivedAt - f.pressedAt[i]!,
    decode: s.processing,
    present: s.presentedAt - s.receivedAt - s.processing,
    render: s.shownAt - s.presentedAt,
  }));
  const leg = (k: keyof (typeof legs)[number]) => ms(median(legs.map((l) => l[k])));
  rep.row('  input: key sent -> KeyPress at X client (p50)', leg('input'));
  rep.row('  KeyPress -> last packet of frame at browser (p50)', leg('server'));
  rep.row('    of which capture wait (expected mean: half a frame period)', ms(1000 / FPS / 2));
  rep.row('  jitter buffer + decode (processingDuration, p50)', leg('decode'));
  rep.row('  rest until presented (p50)', leg('present'));
  rep.row('  presented -> rVFC callback (p50)', leg('render'));
  const a = f.statsBefore;
  const b = f.statsAfter;
  if (a && b) {
    const emitted = b.jitterBufferEmittedCount - a.jitterBufferEmittedCount;
    const decoded = b.framesDecoded - a.framesDecoded;
    if (emitted > 0) rep.row('  browser jitter buffer (mean per frame, getStats)', ms(((b.jitterBufferDelay - a.jitterBufferDelay) / emitted) * 1000));
    if (decoded > 0) rep.row('  browser decode (mean per frame, getStats)', ms(((b.totalDecodeTime - a.totalDecodeTime) / decoded) * 1000));
    rep.row('Chromium frames/s decoded during the flips', (decoded / f.seconds).toFixed(1), `${FPS}`, decoded / f.seconds >= FPS * 0.95);
    rep.row('Chromium bitrate / packets lost', `${Math.round(((b.bytesReceived - a.bytesReceived) * 8) / 1000 / f.seconds)} kbit/s / ${b.packetsLost - a.packetsLost}`);
    if (b.decoder) rep.footer.push(`Chromium decoder: ${b.decoder}`);
  }
}

export async function benchMotion(opts: MotionOptions, rep: Report, browser: () => Promise<Browser>): Promise<void> {
  const { width, height, full } = opts;
  const size = `${width}x${height}`;
  const windowMs = full ? 10_000 : 4000;
  const fanout = full ? [1, 10, 25] : [1, 10];
  const cores = cpus().length;
  const even = (n: number) => Math.round(n / 2) * 2;

  const server = await startServer(['--desktop.screen', `${size}@${FPS}`, '--capture.video.codec', 'vp8', ...opts.extraFlags]);
  let motion: MotionWindow | null = null;
  let flip: FlipWindow | null = null;
  let chromium: ChromiumViewer | null = null;
  const viewers: CountingViewer[] = [];
  try {
    motion = await MotionWindow.open(server.display, even(width * 0.94), even(height * 0.89));
    flip = await FlipWindow.open(server.display);
    rep.section(`VP8 ${size} @ ${FPS} fps, moving test pattern ${even(width * 0.94)}x${even(height * 0.89)} (stream fps from the screen mode)`);

    if (full || width <= 1280) {
      chromium = await ChromiumViewer.open(await browser(), server.url, 'chromium', 'neko');
      await chromium.waitForVideo(15_000);
      await chromium.becomeHost();
      const flips = await browserFlips(chromium, flip, full ? 40 : 20);
      reportBrowserFlips(rep, flips, size);
      await chromium.close();
      chromium = null;
    }

    const addViewers = async (n: number) => {
      const fresh: CountingViewer[] = [];
      for (let i = viewers.length; i < n; i++) fresh.push(await withTimeout(CountingViewer.connect(server.url, `rtp${i}`, 'neko'), 10_000, `viewer rtp${i} login`));
      viewers.push(...fresh);
      await Promise.all(fresh.map((v) => v.waitForVideo(15_000)));
    };

    const results = new Map<number, FanWindow>();
    for (const n of fanout) {
      await addViewers(n);
      await sleep(1000);
      results.set(n, await cpuWindow(server, motion, viewers, windowMs));
    }
    const one = results.get(1)!;
    const busy = Math.max(...[...results.values()].map((w) => w.others));
    rep.row(`stream frames/s, 1 viewer (RTP marker bits, ${windowMs / 1000} s)`, one.framesPerS[0]!.toFixed(1), `${FPS}`, one.framesPerS[0]! >= FPS * 0.95);
    rep.row('stream bitrate per viewer', `${Math.round(one.kbps[0]!)} kbit/s`);
    rep.row('video encoder, moving screen, % of one core', pct(one.usage.video!));
    rep.row('  motion painter / X server (not ours)', `${pct(one.usage.motion!)} / ${pct(one.usage.xserver!)}`);
    for (const n of fanout.filter((k) => k > 1)) {
      const w = results.get(n)!;
      const extra = n - 1;
      const perViewer = (w.usage.server! - one.usage.server!) / extra;
      const sum = (v: number[]) => v.reduce((s, x) => s + x, 0);
      const deltaPackets = sum(w.packetsPerS) - sum(one.packetsPerS);
      const usPerPacket = (((w.usage.server! - one.usage.server!) / 100) * 1e6) / deltaPackets;
      const minFps = Math.min(...w.framesPerS);
      const lost = sum(w.lost);
      rep.row(`fan-out N=${n} (werift, no decode): server process 1 -> ${n}`, `${pct(one.usage.server!)} -> ${pct(w.usage.server!)}`);
      rep.row(`  server CPU per extra viewer`, pct(perViewer), '<= 0.4 %', perViewer <= 0.4);
      rep.row(`  server µs per forwarded packet per viewer`, Number.isFinite(usPerPacket) ? `${usPerPacket.toFixed(1)} µs` : 'n/a');
      rep.row(`  frames/s per viewer, min`, minFps.toFixed(1), `${FPS}`, minFps >= FPS * 0.95);
      rep.row(`  RTP packets lost (gaps not repaired), all viewers`, String(lost), '0', lost === 0);
      rep.row(`  video encoder / bench process (${n} werift peers)`, `${pct(w.usage.video!)} / ${pct(w.usage.bench!)}`);
    }

    // Static screen: the same stack with the motion gone and one viewer left.
    for (const v of viewers.splice(1)) await v.close(server.url);
    await motion.close();
    motion = null;
    await sleep(1500);
    const still = await cpuWindow(server, null, viewers, windowMs);
    const stillGate = size === '1280x720';
    rep.row('video encoder, static screen, % of one core', pct(still.usage.video!), stillGate ? '<= 5 %' : '', stillGate ? still.usage.video! <= 5 : undefined);
    rep.row('  server process, static screen, 1 viewer', pct(still.usage.server!));
    rep.row('  stream frames/s / bitrate, static screen', `${still.framesPerS[0]!.toFixed(1)} / ${Math.round(still.kbps[0]!)} kbit/s`);

    // Bare: the very pipeline the server ran, on the same moving screen, nothing else.
    const pipeline = server.logs.find((l) => l.msg === 'starting encoder' && l.kind === 'video')?.pipeline;
    for (const v of viewers.splice(0)) await v.close(server.url);
    const deadline = Date.now() + 15_000;
    while (videoEncoders(server).length > 0 && Date.now() < deadline) await sleep(100);
    if (typeof pipeline === 'string' && videoEncoders(server).length === 0) {
      motion = await MotionWindow.open(server.display, even(width * 0.94), even(height * 0.89));
      const bare = await bareEncoder(server.display, pipeline, windowMs);
      const stack = one.usage.server! + one.usage.video!;
      const ratio = stack / bare.cpu;
      rep.row('bare encoder (same pipeline, gst-launch alone), moving', `${pct(bare.cpu)} at ${bare.fps.toFixed(1)} fps`);
      rep.row('stack (server + encoder, 1 viewer) / bare encoder', Number.isFinite(ratio) ? ratio.toFixed(2) : 'n/a', '<= 1.15', ratio <= 1.15);
      rep.footer.push(`motion ${size} pipeline: gst-launch-1.0 ${pipeline}`);
    } else {
      rep.row('stack / bare encoder', 'n/a (encoder did not stop)');
    }
    rep.row('unrelated processes on this machine (worst window)', `${pct(busy)} of ${cores * 100} %`);
    if (busy > 25) {
      rep.footer.push(`WARNING (motion ${size}): unrelated processes kept up to ${pct(busy)} of ${cores * 100} % busy; CPU and frame-rate figures include that contention.`);
    }
  } finally {
    await chromium?.close();
    await Promise.allSettled(viewers.map((v) => v.close(server.url)));
    await flip?.close().catch(() => undefined);
    await motion?.close();
    await server.stop();
  }
}

