/**
 * `npm run soak`: about ten minutes of churn against the real server running as a child
 * process, to find leaks and stalls that short tests cannot see. Not part of CI.
 *
 * While it runs: headless viewers join and leave (half log out, half just vanish), bare
 * WebSockets open and close (some never authenticate), the host floods data-channel moves
 * in bursts, and a random encoder is SIGKILLed now and then. It prints one table: RSS, open
 * file descriptors, event-loop lag p99, sessions and peers alive, at start, middle and end.
 *
 * The server runs with a 60 s session expiry and no per-address login limit (all clients
 * share 127.0.0.1). `npm run soak -- --seconds 120` shortens it; other arguments go to the server.
 * Exits 1 when it cannot measure (server does not start) or when the server dies.
 */
import { readdirSync, readFileSync, writeSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import WebSocket from 'ws';
import { encodeClientMessage } from '../server/src/webrtc/datachannel.js';
import { login, Viewer } from '../tests/helpers/viewer.js';
import { withTimeout } from './flip-window.js';
import { alive, cmdline, descendants } from './proc.js';
import { startServer, stopAllServers, type ServerProcess } from './server-process.js';

const argv = process.argv.slice(2);
const secondsAt = argv.indexOf('--seconds');
const SECONDS = secondsAt >= 0 ? Number(argv[secondsAt + 1]) : 600;
const serverFlags = secondsAt >= 0 ? [...argv.slice(0, secondsAt), ...argv.slice(secondsAt + 2)] : argv;
if (!Number.isFinite(SECONDS) || SECONDS < 30) {
  process.stderr.write('soak: --seconds must be a number >= 30\n');
  process.exit(2);
}

const VIEWERS = 4;
const VIEWER_CHURN_MS = 6_000;
const SOCKET_CHURN_MS = 300;
const MAX_OPEN_SOCKETS = 20;
const FLOOD_EVERY_MS = 15_000;
const FLOOD_MS = 2_000;
const KILL_MIN_MS = 30_000;
const KILL_MAX_MS = 90_000;
const SAMPLE_MS = 5_000;

interface Sample {
  at: number;
  rssMb: number;
  fds: number;
  lagP99Ms: number;
  sessions: number;
  peers: number;
  connected: number;
}

interface Counters {
  viewersJoined: number;
  viewersLeft: number;
  socketsOpened: number;
  floodMessages: number;
  encoderKills: number;
  errors: string[];
}

const counters: Counters = { viewersJoined: 0, viewersLeft: 0, socketsOpened: 0, floodMessages: 0, encoderKills: 0, errors: [] };
const viewers = new Set<Viewer>();
let server: ServerProcess | null = null;
let stopping = false;

function note(err: unknown, what: string): void {
  if (counters.errors.length < 20) counters.errors.push(`${what}: ${(err as Error).message ?? String(err)}`);
}

function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return kb / 1024;
}

function openFds(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/** prom-client's `p99` gauge covers the time since the previous scrape (it resets the histogram). */
async function scrapeLag(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
  const line = text.split('\n').find((l) => l.startsWith('neko_nodejs_eventloop_lag_p99_seconds'));
  return line ? Number(line.split(' ')[1]) * 1000 : NaN;
}

async function sessionsOf(url: string, token: string): Promise<{ sessions: number; peers: number; connected: number }> {
  const res = await fetch(`${url}/api/sessions`, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(5000) });
  const list = (await res.json()) as Array<{ state: { is_connected: boolean; is_watching: boolean } }>;
  return {
    sessions: list.length,
    peers: list.filter((s) => s.state.is_watching).length,
    connected: list.filter((s) => s.state.is_connected).length,
  };
}

async function sample(s: ServerProcess, adminToken: string): Promise<Sample> {
  const [lagP99Ms, counts] = await Promise.all([scrapeLag(s.url), sessionsOf(s.url, adminToken)]);
  return { at: Date.now(), rssMb: rssMb(s.pid), fds: openFds(s.pid), lagP99Ms, ...counts };
}

async function logout(url: string, token: string): Promise<void> {
  await fetch(`${url}/api/logout`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(3000) })
    .then((res) => res.body?.cancel())
    .catch(() => undefined);
}

async function joinViewer(s: ServerProcess, n: number): Promise<void> {
  const viewer = await withTimeout(Viewer.connect(s.url, `soak-viewer-${n}`, 'neko'), 15_000, 'viewer join');
  viewers.add(viewer);
  counters.viewersJoined++;
}

async function leaveViewer(s: ServerProcess, viewer: Viewer): Promise<void> {
  viewers.delete(viewer);
  counters.viewersLeft++;
  // Half log out; the others just vanish, as a closed laptop lid does.
  if (Math.random() < 0.5) {
    const token = new URL(viewer.socket.ws.url).searchParams.get('token');
    if (token) await logout(s.url, token);
  }
  try {
    viewer.close();
  } catch (err) {
    note(err, 'viewer close');
  }
}

/** Short-lived bare sockets: some authenticated and idle, some that never authenticate. */
async function socketChurn(s: ServerProcess, n: number): Promise<void> {
  const authed = n % 3 !== 0;
  const token = authed ? (await login(s.url, `soak-socket-${n % 50}`, 'neko')).token : 'not-a-token';
  const ws = new WebSocket(`${s.url.replace(/^http/, 'ws')}/api/ws?token=${token}`);
  counters.socketsOpened++;
  ws.on('error', () => undefined);
  await new Promise<void>((resolve) => {
    ws.once('open', () => resolve());
    ws.once('close', () => resolve());
  });
  await sleep(authed ? 500 + Math.random() * 5000 : 50);
  if (authed && Math.random() < 0.5) await logout(s.url, token);
  ws.terminate();
}

async function flood(host: Viewer, until: number): Promise<void> {
  let i = 0;
  while (Date.now() < until && !stopping) {
    const channel = host.channel;
    if (!channel || channel.readyState !== 'open') return;
    // Keep the client's own buffer bounded: the server is under test, not the bench's memory.
    if (channel.bufferedAmount > 1 << 20) {
      await sleep(1);
      continue;
    }
    host.send(encodeClientMessage({ type: 'move', x: (i * 7) % 1280, y: (i * 3) % 720 }));
    counters.floodMessages++;
    if (++i % 200 === 0) await new Promise((r) => setImmediate(r));
  }
}

function killRandomEncoder(s: ServerProcess): void {
  const encoders = descendants(s.pid).filter((p) => cmdline(p.pid).includes('gst-launch-1.0'));
  const victim = encoders[Math.floor(Math.random() * encoders.length)];
  if (!victim) return;
  try {
    process.kill(victim.pid, 'SIGKILL');
    counters.encoderKills++;
  } catch (err) {
    note(err, 'encoder kill');
  }
}

/** Runs `step` every `everyMs` (plus jitter) until the soak stops; errors are counted, not fatal. */
async function loop(everyMs: number, what: string, step: () => Promise<void>): Promise<void> {
  while (!stopping) {
    await sleep(everyMs * (0.5 + Math.random()));
    if (stopping) return;
    await step().catch((err: unknown) => note(err, what));
  }
}

function table(rows: Array<[string, Sample]>, windows: Array<{ maxLag: number; minPeers: number }>): string {
  const header = ['', ...rows.map(([name]) => name)];
  const lines: string[][] = [
    header,
    ['RSS (MB)', ...rows.map(([, s]) => s.rssMb.toFixed(1))],
    ['open fds', ...rows.map(([, s]) => String(s.fds))],
    ['event-loop lag p99 at sample (ms)', ...rows.map(([, s]) => s.lagP99Ms.toFixed(1))],
    ['event-loop lag p99, worst since last row (ms)', ...windows.map((w) => w.maxLag.toFixed(1))],
    ['sessions alive', ...rows.map(([, s]) => String(s.sessions))],
    ['sessions connected', ...rows.map(([, s]) => String(s.connected))],
    ['peers alive', ...rows.map(([, s]) => String(s.peers))],
    ['peers alive, fewest since last row', ...windows.map((w) => String(w.minPeers))],
  ];
  const widths = header.map((_, i) => Math.max(...lines.map((l) => (l[i] ?? '').length)));
  return lines
    .map((l, row) => {
      const text = l.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ');
      return row === 0 ? `${text}\n${widths.map((w) => '-'.repeat(w)).join('-+-')}` : text;
    })
    .join('\n');
}

async function main(): Promise<void> {
  process.stderr.write(`soak: ${SECONDS} s of churn; starting the server\n`);
  // Every simulated client comes from 127.0.0.1: the per-address login limit would refuse
  // them. A short expiry shows within the run that sessions left behind do not pile up.
  const flags = ['--capture.video.codec', 'vp8', '--server.login_successes', '1000000', '--session.expire_disconnected', '60s'];
  server = await startServer([...flags, ...serverFlags], 60_000);
  const s = server;
  const admin = await login(s.url, 'soak-admin', 'admin');

  const host = await withTimeout(Viewer.connect(s.url, 'soak-host', 'neko'), 15_000, 'host join');
  await host.waitForDataChannel();
  host.socket.send('control/request');
  await host.socket.waitFor('control/host', (p) => p?.has_host === true, 10_000);
  for (let i = 0; i < VIEWERS; i++) await joinViewer(s, i);
  await sleep(SAMPLE_MS);

  const rows: Array<[string, Sample]> = [['start', await sample(s, admin.token)]];
  const windows = [{ maxLag: rows[0]![1].lagP99Ms, minPeers: rows[0]![1].peers }];
  let current = { maxLag: 0, minPeers: Infinity };
  const startedAt = Date.now();
  const endAt = startedAt + SECONDS * 1000;
  const middleAt = startedAt + (SECONDS * 1000) / 2;
  let serverDied = false;

  let nextViewer = VIEWERS;
  let nextSocket = 0;
  let openSockets = 0;
  const activities = [
    loop(VIEWER_CHURN_MS, 'viewer churn', async () => {
      const list = [...viewers];
      const leaving = list[Math.floor(Math.random() * list.length)];
      if (leaving) await leaveViewer(s, leaving);
      await joinViewer(s, nextViewer++);
    }),
    // Sockets overlap: each lives for seconds while new ones keep arriving.
    loop(SOCKET_CHURN_MS, 'socket churn', async () => {
      if (openSockets >= MAX_OPEN_SOCKETS) return;
      openSockets++;
      void socketChurn(s, nextSocket++)
        .catch((err: unknown) => note(err, 'socket churn'))
        .finally(() => openSockets--);
    }),
    loop(FLOOD_EVERY_MS, 'host flood', () => flood(host, Date.now() + FLOOD_MS)),
    loop((KILL_MIN_MS + KILL_MAX_MS) / 2, 'encoder kill', async () => killRandomEncoder(s)),
  ];

  let middleTaken = false;
  while (Date.now() < endAt) {
    await sleep(SAMPLE_MS);
    if (!alive(s.pid)) {
      serverDied = true;
      break;
    }
    const now = await sample(s, admin.token).catch((err: unknown) => {
      note(err, 'sample');
      return null;
    });
    if (!now) continue;
    current.maxLag = Math.max(current.maxLag, now.lagP99Ms);
    current.minPeers = Math.min(current.minPeers, now.peers);
    if (!middleTaken && Date.now() >= middleAt) {
      middleTaken = true;
      rows.push(['middle', now]);
      windows.push(current);
      current = { maxLag: 0, minPeers: Infinity };
    }
    const elapsed = Math.round((Date.now() - startedAt) / 1000);
    process.stderr.write(`soak: ${elapsed}/${SECONDS} s  rss ${now.rssMb.toFixed(0)} MB  fds ${now.fds}  lag p99 ${now.lagP99Ms.toFixed(1)} ms  sessions ${now.sessions}  peers ${now.peers}\n`);
  }
  stopping = true;
  await Promise.allSettled(activities);
  if (!serverDied) {
    // Let abrupt leavers' peers and grace periods run out before the last row.
    await sleep(10_000);
    const end = await sample(s, admin.token);
    current.maxLag = Math.max(current.maxLag, end.lagP99Ms);
    current.minPeers = Math.min(current.minPeers, end.peers);
    rows.push(['end', end]);
    windows.push(current);
  }

  const stillWatching = [...viewers].filter((v) => v.frames > 0).length;
  const out = [
    '',
    `soak: ${SECONDS} s, ${VIEWERS} churning viewers + 1 flooding host`,
    table(rows, windows),
    '',
    `viewers joined / left: ${counters.viewersJoined} / ${counters.viewersLeft}; viewers at the end decoding: ${stillWatching}/${viewers.size}`,
    `sockets opened: ${counters.socketsOpened}; flood messages sent: ${counters.floodMessages}; encoders killed: ${counters.encoderKills}`,
    `host still receiving frames: ${host.frames > 0 ? 'yes' : 'no'}; server alive: ${serverDied ? 'NO' : 'yes'}`,
    ...(counters.errors.length ? ['bench-side errors (first 20):', ...counters.errors.map((e) => `  ${e}`)] : []),
    '',
  ];
  writeSync(1, out.join('\n'));
  host.close();
  for (const v of [...viewers]) await leaveViewer(s, v);
  await stopAllServers();
  process.exit(serverDied ? 1 : 0);
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    stopping = true;
    void stopAllServers().finally(() => process.exit(130));
  });
}

main().catch(async (err: unknown) => {
  process.stderr.write(`soak failed: ${(err as Error).stack ?? String(err)}\n`);
  await stopAllServers();
  process.exit(1);
});
