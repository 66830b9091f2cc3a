/**
 * The Docker images, built and run for real. A private Docker daemon in this test's network
 * namespace (only loopback, made by `npm test`) rebuilds the images from its cache, which
 * persists across runs, then runs two chromium rooms side by side with `--network host` —
 * host being that namespace — so they share one loopback and one set of abstract X sockets,
 * as two rooms on one machine would.
 *
 * No registry is reachable from here: what the build downloads is fetched beforehand by
 * docker/warm-test-cache.sh, which scripts/setup.sh runs for `npm test`.
 */
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { encodeClientMessage } from '../../server/src/webrtc/datachannel.js';
import { login, near, pixel, Viewer, type Frame } from '../helpers/viewer.js';

const execFileP = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DAEMON = 'neko-ts-test-docker';
const DATA_ROOT = `/var/lib/${DAEMON}`;
/** One run at a time may use the daemon and its data root. */
const LOCK = `/run/${DAEMON}.lock`;
const DOCKER_ENV = { ...process.env, DOCKER_HOST: `unix:///run/${DAEMON}/docker.sock` };
/** Debian's client matches Debian's daemon (a newer stand-alone one may be first on PATH). */
const DOCKER = existsSync('/usr/bin/docker') ? '/usr/bin/docker' : 'docker';
const LABEL = 'neko-ts-test';
const IMAGE = 'neko-ts/chromium:latest';

const ORANGE = { r: 255, g: 128, b: 0 };
const BLUE = { r: 0, g: 64, b: 255 };
/** The room's first page: orange, turning blue once "neko" is typed into it. */
const PAGE = `<!doctype html><title>typed:</title><body style="margin:0;height:100vh;background:#ff8000">
<script>let typed='';addEventListener('keydown',(e)=>{typed+=e.key;document.title='typed:'+typed;
if(typed.endsWith('neko'))document.body.style.background='#0040ff';});</script>`;
const HOME_PAGE = `data:text/html;base64,${Buffer.from(PAGE).toString('base64')}`;

function skipReason(): string | false {
  if (process.getuid?.() !== 0) return 'needs root, to run its own Docker daemon';
  const outside = Object.values(networkInterfaces())
    .flat()
    .some((a) => a && !a.internal);
  if (outside) return 'needs a private network namespace with only loopback (npm test as root runs in one)';
  return false;
}

/** A process that runs (a zombie does not: it has exited, only its parent has not reaped it). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** Runs a command to its end; rejects with its output's tail when it fails. */
function run(command: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const collect = (chunk: Buffer) => (output = (output + chunk.toString('utf8')).slice(-20_000));
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    const timer = setTimeout(() => child.kill('SIGTERM'), timeoutMs);
    child.once('error', reject);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(output);
      else reject(new Error(`${command} ${args.join(' ')} failed (${signal ?? code}):\n${output.slice(-4000)}`));
    });
  });
}

async function docker(...args: string[]): Promise<string> {
  const { stdout } = await execFileP(DOCKER, args, { env: DOCKER_ENV, maxBuffer: 16 << 20, timeout: 60_000 });
  return stdout.trim();
}

/** Polls `check` until it returns a value (not undefined); fails with `what` after `timeoutMs`. */
async function until<T>(what: string, check: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** The display the room's server reports in its "desktop ready" log line. */
async function displayOf(container: string): Promise<string> {
  return until(
    `${container} desktop ready`,
    async () => {
      const logs = await docker('logs', container);
      const line = logs.split('\n').find((l) => l.includes('"desktop ready"'));
      return line ? (JSON.parse(line) as { display: string }).display : undefined;
    },
    60_000,
  );
}

/**
 * Whether the top of the frame shows the browser's toolbar: dark text and icons on a light
 * bar, which neither an empty desktop nor a page of one colour has.
 */
function showsBrowser(frame: Frame): boolean {
  let dark = 0;
  let light = 0;
  for (let y = 0; y < Math.min(100, frame.height); y += 2) {
    for (let x = 0; x < frame.width; x += 2) {
      const luma = frame.data[y * frame.width + x]!;
      if (luma < 90) dark++;
      else if (luma > 180) light++;
    }
  }
  return dark >= 50 && light >= 1000;
}

describe('docker images: built, run as rooms, stopped', { skip: skipReason() }, () => {
  const suffix = `${process.pid}`;
  const roomA = `neko-ts-test-a-${suffix}`;
  const roomB = `neko-ts-test-b-${suffix}`;
  const portA = 18_480;
  const muxA = 18_481;
  let lock: ChildProcess | null = null;
  let daemon = false;
  let volume = '';
  let buildOutput = '';
  let buildSeconds = 0;
  const viewers: Viewer[] = [];

  before(
    async () => {
      lock = spawn('flock', ['--exclusive', '--wait', '120', LOCK, 'sh', '-c', 'echo locked; exec cat'], {
        stdio: ['pipe', 'pipe', 'inherit'],
      });
      await new Promise<void>((resolve, reject) => {
        lock!.stdout!.once('data', () => resolve());
        lock!.once('exit', (code) => reject(new Error(`flock ${LOCK} exited (${code})`)));
      });

      const daemonEnv = { ...process.env, NEKO_DOCKERD_NAME: DAEMON, NEKO_DOCKER_DATA_ROOT: DATA_ROOT };
      await run('bash', ['docker/dockerd.sh', 'start'], daemonEnv, 60_000);
      daemon = true;
      const started = Date.now();
      buildOutput = await run('bash', ['docker/build.sh'], DOCKER_ENV, 5 * 60_000).catch((err: Error) => {
        throw new Error(`${err.message}\n(a cold build cache needs the registries: run bash docker/warm-test-cache.sh first)`);
      });
      buildSeconds = Math.round((Date.now() - started) / 1000);
      const leftovers = await docker('ps', '-aq', '--filter', `label=${LABEL}`);
      if (leftovers) await docker('rm', '-f', ...leftovers.split('\n'));

      volume = mkdtempSync(join(tmpdir(), 'neko-docker-state-'));
      const common = ['run', '-d', '--label', LABEL, '--network', 'host', '--shm-size', '1g', '--health-interval', '2s'];
      // Room A: a non-default loopback port, its state in a host folder. Room B: the image's
      // defaults (port 8080, mux 52000, default passwords), started at the same moment.
      await Promise.all([
        docker(
          ...common,
          '--name',
          roomA,
          '-v',
          `${volume}:/var/lib/neko`,
          '-e',
          `NEKO_SERVER_BIND=127.0.0.1:${portA}`,
          '-e',
          `NEKO_WEBRTC_UDPMUX=${muxA}`,
          '-e',
          `NEKO_WEBRTC_TCPMUX=${muxA}`,
          '-e',
          'NEKO_WEBRTC_ICESERVERS_FRONTEND=[{"urls":["stun:127.0.0.1:3478"]}]',
          '-e',
          `NEKO_DESKTOP_HOME_PAGE=${HOME_PAGE}`,
          IMAGE,
        ),
        docker(...common, '--name', roomB, IMAGE),
      ]);
    },
    { timeout: 30 * 60_000 },
  );

  after(async () => {
    viewers.forEach((v) => v.close());
    if (daemon) {
      await docker('rm', '-f', roomA, roomB).catch(() => {});
      await run('bash', ['docker/dockerd.sh', 'stop'], { ...process.env, NEKO_DOCKERD_NAME: DAEMON }, 60_000).catch(
        (err: unknown) => console.error(err),
      );
    }
    if (volume) rmSync(volume, { recursive: true, force: true });
    lock?.stdin?.end();
  });

  test('the build reuses its cache and keeps the images lean', async (t) => {
    t.diagnostic(`docker/build.sh took ${buildSeconds} s`);
    for (const line of buildOutput.split('\n').filter((l) => /built |neko-ts\/.*B$/.test(l))) t.diagnostic(line.trim());
    const images = await docker('image', 'ls', '--format', '{{.Repository}}:{{.Tag}}', 'neko-ts/*');
    for (const image of ['neko-ts/chromium:latest', 'neko-ts/firefox-esr:latest', 'neko-ts/coturn:latest']) {
      assert.ok(images.split('\n').includes(image), `${image} built`);
    }
    const leftovers = await docker(
      'run', '--rm', '--network', 'none', '--entrypoint', 'sh', IMAGE, '-c',
      'ls /var/lib/apt/lists | grep -v -x -e lock -e partial; ls /var/cache/apt/archives | grep "\\.deb$"; ' +
        'command -v gcc cc make npm tsx || true; ls /opt/neko/node_modules | grep -x -e typescript -e tsx -e esbuild || true; ' +
        'find /opt/neko/server -name "*.ts" ! -name "*.d.ts" | head -3',
    );
    assert.equal(leftovers, '', 'no apt lists, package cache, build tools or TypeScript sources in the image');
  });

  test('/health is healthy, for the server and for Docker’s HEALTHCHECK', { timeout: 120_000 }, async () => {
    const health = await until(
      'room A healthy',
      async () => {
        const res = await fetch(`http://127.0.0.1:${portA}/health`);
        return res.status === 200 ? ((await res.json()) as { status: string; components: Record<string, string> }) : undefined;
      },
      90_000,
    );
    assert.equal(health.status, 'ok');
    assert.equal(health.components['desktop.app'], 'running');
    assert.equal(health.components['desktop.xserver'], 'running');
    for (const room of [roomA, roomB]) {
      await until(`${room} reported healthy by Docker`, async () => ((await docker('inspect', '-f', '{{.State.Health.Status}}', room)) === 'healthy' ? true : undefined), 90_000);
    }
  });

  test('two rooms run at once on distinct displays and ports', { timeout: 120_000 }, async () => {
    const [a, b] = await Promise.all([displayOf(roomA), displayOf(roomB)]);
    assert.notEqual(a, b, 'the second room took another display number');
    // Room B as `docker run neko-ts/chromium` configures it: port 8080, the contract's passwords.
    const viewer = await Viewer.connect('http://127.0.0.1:8080', 'bob', 'neko');
    viewers.push(viewer);
    await viewer.waitForFrame(showsBrowser, 30_000);
    await login('http://127.0.0.1:8080', 'boss', 'admin');
  });

  test('a viewer sees the browser’s window, and its keys reach the page', { timeout: 150_000 }, async (t) => {
    const base = `http://127.0.0.1:${portA}`;
    const t0 = Date.now();
    const viewer = await Viewer.connect(base, 'alice', 'admin');
    viewers.push(viewer);
    await viewer.waitForFrame(() => true, 60_000);
    t.diagnostic(`first frame after ${Date.now() - t0} ms`);
    // The page fills the window below the browser's own toolbar.
    const page = await viewer.waitForFrame((f) => near(pixel(f, f.width >> 1, (f.height * 2) / 3), ORANGE), 60_000);
    t.diagnostic(`page frame after ${Date.now() - t0} ms`);
    assert.ok(showsBrowser(page), "the top rows show the browser's toolbar");

    await viewer.waitForDataChannel();
    viewer.socket.send('control/request');
    await viewer.socket.waitFor('control/host', (p) => p.host_id === viewer.sessionId);
    const x = page.width >> 1;
    const y = (page.height * 2) / 3;
    viewer.send(encodeClientMessage({ type: 'move', x, y }));
    viewer.send(encodeClientMessage({ type: 'buttonDown', button: 1 }));
    viewer.send(encodeClientMessage({ type: 'buttonUp', button: 1 }));
    for (const key of 'neko') {
      viewer.send(encodeClientMessage({ type: 'keyDown', keysym: key.charCodeAt(0) }));
      viewer.send(encodeClientMessage({ type: 'keyUp', keysym: key.charCodeAt(0) }));
    }
    await viewer.waitForFrame((f) => near(pixel(f, f.width >> 1, (f.height * 2) / 3), BLUE), 30_000);
    t.diagnostic(`typed page after ${Date.now() - t0} ms`);
    const capture = (await docker('logs', roomA)).split('\n').find((l) => l.includes('"starting screen capture"'));
    assert.match(capture ?? '', /"pipeline":"nekodamagesrc /, 'the image grabs with server/native\'s damage-driven element');
    assert.match(await docker('logs', roomA), /"srtp":"native"/, "the image sends viewers' RTP with server/native's addon");

    // The REST screenshot agrees.
    const { token } = await login(base, 'admin', 'admin');
    const res = await fetch(`${base}/api/room/screen/shot.jpg`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(res.status, 200);
    const { data, info } = await sharp(Buffer.from(await res.arrayBuffer())).raw().toBuffer({ resolveWithObject: true });
    const at = ((Math.round((info.height * 2) / 3) * info.width + (info.width >> 1)) * info.channels) | 0;
    assert.ok(near({ r: data[at]!, g: data[at + 1]!, b: data[at + 2]! }, BLUE), 'the screenshot shows the typed-into page');
  });

  test('state lives in the mounted volume', { timeout: 60_000 }, async () => {
    const display = (await displayOf(roomA)).replace(':', '');
    const prefs = join(volume, 'home', '.config', 'neko', `chromium-${display}`, 'Default', 'Preferences');
    await until('browser profile in the volume', async () => (existsSync(prefs) ? true : undefined), 30_000);
    assert.equal(statSync(join(volume, 'home')).uid, 1000, 'the home (profile, downloads) belongs to neko');
    assert.equal(statSync(join(volume, 'server')).mode & 0o777, 0o700, "the server's files are root's alone");
    const sessions = readFileSync(join(volume, 'server', 'sessions.json'), 'utf8');
    assert.ok(sessions.includes(viewers.at(-1)!.sessionId), 'sessions are saved in the volume');
    assert.ok(existsSync(join(volume, 'server', 'shares', 'share-key.pem')), "the share links' key is kept in the volume");
  });

  test('SIGTERM stops a room cleanly within 10 s, leaving no process behind', { timeout: 60_000 }, async () => {
    const processes = (await docker('top', roomA, '-eo', 'pid'))
      .split('\n')
      .slice(1)
      .map(Number)
      .filter((pid) => pid > 0);
    assert.ok(processes.length > 5, `server, X, PulseAudio, openbox and Chromium run (${processes.length} processes)`);
    const started = Date.now();
    await docker('stop', '--time', '10', roomA);
    const seconds = (Date.now() - started) / 1000;
    assert.ok(seconds < 10, `stopped in ${seconds} s, before Docker's SIGKILL`);
    assert.equal(await docker('inspect', '-f', '{{.State.ExitCode}}', roomA), '0');
    assert.deepEqual(processes.filter(alive), [], 'every process of the room has exited');
    const logs = await docker('logs', roomA);
    assert.match(logs, /"signal":"SIGTERM".*"shutting down"/);
    assert.match(logs, /"desktop closed"/);
  });
});
