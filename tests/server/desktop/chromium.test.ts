import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { api } from '../../helpers/api.js';
// First: it loads the server, whose exit hook (killing X servers left running) must be
// registered before the viewer helper's, which ends the process on exit.
import { startDesktopApp } from '../../helpers/app.js';
import { login, pixel, Viewer, type Frame } from '../../helpers/viewer.js';
import { lockPid, onDisplay, waitFor } from '../../helpers/x11.js';

const OUTPUT = fileURLToPath(new URL('../../../test-output/desktop/', import.meta.url));

const user = (() => {
  const [, , uid, gid, , home] = execFileSync('getent', ['passwd', 'neko'], { encoding: 'utf8' }).trim().split(':');
  return { uid: Number(uid), gid: Number(gid), home: home! };
})();

function uidOf(pid: number): number {
  return Number(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
}

function comm(pid: number): string {
  return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
}

/** Arguments as one string: Chromium's helper processes rewrite theirs into one. */
function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    return '';
  }
}

/** Every process below `pid`. */
function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'latin1');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(name)]);
    } catch {
      // gone
    }
  }
  const out: number[] = [];
  for (let queue = [pid]; queue.length; ) {
    const next = children.get(queue.shift()!) ?? [];
    out.push(...next);
    queue.push(...next);
  }
  return out;
}

/** The visible Chromium browser window: its id, pid and geometry on the screen. */
async function chromiumWindow(display: string): Promise<{ id: string; pid: number; x: number; y: number; width: number; height: number }> {
  const ids = (await onDisplay(display, 'xdotool', ['search', '--onlyvisible', '--class', 'chromium'])).trim().split('\n');
  assert.equal(ids.length, 1, `one Chromium window: ${ids}`);
  const id = ids[0]!;
  const pid = Number((await onDisplay(display, 'xdotool', ['getwindowpid', id])).trim());
  const geometry = Object.fromEntries(
    (await onDisplay(display, 'xdotool', ['getwindowgeometry', '--shell', id]))
      .trim()
      .split('\n')
      .map((line) => line.split('=') as [string, string]),
  );
  return { id, pid, x: Number(geometry.X), y: Number(geometry.Y), width: Number(geometry.WIDTH), height: Number(geometry.HEIGHT) };
}

/** Whether the desktop user may create the namespaces Chromium's sandbox needs, asked the way the server asks. */
function userNamespacesWork(): boolean {
  try {
    execFileSync('setpriv', [`--reuid=${user.uid}`, `--regid=${user.gid}`, '--clear-groups', 'unshare', '--user', '--map-root-user', '--pid', '--net', '--fork', 'true']);
    return true;
  } catch {
    return false;
  }
}

/** Keeps a decoded frame under test-output/desktop/ for a person to look at. */
async function savePng(frame: Frame, name: string): Promise<void> {
  const rgb = Buffer.alloc(frame.width * frame.height * 3);
  for (let y = 0; y < frame.height; y++) {
    for (let x = 0; x < frame.width; x++) {
      const { r, g, b } = pixel(frame, x, y);
      rgb.set([r, g, b], (y * frame.width + x) * 3);
    }
  }
  mkdirSync(OUTPUT, { recursive: true });
  await sharp(rgb, { raw: { width: frame.width, height: frame.height, channels: 3 } }).png().toFile(join(OUTPUT, name));
}

/** A folder for downloads the desktop user can reach: its parent is world-traversable. */
function downloadFolder(): { parent: string; dir: string } {
  const parent = mkdtempSync(join(tmpdir(), 'neko-chromium-'));
  chmodSync(parent, 0o755);
  return { parent, dir: join(parent, 'Downloads') };
}

describe('the default desktop: Chromium on Xorg', () => {
  const folders: string[] = [];
  after(() => {
    for (const f of folders) rmSync(f, { recursive: true, force: true });
  });

  test('Chromium as the desktop user, maximized and painted with the welcome page before /health is ready; Xorg with the common modes', async () => {
    const { parent, dir } = downloadFolder();
    folders.push(parent);
    // The product's defaults, but for the bind address and the download folder.
    const app = await startDesktopApp(['--filetransfer.dir', dir]);
    let viewer: Viewer | undefined;
    try {
      const display = app.desktop.display;

      // Ready as soon as the server is there: start-up waited for the window.
      const health = await api(app.url).get('/health').expect(200);
      assert.equal(health.body.components['desktop.app'], 'running');
      assert.equal(health.body.components['desktop.window_manager'], 'running');
      assert.equal(comm(lockPid(display)), 'Xorg', 'the X server is Xorg');

      const win = await chromiumWindow(display);
      assert.match(cmdline(win.pid), /^\S+\/chromium /, 'the window is Chromium\'s');
      assert.equal(uidOf(win.pid), user.uid, 'Chromium runs as the desktop user');
      assert.deepEqual({ x: win.x, y: win.y, width: win.width, height: win.height }, { x: 0, y: 0, width: 1280, height: 720 });
      assert.match(await onDisplay(display, 'xprop', ['-id', win.id, '_NET_WM_STATE']), /_NET_WM_STATE_MAXIMIZED_VERT, _NET_WM_STATE_MAXIMIZED_HORZ/);

      // The sandbox is on wherever the desktop user can have namespaces: renderers then live in their own.
      const args = cmdline(win.pid).split(' ');
      const renderers = descendants(win.pid).filter((pid) => cmdline(pid).includes(' --type=renderer '));
      assert.ok(renderers.length > 0, 'Chromium has renderers');
      if (userNamespacesWork()) {
        assert.ok(!args.includes('--no-sandbox'), 'no --no-sandbox where the sandbox can work');
        const ns = (pid: number) => readlinkSync(`/proc/${pid}/ns/user`);
        assert.ok(renderers.every((pid) => ns(pid) !== ns(win.pid)), 'renderers are sandboxed in a user namespace');
      } else {
        assert.ok(args.includes('--no-sandbox'));
      }
      assert.ok(args.includes('--no-first-run') && args.includes('--disable-background-networking'), 'quiet flags');
      assert.ok(args.some((a) => a.startsWith(`--user-data-dir=${user.home}/`)), 'profile in the desktop user home');

      // A viewer's first frame shows the welcome page: its white card in the middle, the
      // gradient around it, the browser's bar above.
      viewer = await Viewer.connect(app.url, 'viewer', 'neko');
      const frame = await viewer.waitForFrame((f) => f.width === 1280 && f.height === 720, 15_000);
      const centre = pixel(frame, 640, 420);
      assert.ok(centre.r > 230 && centre.g > 230 && centre.b > 230, `card is white: ${JSON.stringify(centre)}`);
      const side = pixel(frame, 60, 420);
      assert.ok(side.b > side.r + 20 && side.r < 120, `gradient beside the card: ${JSON.stringify(side)}`);
      const colours = new Set<string>();
      for (let y = 8; y < 720; y += 16) for (let x = 8; x < 1280; x += 16) colours.add(JSON.stringify(pixel(frame, x, y)));
      assert.ok(colours.size > 50, `not a blank frame: ${colours.size} colours`);
      await savePng(frame, 'first-frame-1280x720.png');

      // Xorg lists the common sizes at 30 and 60 fps, and switches between them; Chromium follows.
      const { token } = await login(app.url, 'admin', 'admin');
      const list = (await api(app.url, token).get('/api/room/screen/configurations').expect(200)).body as Array<{
        width: number;
        height: number;
        rate: number;
      }>;
      for (const [width, height] of [[1280, 720], [1366, 768], [1600, 900], [1920, 1080], [1024, 768], [800, 600]]) {
        for (const rate of [30, 60]) {
          assert.ok(list.some((s) => s.width === width && s.height === height && s.rate === rate), `${width}x${height}@${rate} offered`);
        }
      }
      await api(app.url, token).post('/api/room/screen').send({ width: 1366, height: 768, rate: 60 }).expect(200);
      assert.match(await onDisplay(display, 'xdpyinfo', []), /dimensions:\s+1366x768 pixels/);
      await waitFor('Chromium maximized at the new size', async () => {
        const w = await chromiumWindow(display);
        return w.width === 1366 && w.height === 768;
      }, 10_000);
      await savePng(await viewer.waitForFrame((f) => f.width === 1366 && f.height === 768, 15_000), 'resized-1366x768.png');
    } finally {
      viewer?.close();
      await app.close();
    }
  });

  test('a download lands in the file-transfer folder, owned by the desktop user, without a prompt', async () => {
    const { parent, dir } = downloadFolder();
    folders.push(parent);
    const body = 'a file for the room\n';
    const http = createServer((req, res) => {
      if (req.url === '/room-notes.txt') {
        res.writeHead(200, { 'content-type': 'text/plain', 'content-disposition': 'attachment; filename="room-notes.txt"' });
        res.end(body);
        return;
      }
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<!doctype html><title>download</title><p>Downloading</p><script>location.href = "/room-notes.txt"</script>');
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    const page = `http://127.0.0.1:${(http.address() as AddressInfo).port}/`;
    try {
      const app = await startDesktopApp(['--filetransfer.dir', dir, '--desktop.home_page', page, '--desktop.audio=false']);
      try {
        const file = join(dir, 'room-notes.txt');
        await waitFor('the download', () => existsSync(file) && readFileSync(file, 'utf8') === body, 20_000);
        assert.equal(statSync(file).uid, user.uid, 'written by the desktop user');
        assert.deepEqual(readdirSync(dir), ['room-notes.txt'], 'nothing else (no partial download) left');
      } finally {
        await app.close();
      }
    } finally {
      http.closeAllConnections();
      http.close();
    }
  });
});
