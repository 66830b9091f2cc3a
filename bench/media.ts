/**
 * `npm run bench`: latency and CPU of the media loop at 1280x720, 30 fps, VP8, against the
 * real server running as a child process, watched by headless @roamhq/wrtc viewers.
 *
 * Quick mode (the default, about a minute and a half): the flip rows for VP8, the motion
 * scenario (bench/motion.ts) at 1280x720 with a Chromium viewer and fan-out to 1 and 10
 * non-decoding viewers, and Chromium latency in the 60 fps profile. `--full` adds the CPU
 * and 5-viewer rows of the flip scenario, the bare-encoder probe, H264 where a headless viewer
 * decodes it, Chromium latency with H264 at 30 and 60 fps and on a still screen, the SRTP send
 * path against its floor (bench/srtp-cost.ts), and the motion scenario at 1920x1080 with
 * fan-out to 25.
 *
 * Other arguments are extra server flags, applied after the bench's own, e.g. to try another
 * pipeline: `npm run bench -- --capture.video.pipelines '{"main":{"fps":"60",...}}'`.
 *
 * Prints one table (metric | value | target | ok?) and exits 0 whatever the numbers are:
 * targets are reported, not enforced. A bench that cannot measure (server does not start,
 * no video) exits 1.
 */
import { writeSync } from 'node:fs';
import { cpus, getPriority, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import wrtc from '@roamhq/wrtc';
import type { Browser } from 'playwright-core';
import { decodeServerMessage, encodeClientMessage } from '../server/src/webrtc/datachannel.js';
import { near, pixel, Viewer, type Frame } from '../tests/helpers/viewer.js';
import { lockPid } from '../tests/helpers/x11.js';
import { launchChromium } from '../tests/helpers/browser.js';
import { isVideoProcess, serverPipelines } from './bare-stack.js';
import { probeEncoder } from './encoder-probe.js';
import { FlipWindow, withTimeout } from './flip-window.js';
import { benchLatencyProfile, benchMotion } from './motion.js';
import { srtpCost } from './srtp-cost.js';
import { alive, cmdline, CpuWindow, readProc } from './proc.js';
import { startServer, stopAllServers, type ServerProcess } from './server-process.js';

const FPS = 30;
/** Each waits out the encoders' 5 s idle stop: the longest part of the quick mode. */
const COLD_RUNS = 3;
const COLD_RUNS_QUICK = 2;
const WARM_RUNS = 5;
const FLIP_SAMPLES = 40;
const FLIP_SPACING_MS = 250;
const ENCODER_SAMPLES = 30;
const WINDOW_MS = 10_000;
const FANOUT_VIEWERS = 5;
const KEYSYM = 0x61; // 'a': mapped on every keyboard layout, harmless
const BLACK = { r: 0, g: 0, b: 0 };
const WHITE = { r: 255, g: 255, b: 255 };

// ---------------------------------------------------------------------------------------
// Resources, torn down on every exit path

const servers = new Set<ServerProcess>();
const viewers = new Set<Viewer>();
const windows = new Set<FlipWindow>();
let tearingDown: Promise<void> | null = null;
let browser: Promise<Browser> | null = null;

/** One Chromium for every browser viewer of the run, started on first use. */
function chromium(): Promise<Browser> {
  return (browser ??= launchChromium());
}

function teardown(): Promise<void> {
  return (tearingDown ??= (async () => {
    await Promise.allSettled([...viewers].map(closeViewer));
    if (browser) await withTimeout(browser.then((b) => b.close()), 5000, 'Chromium close').catch(() => undefined);
    await Promise.allSettled([...windows].map((w) => withTimeout(w.close(), 2000, 'X client close')));
    windows.clear();
    await stopAllServers();
  })());
}

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(signal, () => {
    process.stderr.write(`\nbench: ${signal}; cleaning up\n`);
    process.once(signal, () => process.exit(130));
    void withTimeout(teardown(), 15_000, 'teardown').finally(() => process.exit(130));
  });
}

async function launch(flags: string[]): Promise<ServerProcess> {
  const server = await startServer(flags);
  servers.add(server);
  return server;
}

async function stopServer(server: ServerProcess): Promise<string[]> {
  await server.stop();
  return [...server.seen].filter(alive).map((pid) => `${pid} ${cmdline(pid) || readProc(pid)?.comm}`);
}

async function connect(server: ServerProcess, user: string): Promise<Viewer> {
  const viewer = await withTimeout(Viewer.connect(server.url, user, 'neko'), 10_000, `viewer ${user} login`);
  viewers.add(viewer);
  return viewer;
}

/**
 * Logs the viewer out before closing it. The server keeps the peer of a viewer that just
 * goes away until ICE gives up (~30 s with werift), and that peer would still be fed video
 * through later measurements and keep the encoder from going idle.
 */
async function closeViewer(viewer: Viewer): Promise<void> {
  viewers.delete(viewer);
  const token = new URL(viewer.socket.ws.url).searchParams.get('token');
  const base = viewer.socket.ws.url.replace(/^ws/, 'http').replace(/\/api\/ws.*$/, '');
  if (token) {
    await fetch(`${base}/api/logout`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(2000) })
      .then((res) => res.body?.cancel())
      .catch(() => undefined);
  }
  try {
    viewer.close();
  } catch {
    // half-open viewer; nothing left to release
  }
}

// ---------------------------------------------------------------------------------------
// Small statistics

function quantile(values: number[], q: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}
const median = (v: number[]) => quantile(v, 0.5);
const max = (v: number[]) => (v.length ? Math.max(...v) : NaN);
const mean = (v: number[]) => (v.length ? v.reduce((a, b) => a + b, 0) / v.length : NaN);
const ms = (v: number) => (Number.isFinite(v) ? `${Math.round(v)} ms` : 'n/a');
const pct = (v: number | undefined) => (v !== undefined && Number.isFinite(v) ? `${v.toFixed(1)} %` : 'n/a');

// ---------------------------------------------------------------------------------------
// Report

interface Row {
  metric: string;
  value: string;
  target: string;
  ok: string;
}
const rows: Row[] = [];
const footer: string[] = [];

function row(metric: string, value: string, target = '', pass?: boolean): void {
  rows.push({ metric, value, target, ok: pass === undefined ? '' : pass ? 'yes' : 'NO' });
}
function section(title: string): void {
  rows.push({ metric: title, value: '', target: '', ok: '' });
}

function printTable(): void {
  const head: Row = { metric: 'metric', value: 'value', target: 'target', ok: 'ok?' };
  const all = [head, ...rows];
  const w = (k: keyof Row) => Math.max(...all.map((r) => r[k].length));
  const widths = { metric: w('metric'), value: w('value'), target: w('target'), ok: w('ok') };
  const line = (r: Row) =>
    `${r.metric.padEnd(widths.metric)} | ${r.value.padStart(widths.value)} | ${r.target.padEnd(widths.target)} | ${r.ok}`.trimEnd();
  const rule = `${'-'.repeat(widths.metric)}-+-${'-'.repeat(widths.value)}-+-${'-'.repeat(widths.target)}-+-${'-'.repeat(widths.ok)}`;
  const out = [line(head), rule];
  for (const r of rows) out.push(r.value || r.target ? line(r) : `${r.metric}`);
  out.push('', ...footer);
  // Synchronous: the exit that follows skips Node's flushing of a piped stdout.
  writeSync(1, `\n${out.join('\n')}\n`);
}

// ---------------------------------------------------------------------------------------
// Processes of the server under test

function serverGroups(server: ServerProcess): Record<string, () => number[]> {
  const xPid = lockPid(server.display);
  const gst = (element: string) => () =>
    server.tree().filter((pid) => readProc(pid)?.comm === 'gst-launch-1.0' && cmdline(pid).includes(element));
  return {
    server: () => [server.pid],
    video: () => server.tree().filter((pid) => readProc(pid)?.comm === 'gst-launch-1.0' && isVideoProcess(cmdline(pid))),
    audio: gst('pulsesrc'),
    xserver: () => [xPid],
    other: () =>
      server.tree().filter((pid) => pid !== xPid && readProc(pid)?.comm !== 'gst-launch-1.0'),
    bench: () => [process.pid],
  };
}

function encoders(server: ServerProcess): number[] {
  return server.tree().filter((pid) => readProc(pid)?.comm === 'gst-launch-1.0');
}

async function waitEncodersIdle(server: ServerProcess, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (encoders(server).length > 0) {
    if (Date.now() > deadline) throw new Error('encoders still running long after the last viewer left');
    await sleep(100);
  }
}

// ---------------------------------------------------------------------------------------
// Measurements

interface FirstFrame {
  /** signal/answer sent → first decoded frame. */
  total: number;
  /** signal/answer sent → peer connection 'connected' (NaN when not reported). */
  connected: number;
}

async function firstFrame(server: ServerProcess, user: string): Promise<FirstFrame> {
  const viewer = await connect(server, user);
  let connectedAt = NaN;
  viewer.pc.addEventListener('connectionstatechange', () => {
    if (viewer.pc.connectionState === 'connected' && Number.isNaN(connectedAt)) connectedAt = performance.now();
  });
  try {
    const frame = await viewer.waitForFrame(() => true, 10_000);
    return { total: frame.receivedAt - viewer.answeredAt, connected: connectedAt - viewer.answeredAt };
  } finally {
    await closeViewer(viewer);
  }
}

function reportFirstFrames(label: string, runs: FirstFrame[]): void {
  const totals = runs.map((r) => r.total);
  row(`first frame ${label}: median (${runs.length} runs)`, ms(median(totals)), '<= 500 ms', median(totals) <= 500);
  row(`first frame ${label}: max`, ms(max(totals)), '<= 500 ms', max(totals) <= 500);
  const connected = runs.map((r) => r.connected).filter(Number.isFinite);
  if (connected.length) row(`  of which answer -> ICE/DTLS connected (median)`, ms(median(connected)));
}

/** Takes control for `viewer` and waits until its data channel can carry input. */
async function becomeHost(viewer: Viewer): Promise<void> {
  await withTimeout(viewer.waitForDataChannel(), 10_000, 'data channel open');
  viewer.socket.send('control/request');
  await viewer.socket.waitFor('control/host', (p: { host_id?: string }) => p.host_id === viewer.sessionId, 5000);
}

function pressKey(viewer: Viewer): void {
  viewer.send(encodeClientMessage({ type: 'keyDown', keysym: KEYSYM }));
  viewer.send(encodeClientMessage({ type: 'keyUp', keysym: KEYSYM }));
}

async function pingRtt(viewer: Viewer, count = 20): Promise<number[]> {
  const channel = viewer.channel;
  if (!channel) return [];
  const sent = new Map<number, number>();
  const rtts: number[] = [];
  const onMessage = (ev: MessageEvent) => {
    const msg = decodeServerMessage(new Uint8Array(ev.data as ArrayBuffer));
    if (msg.type !== 'pong') return;
    const t = sent.get(msg.clientTs2);
    if (t === undefined) return;
    rtts.push(performance.now() - t);
    sent.delete(msg.clientTs2);
  };
  channel.addEventListener('message', onMessage);
  try {
    for (let i = 1; i <= count; i++) {
      sent.set(i, performance.now());
      viewer.send(encodeClientMessage({ type: 'ping', clientTs1: 0, clientTs2: i }));
      await sleep(50);
    }
    const deadline = Date.now() + 1000;
    while (sent.size > 0 && Date.now() < deadline) await sleep(20);
  } finally {
    channel.removeEventListener('message', onMessage);
  }
  return rtts;
}

interface FlipResult {
  latency: number[];
  /** t0 → KeyPress reached the bench's X client. */
  input: number[];
  /** KeyPress → first decoded frame with the new colour. */
  picture: number[];
  missed: number;
}

async function inputToPhoton(host: Viewer, flip: FlipWindow, samples: number): Promise<FlipResult> {
  const result: FlipResult = { latency: [], input: [], picture: [], missed: 0 };
  const { x, y } = flip.centre;
  for (let i = -3; i < samples; i++) {
    const want = flip.white ? BLACK : WHITE;
    const pressIndex = flip.presses.length;
    const t0 = performance.now();
    pressKey(host);
    let frame: Frame | null = null;
    try {
      frame = await host.waitForFrame((f) => near(pixel(f, x, y), want), 2000);
    } catch {
      if (i >= 0) result.missed++;
    }
    if (frame && i >= 0) {
      result.latency.push(frame.receivedAt - t0);
      const pressedAt = flip.presses[pressIndex];
      if (pressedAt !== undefined) {
        result.input.push(pressedAt - t0);
        result.picture.push(frame.receivedAt - pressedAt);
      }
    }
    // A random offset keeps the presses from locking onto one phase of the 30 fps capture.
    const next = t0 + FLIP_SPACING_MS + Math.random() * (1000 / FPS);
    await sleep(Math.max(0, next - performance.now()));
  }
  return result;
}

/** Presses the flip key every `periodMs` until stopped. */
function flipLoop(host: Viewer, periodMs: number): () => void {
  const timer = setInterval(() => pressKey(host), periodMs);
  return () => clearInterval(timer);
}

interface InboundVideo {
  bytes: number;
  framesReceived: number;
  framesDecoded: number;
  jitterBufferDelay: number;
  jitterBufferEmitted: number;
  totalDecodeTime: number;
}

async function inboundVideo(viewer: Viewer): Promise<InboundVideo | null> {
  const report = (await withTimeout(viewer.pc.getStats(), 2000, 'getStats')) as Map<string, Record<string, unknown>>;
  for (const s of report.values()) {
    if (s.type === 'inbound-rtp' && (s.kind === 'video' || s.mediaType === 'video')) {
      const n = (k: string) => (typeof s[k] === 'number' ? (s[k] as number) : NaN);
      return {
        bytes: n('bytesReceived'),
        framesReceived: n('framesReceived'),
        framesDecoded: n('framesDecoded'),
        jitterBufferDelay: n('jitterBufferDelay'),
        jitterBufferEmitted: n('jitterBufferEmittedCount'),
        totalDecodeTime: n('totalDecodeTime'),
      };
    }
  }
  return null;
}

/** wrtc's own codec list decides whether an H264 variant can run at all. */
async function wrtcDecodes(codec: string): Promise<boolean> {
  const pc = new wrtc.RTCPeerConnection({ iceServers: [] });
  try {
    pc.addTransceiver('video', { direction: 'recvonly' });
    const offer = await pc.createOffer();
    return new RegExp(`a=rtpmap:\\d+ ${codec}/`, 'i').test(offer.sdp ?? '');
  } finally {
    pc.close();
  }
}

function serverWarnings(server: ServerProcess): string[] {
  return server.logs
    .filter((l) => typeof l.level === 'number' && l.level >= 40)
    .map((l) => {
      const err = l.err as { message?: string } | undefined;
      return `${String(l.module ?? '')}: ${String(l.msg)}${err?.message ? ` (${err.message})` : ''}`;
    });
}

function pipelineOf(server: ServerProcess): string | undefined {
  const rec = server.logs.find((l) => l.msg === 'starting encoder' && l.kind === 'video');
  return typeof rec?.pipeline === 'string' ? rec.pipeline : undefined;
}

// ---------------------------------------------------------------------------------------

const FULL = process.argv.includes('--full');
/** Extra server flags from the command line (`npm run bench -- --flag value`), applied last. */
const EXTRA_FLAGS = process.argv.slice(2).filter((a) => a !== '--full');

/** The stream's frame rate is left to the server: it follows the screen mode (30 Hz here). */
/**
 * The flip scenario measures the stream at its clock rate (frames/s, CPU per viewer): flips
 * 250 ms apart would otherwise find the capture paused between them (the motion and still
 * profiles measure pausing).
 */
function serverFlags(codec: string): string[] {
  return ['--capture.video.codec', codec, '--capture.video.idle_after', '0', ...EXTRA_FLAGS];
}

/** Items 2 and 3 for one codec; the VP8 run also does CPU and fan-out (items 4 and 5). */
async function benchCodec(codec: string, full: boolean): Promise<void> {
  const tag = codec.toUpperCase();
  const server = await launch(serverFlags(codec));
  const flip = await FlipWindow.open(server.display);
  windows.add(flip);

  // Cold: nothing watching, no encoder running.
  const cold: FirstFrame[] = [];
  for (let i = 0; i < (full ? COLD_RUNS : COLD_RUNS_QUICK); i++) {
    await waitEncodersIdle(server);
    cold.push(await firstFrame(server, `cold${i}`));
  }

  const host = await connect(server, 'host');
  await host.waitForFrame(() => true, 10_000);
  const warm: FirstFrame[] = [];
  for (let i = 0; i < WARM_RUNS; i++) {
    await sleep(300 + Math.random() * 200);
    warm.push(await firstFrame(server, `warm${i}`));
  }

  await becomeHost(host);
  const rtts = await pingRtt(host);
  const statsBefore = await inboundVideo(host).catch(() => null);
  const flips = await inputToPhoton(host, flip, full ? FLIP_SAMPLES : FLIP_SAMPLES / 2);
  const statsAfter = await inboundVideo(host).catch(() => null);

  section(`${tag} 1280x720 @ ${FPS} fps, capture never paused`);
  if (!full) {
    // fps is measured in the CPU window of the full run; here a short count suffices. The
    // screen keeps changing meanwhile: an idle screen pauses the capture (no frames at all).
    const stop = flipLoop(host, FLIP_SPACING_MS);
    const f0 = host.frames;
    await sleep(2000);
    const fps = (host.frames - f0) / 2;
    stop();
    row('video frames/s at the viewer', fps.toFixed(1), `${FPS}`, fps >= FPS * 0.95);
  }
  reportFirstFrames('cold', cold);
  reportFirstFrames('warm', warm);
  const lost = flips.missed ? `, ${flips.missed} missed` : '';
  row(`input-to-photon p50 (${flips.latency.length} samples${lost})`, ms(median(flips.latency)), '<= 80 ms', median(flips.latency) <= 80);
  row('input-to-photon p95', ms(quantile(flips.latency, 0.95)));
  row('input-to-photon max', ms(max(flips.latency)));
  row('  input leg: send -> KeyPress at X client (p50)', ms(median(flips.input)));
  row('  picture leg: KeyPress -> decoded frame (p50)', ms(median(flips.picture)));
  if (statsBefore && statsAfter) {
    const emitted = statsAfter.jitterBufferEmitted - statsBefore.jitterBufferEmitted;
    const decoded = statsAfter.framesDecoded - statsBefore.framesDecoded;
    const jitter = emitted > 0 ? ((statsAfter.jitterBufferDelay - statsBefore.jitterBufferDelay) / emitted) * 1000 : NaN;
    if (Number.isFinite(jitter)) row('    viewer jitter buffer (mean per frame)', ms(jitter));
    const decode = decoded > 0 ? ((statsAfter.totalDecodeTime - statsBefore.totalDecodeTime) / decoded) * 1000 : NaN;
    if (Number.isFinite(decode)) row('    viewer decode (mean per frame)', ms(decode));
    if (Number.isFinite(jitter) && Number.isFinite(decode)) {
      // Means over every frame against the flips' median: only an estimate, and none when negative.
      const rest = median(flips.picture) - jitter - decode;
      row('    rest: capture wait, encode, send, receive (~)', rest >= 0 ? ms(rest) : 'n/a (the means exceed the median)');
    }
  }
  row('data-channel ping RTT p50', ms(median(rtts)));

  if (full) await cpuAndFanOut(server, host);

  const pipeline = pipelineOf(server);
  if (pipeline) footer.push(`${tag} pipeline: gst-launch-1.0 ${pipeline}`);
  for (const w of serverWarnings(server).slice(0, 5)) footer.push(`${tag} server warning: ${w}`);

  await Promise.all([...viewers].map(closeViewer));
  const pipelines = serverPipelines(server);
  if (full && codec === 'vp8' && pipelines) {
    // Alone on the machine's cores: the server's encoder has to be gone first.
    await waitEncodersIdle(server);
    const probe = await probeEncoder(server.display, pipelines, flip, ENCODER_SAMPLES, FLIP_SPACING_MS);
    const lost = probe.missed ? `, ${probe.missed} missed` : '';
    section(`${tag} encoder alone (same pipeline, no server, no viewer)`);
    row(`repaint -> complete encoded frame p50 (${probe.latency.length} samples${lost})`, ms(median(probe.latency)));
    row('repaint -> complete encoded frame p95', ms(quantile(probe.latency, 0.95)));
    row('encoder output frames/s', probe.fps.toFixed(1), `${FPS}`, probe.fps >= FPS * 0.95);
    row('longest gap between encoded frames', ms(probe.maxGap));
    row('frame size: unchanged screen / after a flip', `${probe.staticBytes} / ${probe.flipBytes} B`);
  }
  windows.delete(flip);
  await withTimeout(flip.close(), 2000, 'X client close').catch(() => undefined);
  servers.delete(server);
  const orphans = await stopServer(server);
  footer.push(
    orphans.length
      ? `${tag} ORPHANS after stop: ${orphans.join('; ')}`
      : `${tag} teardown: server and its ${server.seen.size} descendant processes gone`,
  );
}

async function cpuAndFanOut(server: ServerProcess, host: Viewer): Promise<void> {
  const groups = serverGroups(server);
  const cores = cpus().length;

  const measure = async (watchers: Viewer[]) => {
    const stop = flipLoop(host, FLIP_SPACING_MS);
    try {
      await sleep(1000); // let the loop and any new viewers settle
      const frames0 = watchers.map((v) => v.frames);
      const stats0 = await Promise.all(watchers.map((v) => inboundVideo(v).catch(() => null)));
      const cpu = new CpuWindow(groups);
      const t0 = performance.now();
      await sleep(WINDOW_MS);
      const usage = cpu.finish();
      const seconds = (performance.now() - t0) / 1000;
      const decoded = watchers.map((v, i) => (v.frames - frames0[i]!) / seconds);
      const stats1 = await Promise.all(watchers.map((v) => inboundVideo(v).catch(() => null)));
      const rate = (pick: (s: InboundVideo) => number) =>
        watchers
          .map((_, i) => {
            const a = stats0[i];
            const b = stats1[i];
            return a && b ? (pick(b) - pick(a)) / seconds : NaN;
          })
          .filter(Number.isFinite);
      const ours = Object.entries(usage)
        .filter(([k]) => k !== 'machine')
        .reduce((sum, [, v]) => sum + v, 0);
      return {
        usage,
        decoded,
        received: rate((s) => s.framesReceived),
        kbps: rate((s) => (s.bytes * 8) / 1000),
        /**
         * Busy CPU of processes that are neither the server's nor the bench's. Machine-wide and
         * per-process counters tick separately, so on a quiet machine the difference can dip
         * a little below zero: that is noise, shown as 0.
         */
        others: Math.max(0, (usage.machine ?? NaN) - ours),
      };
    } finally {
      stop();
    }
  };
  const contention = (others: number) => `${pct(others)} of ${cores * 100} %`;

  const warnIfBusy = (others: number) => {
    if (others > 25 && !footer.some((l) => l.startsWith('WARNING'))) {
      footer.unshift(
        `WARNING: unrelated processes kept ${pct(others)} of this machine's ${cores * 100} % busy during a CPU window; ` +
          'frame rates and latencies include that contention.',
      );
    }
  };

  const one = await measure([host]);
  warnIfBusy(one.others);
  const fps1 = one.decoded[0]!;
  row(`video frames/s decoded at the viewer (${WINDOW_MS / 1000} s)`, fps1.toFixed(1), `${FPS}`, fps1 >= FPS * 0.95);
  if (one.received.length) row('video frames/s received (RTP)', one.received[0]!.toFixed(1));
  if (one.kbps.length) row('video bitrate at the viewer', `${Math.round(one.kbps[0]!)} kbit/s`);
  section(`CPU, % of one core, 1 viewer, ${1000 / FLIP_SPACING_MS} flips/s, ${WINDOW_MS / 1000} s`);
  row('server process (node)', pct(one.usage.server), '<= 10 %', (one.usage.server ?? Infinity) <= 10);
  row('video encoder (gst-launch-1.0)', pct(one.usage.video));
  // CPU per frame stays comparable when a busy machine makes the encoder drop frames.
  if (one.received.length && one.received[0]! > 0) {
    row('  video encoder CPU per frame sent', ms(((one.usage.video ?? NaN) * 10) / one.received[0]!));
  }
  row('audio encoder (gst-launch-1.0)', pct(one.usage.audio));
  row('X server (Xvfb)', pct(one.usage.xserver));
  row('other server children (pulseaudio)', pct(one.usage.other));
  row('bench process (wrtc viewer decode)', pct(one.usage.bench));
  row('unrelated processes on this machine', contention(one.others));

  const extra: Viewer[] = [];
  for (let i = 1; i < FANOUT_VIEWERS; i++) extra.push(await connect(server, `fan${i}`));
  await Promise.all(extra.map((v) => v.waitForFrame(() => true, 10_000)));
  const five = await measure([host, ...extra]);
  warnIfBusy(five.others);
  section(`fan-out: ${FANOUT_VIEWERS} wrtc viewers of one encode, ${WINDOW_MS / 1000} s`);
  row('server process, 1 -> 5 viewers', `${pct(one.usage.server)} -> ${pct(five.usage.server)}`);
  row('server process per extra viewer', pct(((five.usage.server ?? NaN) - (one.usage.server ?? NaN)) / (FANOUT_VIEWERS - 1)));
  row('video encoder, 1 -> 5 viewers', `${pct(one.usage.video)} -> ${pct(five.usage.video)}`);
  row('frames/s decoded per viewer, min / mean', `${Math.min(...five.decoded).toFixed(1)} / ${mean(five.decoded).toFixed(1)}`, `${FPS}`, Math.min(...five.decoded) >= FPS * 0.95);
  if (five.received.length) row('frames/s received (RTP) per viewer, mean', mean(five.received).toFixed(1));
  if (five.kbps.length) row('bitrate per viewer, mean', `${Math.round(mean(five.kbps))} kbit/s`);
  row('bench process (5 wrtc decoders)', pct(five.usage.bench));
  row('unrelated processes on this machine', contention(five.others));
  await Promise.all(extra.map(closeViewer));
}

/** The sending half of fan-out alone (bench/srtp-cost.ts), against its floor. */
async function benchSrtpCost(): Promise<void> {
  section('SRTP send path, CPU per packet to one viewer (10 packets per ms, receiver in another process)');
  const c = await srtpCost();
  const us = (v: number) => `${v.toFixed(1)} µs`;
  row("werift's writeRtp (what the server used before)", us(c.werift));
  row('server forwarder, native sender, AEAD-AES-128-GCM (negotiated with Chromium and werift)', us(c.gcm));
  row('server forwarder, native sender, AES-128-CM-HMAC-SHA1-80', us(c.cm));
  row('server forwarder in JavaScript (no addon built), AEAD-AES-128-GCM', us(c.gcmJs));
  row('JavaScript floor: createCipheriv GCM + dgram.send of the same packet, no WebRTC', us(c.floor));
}

async function main(): Promise<void> {
  const began = performance.now();
  if (EXTRA_FLAGS.length) footer.push(`extra server flags: ${EXTRA_FLAGS.join(' ')}`);
  footer.push(`machine: ${cpus().length} cores, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')} at start; bench and server at nice ${getPriority()}`);
  footer.push(FULL ? 'mode: full' : 'mode: quick (`npm run bench -- --full` for CPU windows of the flip scenario, 1080p, 60 fps, H264 and 25 viewers)');
  await benchCodec('vp8', FULL);
  const report = { row, section, footer };
  await benchMotion({ width: 1280, height: 720, full: FULL, extraFlags: EXTRA_FLAGS }, report, chromium);
  const samples = FULL ? 40 : 20;
  await benchLatencyProfile({ width: 1280, height: 720, fps: 30, codec: 'vp8', samples: 20, extraFlags: EXTRA_FLAGS, still: true }, report, chromium);
  if (FULL) {
    await benchLatencyProfile({ width: 1280, height: 720, fps: 60, codec: 'vp8', samples, extraFlags: EXTRA_FLAGS }, report, chromium);
    for (const fps of [30, 60]) await benchLatencyProfile({ width: 1280, height: 720, fps, codec: 'h264', samples, extraFlags: EXTRA_FLAGS }, report, chromium);
  }
  if (FULL) {
    await benchSrtpCost();
    await benchMotion({ width: 1920, height: 1080, full: FULL, extraFlags: EXTRA_FLAGS }, report, chromium);
    if (await wrtcDecodes('H264')) {
      await benchCodec('h264', false);
    } else {
      footer.push('H264 variant skipped: @roamhq/wrtc offers no H264 codec (its offer lists VP8/VP9/AV1 only), so no headless viewer can decode it.');
    }
  }
  footer.push(`total bench time ${Math.round((performance.now() - began) / 1000)} s; CPU from /proc/<pid>/stat utime+stime at CLK_TCK 100.`);
}

let code = 0;
try {
  await main();
} catch (err) {
  code = 1;
  footer.push(`BENCH FAILED: ${(err as Error).stack ?? String(err)}`);
  for (const s of servers) for (const w of serverWarnings(s).slice(-10)) footer.push(`server: ${w}`);
} finally {
  await withTimeout(teardown(), 20_000, 'teardown').catch((err: unknown) => footer.push(`teardown: ${String(err)}`));
  printTable();
}
process.exit(code);
