/**
 * Desktop programs never run as root: the app and the window manager of a root server run as
 * the unprivileged desktop user, who can use the display, the audio server and the transfer
 * and upload folders, and cannot write anywhere else.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { silentLogger } from '../../../server/src/log.js';
import type { App } from '../../../server/src/main.js';
import { resolveDesktopUser } from '../../../server/src/process/desktop-user.js';
import type { RunAs } from '../../../server/src/process/spawn.js';
import { startApp } from '../../helpers/app.js';
import { login } from '../../helpers/viewer.js';

const execFileP = promisify(execFile);
const logger = silentLogger();
const ROOT = new URL('../../../', import.meta.url).pathname;

/** Runs `cmd` as `user` (uid, gid, no supplementary groups); resolves with its exit code. */
async function runAs(user: { uid: number; gid: number }, cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<number> {
  try {
    await execFileP(cmd, args, { uid: user.uid, gid: user.gid, cwd: '/', env: { PATH: process.env.PATH, ...env }, timeout: 20_000 });
    return 0;
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'number') return code;
    throw err;
  }
}

/** The processes below this test process, with their real uid. */
function descendants(): Array<{ pid: number; comm: string; uid: number }> {
  const parent = new Map<number, number>();
  const info = new Map<number, { comm: string; uid: number }>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const status = readFileSync(`/proc/${entry}/status`, 'latin1');
      const field = (name: string) => new RegExp(`^${name}:\\s*(\\S+)`, 'm').exec(status)?.[1] ?? '';
      if (field('State') === 'Z') continue;
      parent.set(Number(entry), Number(field('PPid')));
      info.set(Number(entry), { comm: field('Name'), uid: Number(field('Uid')) });
    } catch {
      // gone meanwhile
    }
  }
  const below = (pid: number): boolean => {
    for (let p = parent.get(pid); p !== undefined && p > 1; p = parent.get(p)) if (p === process.pid) return true;
    return false;
  };
  return [...info].filter(([pid]) => below(pid)).map(([pid, i]) => ({ pid, ...i }));
}

describe('desktop user', { skip: process.getuid?.() !== 0 && 'needs root' }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'neko-user-'));
  chmodSync(dir, 0o755);
  const report = join(dir, 'report');
  const transfer = join(dir, 'transfer', 'Downloads');
  const stateDir = mkdtempSync(join(tmpdir(), 'neko-state-'));
  let app: App;
  let user: RunAs;

  before(async () => {
    user = (await resolveDesktopUser('neko', logger))!;
    // The app checks what it can do from the inside and reports back through a file.
    const probe = join(dir, 'probe.sh');
    writeFileSync(
      probe,
      `#!/bin/sh
out=$1; shift
{
  echo "pid=$$"
  echo "uid=$(id -u)"
  if xdpyinfo >/dev/null 2>&1; then echo display=ok; else echo display=denied; fi
  if pactl info >/dev/null 2>&1; then echo audio=ok; else echo audio=denied; fi
  for target in "$@"; do
    name=\${target%%=*}; path=\${target#*=}
    if (echo probe > "$path") 2>/dev/null; then echo "$name=written"; rm -f "$path"; else echo "$name=denied"; fi
  done
} > "$out.tmp" 2>&1
mv "$out.tmp" "$out"
exec sleep 86398
`,
      { mode: 0o755 },
    );
    chmodSync(dir, 0o777);
    const targets = [
      `home=$HOME/neko-probe`,
      `transfer=${transfer}/probe`,
      `root=/root/neko-probe`,
      `etc=/etc/neko-probe`,
      `state=${stateDir}/probe`,
      `repository=${ROOT}neko-probe`,
    ];
    // As Docker passes configuration: the app must not inherit it (startApp's config ignores it).
    process.env.NEKO_MEMBER_MULTIUSER_ADMIN_PASSWORD = 'not-for-the-desktop';
    app = await startApp([
      '--desktop.window_manager', 'openbox',
      '--desktop.app', `${probe} ${report} ${targets.join(' ')}`,
      '--filetransfer.enabled',
      '--filetransfer.dir', transfer,
      '--session.file', join(stateDir, 'sessions.json'),
    ]);
  });

  after(async () => {
    await app?.close();
    delete process.env.NEKO_MEMBER_MULTIUSER_ADMIN_PASSWORD;
    rmSync(dir, { recursive: true, force: true });
    rmSync(stateDir, { recursive: true, force: true });
  });

  it('runs the app and the window manager as the desktop user, not root', async () => {
    assert.notEqual(user.uid, 0);
    let text = '';
    for (let i = 0; i < 600 && !text; i++) {
      text = (() => {
        try {
          return readFileSync(report, 'utf8');
        } catch {
          return '';
        }
      })();
      if (!text) await sleep(50);
    }
    assert.ok(text, 'the app reported');
    const result = Object.fromEntries(text.trim().split('\n').map((l) => l.split('=') as [string, string]));
    const status = readFileSync(`/proc/${result.pid}/status`, 'latin1');
    assert.deepEqual(/^Uid:\s+(.*)$/m.exec(status)![1]!.split(/\s+/).map(Number), [user.uid, user.uid, user.uid, user.uid], 'every uid of the app');
    assert.deepEqual(/^Gid:\s+(.*)$/m.exec(status)![1]!.split(/\s+/).map(Number), [user.gid, user.gid, user.gid, user.gid], 'every gid of the app');
    assert.equal(/^Groups:[ \t]*(.*)$/m.exec(status)![1]!.trim(), '', 'no supplementary groups (root has none to pass on)');
    const environ = readFileSync(`/proc/${result.pid}/environ`, 'latin1').split('\0');
    assert.deepEqual(environ.filter((v) => v.startsWith('NEKO_')), [], 'no server configuration in the app environment');
    const openbox = descendants().filter((p) => p.comm === 'openbox');
    assert.equal(openbox.length, 1);
    assert.equal(openbox[0]!.uid, user.uid, 'the window manager runs as the desktop user');

    assert.deepEqual(result, {
      pid: result.pid,
      uid: String(user.uid),
      display: 'ok',
      audio: 'ok',
      home: 'written',
      transfer: 'written',
      root: 'denied',
      etc: 'denied',
      state: 'denied',
      repository: 'denied',
    });
  });

  it('lets no other local user onto the display', async () => {
    const env = { DISPLAY: app.desktop.display, XAUTHORITY: '/nonexistent' };
    assert.equal(await runAs(user, 'xdpyinfo', [], env), 0, 'the desktop user');
    assert.notEqual(await runAs({ uid: 65534, gid: 65534 }, 'xdpyinfo', [], env), 0, 'nobody');
  });

  it('gives dropped uploads to the desktop user, in a folder it cannot add to', async () => {
    const { token } = await login(app.url, 'admin', 'admin');
    const headers = { authorization: `Bearer ${token}` };
    assert.equal((await fetch(`${app.url}/api/room/control/request`, { method: 'POST', headers })).status, 204);
    const form = new FormData();
    form.set('x', '10');
    form.set('y', '10');
    form.append('files', new Blob(['dropped']), 'dropped.txt');
    const res = await fetch(`${app.url}/api/room/upload/drop`, { method: 'POST', headers, body: form });
    assert.equal(res.status, 204, await res.text());
    const folder = app.room.features.uploads.dir;
    const placed = join(folder, 'dropped.txt');
    assert.equal(await runAs(user, 'cat', [placed]), 0, 'reads the dropped file');
    assert.equal(await runAs(user, 'sh', ['-c', `echo more >> '${placed}'`]), 0, 'owns the dropped file');
    assert.notEqual(await runAs(user, 'touch', [join(folder, 'planted')]), 0, 'adds nothing to the folder');
    assert.notEqual(await runAs(user, 'ls', [join(folder, '.incoming')]), 0, 'does not see the spool');
    assert.notEqual(await runAs({ uid: 65534, gid: 65534 }, 'cat', [placed]), 0, 'others do not read it');
  });

  it('runs desktop programs as the server user when the server is not root', async () => {
    const script = `import { resolveDesktopUser } from './server/src/process/desktop-user.ts';
      import { silentLogger } from './server/src/log.ts';
      console.log(JSON.stringify(await resolveDesktopUser('neko', silentLogger())));`;
    const { stdout } = await execFileP(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: ROOT,
      uid: 65534,
      gid: 65534,
      env: { PATH: process.env.PATH, HOME: '/tmp' },
      timeout: 60_000,
    });
    assert.equal(stdout.trim(), 'null');
  });
});
