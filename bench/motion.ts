/**
 * The motion scenario of `npm run bench`: a test pattern scrolling over most of the screen
 * (bench/motion-window.ts), the server at the screen's own mode (no fps override), and
 * - a viewer in real Chromium timing key → flip of a square on top of the motion;
 * - fan-out to N non-decoding werift viewers: server CPU per extra viewer, µs of server CPU
 *   per forwarded packet per viewer, loss and frame rate at every viewer;
 * - the encoder on a moving and on a static screen;
 * - the shared screen capture: idle on the static screen, how fast it shows a change
 *   and how fast a viewer joining it then gets video; switching a viewer between qualities;
 *   one capture feeding two encoders against two pipelines capturing each for itself;
 * - the server's video processes run bare (gst-launch-1.0 alone) against the whole stack, in
 *   alternating windows.
 *
 * "Video" CPU is the screen capture plus the encoders (gst-launch processes with ximagesrc,
 * nekodamagesrc or shmsrc). The server runs two qualities, `hd` (the default, screen size) and `sd`.
 */
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Browser } from 'playwright-core';
import { getCodec } from '../server/src/capture/codecs.js';
import { buildVideoPipeline, i420FrameBytes, screenCapturePipeline, type VideoPipelineConfig } from '../server/src/capture/pipelines.js';
import { encodeClientMessage } from '../server/src/webrtc/datachannel.js';
import { lockPid } from '../tests/helpers/x11.js';
import { isVideoProcess, serverPipelines, startBare } from './bare-stack.js';
import { ChromiumViewer, type BrowserVideoStats, type FlipSample } from './chromium-viewer.js';
import { CountingViewer } from './counting-viewer.js';
import { FlipWindow, withTimeout } from './flip-window.js';
import { MotionWindow } from './motion-window.js';
import { alive, cmdline, CpuWindow, readProc } from './proc.js';
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
/** Flip spacing on a still screen, a slow typist's: beyond the default 100 ms idle_after. */
const STILL_SPACING_MS = 300;
/** Two qualities of one screen: `hd` is every viewer's default. */
const QUALITIES: Record<string, VideoPipelineConfig> = { hd: {}, sd: { width: 'width / 2', height: 'height / 2', bitrate: 800 } };
const VP8 = getCodec('vp8', 'video');
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
  return server.tree().filter((pid) => readProc(pid)?.comm === 'gst-launch-1.0' && isVideoProcess(cmdline(pid)));
}

/** The server's shared screen capture process (its grabber into shmsink), if one runs. */
function captureProcess(server: ServerProcess): number | undefined {
  return server.tree().find((pid) => readProc(pid)?.comm === 'gst-launch-1.0' && /(ximagesrc|nekodamagesrc) .*shmsink/.test(cmdline(pid)));
}

function stopped(pid: number | undefined): boolean {
  return pid !== undefined && readProc(pid)?.state === 'T';
}

async function until(cond: () => boolean, ms: number): Promise<boolean> {
  const deadline = performance.now() + ms;
  while (!cond()) {
    if (performance.now() > deadline) return false;
    await sleep(20);
  }
  return true;
}

/** performance.now() of the first packet `viewer` gets after `t0` (NaN after `ms`). */
function nextPacket(viewer: CountingViewer, t0: number, ms: number): Promise<number> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      viewer.onPacket = null;
      resolve(NaN);
    }, ms);
    viewer.onPacket = (at) => {
      if (at < t0) return;
      clearTimeout(timer);
      viewer.onPacket = null;
      resolve(at);
    };
  });
}

interface IdleFigures {
  /** Screen change on an idle capture → first packet at the viewer. */
  resume: number[];
  /** A viewer joining an idle capture: its answer → its first packet. */
  join: number;
  /** Samples where the capture never went idle. */
  neverIdle: number;
}

/**
 * Whether the capture went idle within `ms`: ximagesrc's process stopped (SIGSTOP), or, with
 * the damage grabber, which idles by itself, no packet for 300 ms.
 */
async function idleWithin(server: ServerProcess, viewer: CountingViewer, ms: number): Promise<boolean> {
  if (grabberOf(server) !== 'damage') return until(() => stopped(captureProcess(server)), ms);
  const deadline = performance.now() + ms;
  let seen = viewer.counts.packets;
  while (performance.now() < deadline) {
    await sleep(300);
    if (viewer.counts.packets === seen) return true;
    seen = viewer.counts.packets;
  }
  return false;
}

/** Times changes made while the capture is idle, then a viewer joining an idle capture. */
async function idleFigures(server: ServerProcess, flip: FlipWindow, viewer: CountingViewer, samples: number): Promise<IdleFigures> {
  const out: IdleFigures = { resume: [], join: NaN, neverIdle: 0 };
  for (let i = 0; i < samples; i++) {
    if (!(await idleWithin(server, viewer, 5000))) {
      out.neverIdle++;
      continue;
    }
    const t0 = flip.toggle();
    out.resume.push((await nextPacket(viewer, t0, 2000)) - t0);
  }
  if (await idleWithin(server, viewer, 5000)) {
    const joining = await withTimeout(CountingViewer.connect(server.url, 'joiner', 'neko'), 10_000, 'joining viewer login');
    try {
      await joining.waitForVideo(5000);
      out.join = joining.firstPacketAt - joining.answeredAt;
    } finally {
      await joining.close(server.url);
    }
  }
  return out;
}

/**
 * Switches `viewer` to each id in turn (signal/video) and returns, per switch, the longest
 * gap between frames (RTP marker bits) from just before the switch until 1.5 s after it.
 */
async function qualitySwitches(viewer: CountingViewer, ids: string[]): Promise<Array<{ id: string; gap: number }>> {
  const frames: number[] = [];
  viewer.onPacket = (at, marker) => {
    if (marker) frames.push(at);
  };
  const out: Array<{ id: string; gap: number }> = [];
  try {
    for (const id of ids) {
      await sleep(500);
      const earlier = new Set(viewer.socket.events.filter((e) => e.event === 'signal/video').map((e) => e.payload));
      const switched = viewer.socket.waitFor('signal/video', (p: { id?: string }) => !earlier.has(p) && p.id === id, 5000);
      const t0 = performance.now();
      viewer.socket.send('signal/video', { selector: { type: 'exact', id } });
      // Extra flags may have replaced the qualities: no such id, no switch, no figure.
      if (!(await switched.then(() => true).catch(() => false))) {
        out.push({ id, gap: NaN });
        continue;
      }
      await sleep(1500);
      const around = frames.filter((t) => t >= t0 - 200);
      let gap = 0;
      for (let i = 1; i < around.length; i++) gap = Math.max(gap, around[i]! - around[i - 1]!);
      out.push({ id, gap: around.length > 1 ? gap : NaN });
    }
  } finally {
    viewer.onPacket = null;
  }
  return out;
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

/**
 * gst-launch descriptions run bare, alone on the machine: % of one core for them and for the
 * X server (which copies the screen out for every capture), frames/s per encoder.
 */
async function bareRun(display: string, capture: string | undefined, encoders: string[], ms: number): Promise<{ cpu: number; xserver: number; fps: number[]; exited: number }> {
  const bare = await startBare(display, capture, encoders);
  const xPid = lockPid(display);
  try {
    await sleep(1000);
    const cpu = new CpuWindow({ bare: () => bare.pids, xserver: () => [xPid] });
    const f0 = [...bare.frames];
    const t0 = performance.now();
    await sleep(ms);
    const usage = cpu.finish();
    const seconds = (performance.now() - t0) / 1000;
    const exited = bare.pids.filter((pid) => !alive(pid)).length;
    return { cpu: usage.bare ?? NaN, xserver: usage.xserver ?? NaN, fps: bare.frames.map((n, i) => (n - f0[i]!) / seconds), exited };
  } finally {
    await bare.stop();
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

async function browserFlips(viewer: ChromiumViewer, flip: FlipWindow, samples: number, fps = FPS, spacingMs = 250): Promise<BrowserFlips> {
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
    await sleep(Math.max(0, t0 + spacingMs + Math.random() * (1000 / fps) - performance.now()));
  }
  out.seconds = (performance.now() - began) / 1000;
  out.statsAfter = await viewer.stats().catch(() => null);
  return out;
}

/** The grabber of the server's shared capture, from its log: `damage`, `ximagesrc` or ''. */
function grabberOf(server: ServerProcess): string {
  const start = [...server.logs].reverse().find((l) => l.msg === 'starting screen capture');
  const pipeline = typeof start?.pipeline === 'string' ? start.pipeline : '';
  return pipeline.startsWith('nekodamagesrc') ? 'damage' : pipeline.startsWith('ximagesrc') ? 'ximagesrc' : '';
}

function reportBrowserFlips(rep: Report, f: BrowserFlips, size: string, grabber: string, fps = FPS, still = false): void {
  const total = f.samples.map((s) => s.shownAt - s.sentAt);
  const gate = size === '1280x720';
  const missed = f.missed ? `, ${f.missed} missed` : '';
  rep.row(`Chromium input-to-photon p50 (${total.length} samples${missed})`, ms(median(total)), gate ? '<= 30 ms' : '', gate ? median(total) <= 30 : undefined);
  rep.row('Chromium input-to-photon p95', ms(quantile(total, 0.95)), gate ? '<= 50 ms' : '', gate ? quantile(total, 0.95) <= 50 : undefined);
  const presented = f.samples.map((s) => s.presentedAt - s.sentAt);
  rep.row('  to the frame\'s presentation instead of its rVFC callback, p50 / p95', `${ms(median(presented))} / ${ms(quantile(presented, 0.95))}`);
  const legs = f.samples.map((s, i) => ({
    input: f.pressedAt[i]! - s.sentAt,
    server: s.receivedAt - f.pressedAt[i]!,
    decode: s.processing,
    present: s.presentedAt - s.receivedAt - s.processing,
    render: s.shownAt - s.presentedAt,
  }));
  const leg = (k: keyof (typeof legs)[number]) => ms(median(legs.map((l) => l[k])));
  rep.row('  input: key sent -> KeyPress at X client (p50)', leg('input'));
  rep.row('  KeyPress -> last packet of frame at browser, p50 / p95', `${leg('server')} / ${ms(quantile(legs.map((l) => l.server), 0.95))}`);
  const period = 1000 / fps;
  if (grabber === 'damage') {
    rep.row('    of which capture wait (damage grabber: >= 1/4 period after the last grab; expected mean)', ms(still ? 0 : period / 32));
  } else if (still) {
    rep.row('    of which capture wait: none expected (the paused capture grabs at the damage)', '');
  } else {
    rep.row('    of which capture wait: ximagesrc grabs every frame period (expected mean: half of it)', ms(period / 2));
  }
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
    if (!still) rep.row('Chromium frames/s decoded during the flips', (decoded / f.seconds).toFixed(1), `${fps}`, decoded / f.seconds >= fps * 0.95);
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

  const server = await startServer([
    '--desktop.screen',
    `${size}@${FPS}`,
    '--capture.video.codec',
    'vp8',
    '--capture.video.pipelines',
    JSON.stringify(QUALITIES),
    ...opts.extraFlags,
  ]);
  let motion: MotionWindow | null = null;
  let flip: FlipWindow | null = null;
  const viewers: CountingViewer[] = [];
  try {
    motion = await MotionWindow.open(server.display, even(width * 0.94), even(height * 0.89));
    flip = await FlipWindow.open(server.display);
    rep.section(`VP8 ${size} @ ${FPS} fps, moving test pattern ${even(width * 0.94)}x${even(height * 0.89)} (stream fps from the screen mode)`);

    if (full || width <= 1280) await chromiumLatency(rep, browser, server, flip, size, full ? 40 : 20);

    const addViewers = async (n: number) => {
      const fresh: CountingViewer[] = [];
      for (let i = viewers.length; i < n; i++) fresh.push(await withTimeout(CountingViewer.connect(server.url, `rtp${i}`, 'neko'), 10_000, `viewer rtp${i} login`));
      viewers.push(...fresh);
      await Promise.all(fresh.map((v) => v.waitForVideo(15_000)));
    };

    // Windows start 2 s after the last viewer got video: joins finish their own work (DTLS,
    // SCTP, the data channel's first messages, first reports) and the new code paths warm up,
    // which a 4 s window would otherwise count as per-viewer cost.
    const results = new Map<number, FanWindow>();
    for (const n of fanout) {
      await addViewers(n);
      await sleep(2000);
      results.set(n, await cpuWindow(server, motion, viewers, windowMs));
    }
    const one = results.get(1)!;
    // The 1-viewer baseline again once the others left: fan-out is the difference of two
    // readings a few percent apart, and bracketing the larger ones cancels drift between them.
    for (const v of viewers.splice(1)) await v.close(server.url);
    await sleep(2000);
    const oneAgain = await cpuWindow(server, motion, viewers, windowMs);
    const baseServer = (one.usage.server! + oneAgain.usage.server!) / 2;
    const basePackets = (one.packetsPerS[0]! + oneAgain.packetsPerS[0]!) / 2;
    const busy = Math.max(...[...results.values(), oneAgain].map((w) => w.others));
    rep.row(`stream frames/s, 1 viewer (RTP marker bits, ${windowMs / 1000} s)`, one.framesPerS[0]!.toFixed(1), `${FPS}`, one.framesPerS[0]! >= FPS * 0.95);
    rep.row('stream bitrate per viewer', `${Math.round(one.kbps[0]!)} kbit/s`);
    rep.row('video capture + encoder, moving screen, % of one core', pct(one.usage.video!));
    rep.row('  motion painter / X server (not ours)', `${pct(one.usage.motion!)} / ${pct(one.usage.xserver!)}`);
    for (const n of fanout.filter((k) => k > 1)) {
      const w = results.get(n)!;
      const extra = n - 1;
      const perViewer = (w.usage.server! - baseServer) / extra;
      const sum = (v: number[]) => v.reduce((s, x) => s + x, 0);
      const deltaPackets = sum(w.packetsPerS) - basePackets;
      const usPerPacket = (((w.usage.server! - baseServer) / 100) * 1e6) / deltaPackets;
      const minFps = Math.min(...w.framesPerS);
      const lost = sum(w.lost);
      rep.row(`fan-out N=${n} (werift, no decode): server process 1 (before / after) -> ${n}`, `${pct(one.usage.server!)} / ${pct(oneAgain.usage.server!)} -> ${pct(w.usage.server!)}`);
      rep.row(`  server CPU per extra viewer`, Number.isFinite(perViewer) ? `${perViewer.toFixed(2)} %` : 'n/a', '<= 0.4 %', perViewer <= 0.4);
      rep.row(`  server µs per forwarded packet per viewer`, Number.isFinite(usPerPacket) ? `${usPerPacket.toFixed(1)} µs` : 'n/a');
      rep.row(`  frames/s per viewer, min`, minFps.toFixed(1), `${FPS}`, minFps >= FPS * 0.95);
      rep.row(`  RTP packets lost (gaps not repaired), all viewers`, String(lost), '0', lost === 0);
      rep.row(`  video capture + encoder / bench process (${n} werift peers)`, `${pct(w.usage.video!)} / ${pct(w.usage.bench!)}`);
    }

    // One viewer left, still on the moving screen: switching it between qualities.
    const switches = await qualitySwitches(viewers[0]!, ['sd', 'hd']);
    for (const { id, gap } of switches) {
      const how = id === 'sd' ? 'hd -> sd (its encoder starts)' : 'sd -> hd (its encoder runs)';
      rep.row(`quality switch ${how}: longest gap between frames`, ms(gap), '<= 300 ms', gap <= 300);
    }

    // Static screen: the same stack with the motion gone and one viewer left.
    await motion.close();
    motion = null;
    await sleep(1500);
    const still = await cpuWindow(server, null, viewers, windowMs);
    const stillGate = size === '1280x720';
    const grabber = grabberOf(server);
    rep.row(`video capture + encoder, static screen (${grabber === 'damage' ? 'damage grabber: nothing grabbed' : 'paused when idle'}), % of one core`, pct(still.usage.video!), stillGate ? '<= 5 %' : '', stillGate ? still.usage.video! <= 5 : undefined);
    rep.row('  server process, static screen, 1 viewer', pct(still.usage.server!));
    rep.row('  stream frames/s / bitrate, static screen', `${still.framesPerS[0]!.toFixed(1)} / ${Math.round(still.kbps[0]!)} kbit/s`);
    const idle = await idleFigures(server, flip, viewers[0]!, full ? 10 : 5);
    const never = idle.neverIdle ? `, capture never idle ${idle.neverIdle}×` : '';
    rep.row(`change on an idle screen -> first packet at viewer p50 (${idle.resume.length} samples${never})`, ms(median(idle.resume)));
    const resumed = idle.resume.filter(Number.isFinite);
    rep.row('  change on an idle screen, max', ms(resumed.length ? Math.max(...resumed) : NaN), '', resumed.length === idle.resume.length ? undefined : false);
    rep.row('viewer joining an idle capture: answer -> first video packet', ms(idle.join), '<= 300 ms', idle.join <= 300);
    const stalls = server.logs.filter((l) => typeof l.msg === 'string' && l.msg.startsWith('screen capture stalled')).length;
    rep.row('screen capture stalls noticed and restarted so far (server log)', String(stalls), '0', stalls === 0);
    const exits = server.logs.filter((l) => l.msg === 'process exited' && l.process === 'gst-video-screen');
    rep.row('screen capture process exits so far (server log)', String(exits.length), '0', exits.length === 0);
    const why = exits.at(-1)?.stderr;
    if (typeof why === 'string' && why.trim()) rep.footer.push(`last screen capture exit, ${size}: ${why.trim().split('\n').slice(-3).join(' | ').slice(0, 300)}`);

    // Bare: the very processes the server ran, on the same moving screen, nothing else. The
    // encoder's CPU drifts by ±10 % from one window to the next on the same content, so stack
    // and bare windows alternate and the ratio is of their sums: a single pair of windows
    // read anywhere from 0.9 to 1.3 on this machine.
    const pipelines = serverPipelines(server);
    for (const v of viewers.splice(0)) await v.close(server.url);
    const encodersStopped = async () => {
      const deadline = Date.now() + 15_000;
      while (videoEncoders(server).length > 0 && Date.now() < deadline) await sleep(100);
      return videoEncoders(server).length === 0;
    };
    if (pipelines && (await encodersStopped())) {
      motion = await MotionWindow.open(server.display, even(width * 0.94), even(height * 0.89));
      const rounds = full ? 3 : 2;
      // A 1-viewer window without frames measured nothing to compare.
      const stackRuns = one.framesPerS[0]! >= FPS / 2 ? [one.usage.server! + one.usage.video!] : [];
      const bareRuns: number[] = [];
      let bareFps = NaN;
      let exited = 0;
      for (let round = 0; round < rounds; round++) {
        if (round > 0) {
          const viewer = await withTimeout(CountingViewer.connect(server.url, `stack${round}`, 'neko'), 10_000, 'stack viewer login');
          viewers.push(viewer);
          await viewer.waitForVideo(15_000);
          await sleep(1000);
          const w = await cpuWindow(server, motion, [viewer], windowMs);
          if (w.framesPerS[0]! >= FPS / 2) stackRuns.push(w.usage.server! + w.usage.video!);
          for (const v of viewers.splice(0)) await v.close(server.url);
          if (!(await encodersStopped())) break;
        }
        const bare = await bareRun(server.display, pipelines.capture, [pipelines.encoder], windowMs);
        bareRuns.push(bare.cpu);
        bareFps = bare.fps[0]!;
        exited += bare.exited;
      }
      const mean = (v: number[]) => (v.length ? v.reduce((a, b) => a + b, 0) / v.length : NaN);
      const ratio = stackRuns.length === bareRuns.length ? mean(stackRuns) / mean(bareRuns) : NaN;
      const what = pipelines.capture ? 'capture + encoder' : 'encoder';
      const gone = exited ? ` (${exited} of its processes exited)` : '';
      const runs = (v: number[]) => v.map((x) => x.toFixed(1)).join(' / ');
      rep.row(`bare ${what} (same command lines, gst-launch alone), moving`, `${pct(mean(bareRuns))} at ${bareFps.toFixed(1)} fps${gone}`);
      rep.row(`stack (server + ${what}, 1 viewer) / bare, ${bareRuns.length} alternating windows each`, Number.isFinite(ratio) ? ratio.toFixed(2) : 'n/a', '<= 1.15', ratio <= 1.15);
      rep.row('  stack windows / bare windows, % of one core', `${runs(stackRuns)} | ${runs(bareRuns)}`);
      if (pipelines.capture) rep.footer.push(`motion ${size} capture: gst-launch-1.0 ${pipelines.capture}`);
      rep.footer.push(`motion ${size} encoder: gst-launch-1.0 ${pipelines.encoder}`);
    } else {
      rep.row('stack / bare', 'n/a (encoder did not stop)');
    }
    if (pipelines && motion && full) {
      // Two qualities at once: one capture feeding both encoders, or each capturing itself.
      const screen = { width, height, rate: FPS };
      const socket = '/placeholder';
      const build = (id: string, shared: boolean) =>
        buildVideoPipeline({ display: server.display, codec: VP8, config: QUALITIES[id], screen, port: 1, sharedSocket: shared ? socket : undefined });
      const capture = screenCapturePipeline({ display: server.display, screen, socket, shmSize: i420FrameBytes(width, height) * 8 });
      const shared = await bareRun(server.display, capture, [build('hd', true), build('sd', true)], windowMs);
      const separate = await bareRun(server.display, undefined, [build('hd', false), build('sd', false)], windowMs);
      const fps = (f: number[]) => f.map((n) => n.toFixed(0)).join('/');
      rep.row('hd + sd at once, moving: one capture + two encoders (+ X server)', `${pct(shared.cpu)} (+ ${pct(shared.xserver)}) at ${fps(shared.fps)} fps`);
      rep.row('  two pipelines capturing for themselves (+ X server)', `${pct(separate.cpu)} (+ ${pct(separate.xserver)}) at ${fps(separate.fps)} fps`);
      rep.row('  shared / separate, X server included', ((shared.cpu + shared.xserver) / (separate.cpu + separate.xserver)).toFixed(2));
    }
    rep.row('unrelated processes on this machine (worst window)', `${pct(busy)} of ${cores * 100} %`);
    if (busy > 25) {
      rep.footer.push(`WARNING (motion ${size}): unrelated processes kept up to ${pct(busy)} of ${cores * 100} % busy; CPU and frame-rate figures include that contention.`);
    }
  } finally {
    await Promise.allSettled(viewers.map((v) => v.close(server.url)));
    await flip?.close().catch(() => undefined);
    await motion?.close();
    await server.stop();
  }
}


/** A Chromium viewer takes control, times `samples` flips and reports them; closed after. */
async function chromiumLatency(
  rep: Report,
  browser: () => Promise<Browser>,
  server: ServerProcess,
  flip: FlipWindow,
  size: string,
  samples: number,
  fps = FPS,
  still = false,
): Promise<void> {
  const viewer = await ChromiumViewer.open(await browser(), server.url, 'chromium', 'neko');
  try {
    await viewer.waitForVideo(15_000);
    await viewer.becomeHost();
    const flips = await browserFlips(viewer, flip, samples, fps, still ? STILL_SPACING_MS : 250);
    reportBrowserFlips(rep, flips, size, grabberOf(server), fps, still);
  } finally {
    await viewer.close().catch(() => undefined);
  }
}

export interface LatencyProfile {
  width: number;
  height: number;
  fps: number;
  codec: 'vp8' | 'h264';
  samples: number;
  extraFlags: string[];
  /**
   * No moving pattern, and flips further apart than `capture.video.idle_after`: each one
   * finds the capture paused and is captured as soon as its damage arrives.
   */
  still?: boolean;
}


/**
 * Chromium input-to-photon alone, for a screen mode and codec other than the main scenario's:
 * the 60 fps profile (half the capture wait for twice the encoding) and H264.
 */
export async function benchLatencyProfile(p: LatencyProfile, rep: Report, browser: () => Promise<Browser>): Promise<void> {
  const size = `${p.width}x${p.height}`;
  const even = (n: number) => Math.round(n / 2) * 2;
  const server = await startServer(['--desktop.screen', `${size}@${p.fps}`, '--capture.video.codec', p.codec, ...p.extraFlags]);
  let motion: MotionWindow | null = null;
  let flip: FlipWindow | null = null;
  try {
    if (!p.still) motion = await MotionWindow.open(server.display, even(p.width * 0.94), even(p.height * 0.89), p.fps);
    flip = await FlipWindow.open(server.display);
    rep.section(
      p.still
        ? `${p.codec.toUpperCase()} ${size} @ ${p.fps} fps, still screen, one change every ${STILL_SPACING_MS / 1000} s (the capture resumes on damage): Chromium latency`
        : `${p.codec.toUpperCase()} ${size} @ ${p.fps} fps, moving test pattern: Chromium latency`,
    );
    await chromiumLatency(rep, browser, server, flip, size, p.samples, p.fps, p.still);
    if (p.still) return;
    const encoder = new CpuWindow({ video: () => videoEncoders(server) });
    await sleep(3000);
    rep.row('video capture + encoder, moving screen, % of one core', pct(encoder.finish().video ?? NaN));
  } finally {
    await flip?.close().catch(() => undefined);
    await motion?.close().catch(() => undefined);
    await server.stop();
  }
}
