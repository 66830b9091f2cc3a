/**
 * The open-in-app plugin's children: run as the desktop user, ended by close() (a command
 * that ignores SIGTERM too), and none started after close().
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, describe, it } from 'node:test';
import { loadConfig } from '../../../server/src/config/index.js';
import { HttpError } from '../../../server/src/errors.js';
import { silentLogger } from '../../../server/src/log.js';
import { fullProfile } from '../../../server/src/members/types.js';
import { OpenInAppPlugin } from '../../../server/src/plugins/openinapp.js';
import { resolveDesktopUser } from '../../../server/src/process/desktop-user.js';
import { SessionManager } from '../../../server/src/sessions/manager.js';
import { initialSettings } from '../../../server/src/sessions/settings.js';

const logger = silentLogger();

/** Running processes whose command line contains `marker`, with their real uid. */
function withMarker(marker: string): Array<{ pid: number; uid: number }> {
  const out: Array<{ pid: number; uid: number }> = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (!readFileSync(`/proc/${entry}/cmdline`, 'latin1').includes(marker)) continue;
      const status = readFileSync(`/proc/${entry}/status`, 'latin1');
      if (/^State:\s+Z/m.test(status)) continue;
      out.push({ pid: Number(entry), uid: Number(/^Uid:\s+(\d+)/m.exec(status)![1]) });
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

async function until<T>(what: string, probe: () => T | null, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

describe('open-in-app children', () => {
  const dir = mkdtempSync(join(tmpdir(), 'neko-openinapp-'));
  chmodSync(dir, 0o755);
  // Ignores SIGTERM, as a hung browser might: close() has to escalate.
  const opener = join(dir, 'stubborn-opener.sh');
  writeFileSync(opener, "#!/bin/sh\ntrap '' TERM\nwhile :; do sleep 0.05; done\n", { mode: 0o755 });
  const sessions = new SessionManager({ logger, apiToken: '', settings: initialSettings(loadConfig([], {}).session) });
  const by = sessions.create('tester', fullProfile('tester'));
  const plugins: OpenInAppPlugin[] = [];

  after(async () => {
    await Promise.all(plugins.map((p) => p.close(0)));
    await sessions.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs the command as the desktop user and ends it on close, SIGTERM or not', async () => {
    const user = await resolveDesktopUser('neko', logger);
    const plugin = new OpenInAppPlugin({ enabled: true, command: opener, display: ':0', sessions, logger, runAs: user });
    plugins.push(plugin);
    plugin.open('http://example.invalid/first', by);
    const [child] = await until('the open command running', () => {
      const found = withMarker('stubborn-opener');
      return found.length ? found : null;
    });
    assert.equal(child!.uid, user?.uid ?? process.getuid?.(), 'runs as the desktop user');
    assert.notEqual(child!.uid, 0);

    await plugin.close(300);
    assert.deepEqual(withMarker('stubborn-opener'), [], 'nothing of it left after close()');
  });

  it('starts nothing once closed', async () => {
    const plugin = new OpenInAppPlugin({ enabled: true, command: opener, display: ':0', sessions, logger });
    plugins.push(plugin);
    await plugin.close();
    assert.throws(
      () => plugin.open('http://example.invalid/late', by),
      (err: unknown) => err instanceof HttpError && err.status === 503,
    );
    // spawn() forks before it returns: a command it started would be running by now.
    assert.deepEqual(withMarker('stubborn-opener'), []);
  });
});
