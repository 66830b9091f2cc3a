import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { decodeJwt } from 'jose';
import { HttpError } from '../../../server/src/errors.js';
import { silentLogger } from '../../../server/src/log.js';
import { SessionManager } from '../../../server/src/sessions/manager.js';
import type { Settings } from '../../../server/src/sessions/types.js';
import { lockedChange, parseLockedSettings } from '../../../server/src/shares/locked-settings.js';
import { shareProfile } from '../../../server/src/shares/profile.js';
import { SHARES_FILE, ShareService } from '../../../server/src/shares/shares.js';

const KEY = await readFile(new URL('./fixtures/share-key.pem', import.meta.url), 'utf8');

const SETTINGS: Settings = {
  private_mode: false,
  locked_logins: false,
  locked_controls: false,
  control_protection: false,
  implicit_hosting: false,
  inactive_cursors: false,
  merciful_reconnect: true,
  heartbeat_interval: 10,
  plugins: { 'chat.enabled': true },
};

function manager(): SessionManager {
  return new SessionManager({ logger: silentLogger(), apiToken: '', settings: SETTINGS });
}

const dirs: string[] = [];
after(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

function badRequest(message: RegExp) {
  return (err: unknown) => err instanceof HttpError && err.status === 400 && message.test(err.message);
}

describe('locked settings keys', () => {
  test('accepts Settings fields, plugins and plugins.<key>; deduplicates; refuses anything else', () => {
    assert.deepEqual(parseLockedSettings(['private_mode', 'heartbeat_interval', 'plugins', 'plugins.a.b', 'private_mode']), [
      'private_mode',
      'heartbeat_interval',
      'plugins',
      'plugins.a.b',
    ]);
    assert.deepEqual(parseLockedSettings([]), []);
    for (const bad of [null, 'private_mode', {}, [true], ['PRIVATE_MODE'], ['plugins.'], [`plugins.${'k'.repeat(129)}`], ['constructor']]) {
      assert.throws(() => parseLockedSettings(bad), badRequest(/locked_settings/), JSON.stringify(bad));
    }
    assert.throws(() => parseLockedSettings(Array.from({ length: 33 }, () => 'private_mode')), badRequest(/at most 32/));
  });

  test('a patch trips a lock only when it changes the locked value', () => {
    const locked = ['locked_controls', 'heartbeat_interval', 'plugins.chat.enabled'];
    assert.equal(lockedChange(locked, { locked_controls: true }, SETTINGS), 'locked_controls');
    assert.equal(lockedChange(locked, { locked_controls: false, heartbeat_interval: 10 }, SETTINGS), null);
    assert.equal(lockedChange(locked, { heartbeat_interval: 11 }, SETTINGS), 'heartbeat_interval');
    assert.equal(lockedChange(locked, { private_mode: true, plugins: { other: 1 } }, SETTINGS), null);
    assert.equal(lockedChange(locked, { plugins: { 'chat.enabled': true } }, SETTINGS), null);
    assert.equal(lockedChange(locked, { plugins: { 'chat.enabled': false } }, SETTINGS), 'plugins.chat.enabled');
    assert.equal(lockedChange(locked, { plugins: null }, SETTINGS), 'plugins.chat.enabled');
    assert.equal(lockedChange(['plugins'], { plugins: { other: 1 } }, SETTINGS), 'plugins');
    assert.equal(lockedChange(['plugins'], { plugins: { 'chat.enabled': true } }, SETTINGS), null);
    assert.equal(lockedChange(['plugins'], { plugins: null }, { ...SETTINGS, plugins: null }), null);
    assert.equal(lockedChange([], { private_mode: true }, SETTINGS), null);
  });
});

describe('share links with locked settings', () => {
  test('the list is a signed claim, comes back on redemption and binds the sessions the link made', async () => {
    const sessions = manager();
    const shares = await ShareService.open({ key: KEY, dir: '', sessions, logger: silentLogger() });
    const { record, token } = await shares.create({ scope: 'admin', name: 'cohost', expiresIn: 600, lockedSettings: ['private_mode', 'plugins'] });
    assert.deepEqual(decodeJwt(token).locked_settings, ['private_mode', 'plugins']);
    assert.deepEqual(record.locked_settings, ['private_mode', 'plugins']);
    const redeemed = await shares.redeem(token);
    assert.deepEqual(redeemed.record.locked_settings, ['private_mode', 'plugins']);
    const session = sessions.create('share_cohost', shareProfile('admin', redeemed.sessionName));
    await shares.attach(record.id, session.id);
    assert.deepEqual(shares.lockedSettings(session.id), ['private_mode', 'plugins']);
    assert.deepEqual(shares.lockedSettings('someone-else'), []);

    const open = await shares.create({ scope: 'admin', name: 'free', expiresIn: 600 });
    assert.equal('locked_settings' in decodeJwt(open.token), false);
    assert.equal('locked_settings' in open.record, false);
  });

  test('the list survives a reopen; a registry whose list was edited no longer honours the token', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'neko-locked-'));
    dirs.push(dir);
    const sessions = manager();
    const first = await ShareService.open({ key: KEY, dir, sessions, logger: silentLogger() });
    const kept = await first.create({ scope: 'admin', name: 'kept', expiresIn: 600, lockedSettings: ['locked_logins'] });
    const edited = await first.create({ scope: 'admin', name: 'edited', expiresIn: 600, lockedSettings: ['locked_logins'] });
    const made = sessions.create('share_kept', shareProfile('admin', 'kept'));
    await first.attach(kept.record.id, made.id);
    await first.close();

    const file = path.join(dir, SHARES_FILE);
    const registry = JSON.parse(await readFile(file, 'utf8')) as { shares: Array<Record<string, unknown>> };
    for (const entry of registry.shares) if (entry.id === edited.record.id) delete entry.locked_settings;
    await writeFile(file, JSON.stringify(registry));

    const second = await ShareService.open({ key: KEY, dir, sessions, logger: silentLogger() });
    assert.deepEqual(second.list().find((r) => r.id === kept.record.id)?.locked_settings, ['locked_logins']);
    assert.deepEqual(second.lockedSettings(made.id), ['locked_logins']);
    assert.deepEqual((await second.redeem(kept.token)).record.locked_settings, ['locked_logins']);
    await assert.rejects(second.redeem(edited.token), (err: unknown) => {
      assert.ok(err instanceof HttpError);
      assert.deepEqual(err.body(), { code: 401, message: 'share token is malformed' });
      return true;
    });
    await second.close();
  });
});
