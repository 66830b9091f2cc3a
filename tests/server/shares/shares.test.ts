import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { HttpError } from '../../../server/src/errors.js';
import { silentLogger } from '../../../server/src/log.js';
import { SessionManager } from '../../../server/src/sessions/manager.js';
import type { Settings } from '../../../server/src/sessions/types.js';
import { KEY_FILE } from '../../../server/src/shares/key.js';
import { shareProfile } from '../../../server/src/shares/profile.js';
import { SHARES_FILE, ShareService } from '../../../server/src/shares/shares.js';

const FIXTURES = new URL('./fixtures/', import.meta.url);
const KEY = await readFile(new URL('share-key.pem', FIXTURES), 'utf8');
const TOKENS = JSON.parse(await readFile(new URL('tokens.json', FIXTURES), 'utf8')) as Record<string, { token: string; message: string; why: string }>;

const SETTINGS: Settings = {
  private_mode: false,
  locked_logins: false,
  locked_controls: false,
  control_protection: false,
  implicit_hosting: false,
  inactive_cursors: false,
  merciful_reconnect: true,
  heartbeat_interval: 10,
  plugins: null,
};

function manager(): SessionManager {
  return new SessionManager({ logger: silentLogger(), apiToken: '', settings: SETTINGS });
}

async function refused(promise: Promise<unknown>, message: string): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof HttpError, String(err));
    assert.deepEqual(err.body(), { code: 401, message });
    return true;
  });
}

const dirs: string[] = [];
async function stateDir(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'neko-shares-'));
  dirs.push(dir);
  return dir;
}
after(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

describe('share tokens: byte-level fixtures of bad tokens', () => {
  for (const [name, fixture] of Object.entries(TOKENS)) {
    test(`${name} (${fixture.why}) → 401 "${fixture.message}"`, async () => {
      const shares = await ShareService.open({ key: KEY, dir: '', sessions: manager(), logger: silentLogger() });
      await refused(shares.redeem(fixture.token), fixture.message);
      await shares.close();
    });
  }

  test('an oversized token is refused before any parsing', async () => {
    const shares = await ShareService.open({ key: KEY, dir: '', sessions: manager(), logger: silentLogger() });
    await refused(shares.redeem(`${TOKENS.valid_unknown_jti!.token}${'A'.repeat(5000)}`), 'share token is malformed');
  });
});

describe('share service', () => {
  test('mints an EdDSA JWT with scope, name, uses, jti = id, iss, aud, nbf and exp', async () => {
    const shares = await ShareService.open({ key: KEY, dir: '', sessions: manager(), logger: silentLogger() });
    const now = Date.now();
    const { record, token } = await shares.create({ scope: 'control', name: 'guest', expiresIn: 600, uses: 3 }, now);
    assert.equal(decodeProtectedHeader(token).alg, 'EdDSA');
    const claims = decodeJwt(token);
    assert.equal(claims.jti, record.id);
    assert.equal(claims.scope, 'control');
    assert.equal(claims.name, 'guest');
    assert.equal(claims.uses, 3);
    assert.equal(claims.iss, 'neko-ts');
    assert.equal(claims.aud, 'neko-ts:share');
    assert.equal(claims.exp, Math.floor(now / 1000) + 600);
    assert.equal(record.expires_at, new Date((claims.exp as number) * 1000).toISOString());
  });

  test('uses are taken one by one, then the link has no uses left; multi-use names get a suffix', async () => {
    const shares = await ShareService.open({ key: KEY, dir: '', sessions: manager(), logger: silentLogger() });
    const { token } = await shares.create({ scope: 'view', name: 'class', expiresIn: 600, uses: 2 });
    const first = await shares.redeem(token);
    const second = await shares.redeem(token);
    assert.match(first.sessionName, /^class-[0-9a-f]{6}$/);
    assert.notEqual(first.sessionName, second.sessionName);
    assert.equal(second.record.uses_left, 0);
    await refused(shares.redeem(token), 'share link has no uses left');
  });

  test('concurrent redemptions of a single-use link: exactly one wins', async () => {
    const shares = await ShareService.open({ key: KEY, dir: '', sessions: manager(), logger: silentLogger() });
    const { token } = await shares.create({ scope: 'view', name: 'solo', expiresIn: 600, uses: 1 });
    const results = await Promise.allSettled(Array.from({ length: 8 }, () => shares.redeem(token)));
    const won = results.filter((r) => r.status === 'fulfilled');
    assert.equal(won.length, 1);
    assert.equal((won[0] as PromiseFulfilledResult<{ sessionName: string }>).value.sessionName, 'solo');
  });

  test('revoked, and expired by the clock, links are refused', async () => {
    const shares = await ShareService.open({ key: KEY, dir: '', sessions: manager(), logger: silentLogger() });
    const revoked = await shares.create({ scope: 'view', name: 'r', expiresIn: 600 });
    await shares.revoke(revoked.record.id, false);
    await refused(shares.redeem(revoked.token), 'share link was revoked');
    const now = Date.now();
    const short = await shares.create({ scope: 'view', name: 's', expiresIn: 60 }, now);
    await refused(shares.redeem(short.token, undefined, now + 61_000), 'share link has expired');
  });

  test('admit refuses a scope without taking a use', async () => {
    const shares = await ShareService.open({ key: KEY, dir: '', sessions: manager(), logger: silentLogger() });
    const { token } = await shares.create({ scope: 'view', name: 'v', expiresIn: 600, uses: 1 });
    await assert.rejects(shares.redeem(token, () => {
      throw new HttpError(403, 'logins are locked');
    }), /logins are locked/);
    assert.equal((await shares.redeem(token)).record.uses_left, 0);
  });

  test('profiles per scope', () => {
    const view = shareProfile('view', 'v');
    assert.deepEqual(
      [view.is_admin, view.can_login, view.can_connect, view.can_watch, view.can_host, view.can_access_clipboard, view.can_share_media],
      [false, true, true, true, false, false, false],
    );
    const control = shareProfile('control', 'c');
    assert.deepEqual([control.is_admin, control.can_watch, control.can_host, control.can_access_clipboard], [false, true, true, true]);
    assert.equal(shareProfile('admin', 'a').is_admin, true);
  });

  test('state folder: key generated once with mode 0600; uses and revocations survive a reopen', async () => {
    const dir = await stateDir();
    const sessions = manager();
    const first = await ShareService.open({ key: '', dir, sessions, logger: silentLogger() });
    const limited = await first.create({ scope: 'view', name: 'l', expiresIn: 600, uses: 2 });
    const revoked = await first.create({ scope: 'control', name: 'x', expiresIn: 600 });
    await first.redeem(limited.token);
    await first.revoke(revoked.record.id, false);
    await first.close();
    assert.equal((await stat(path.join(dir, KEY_FILE))).mode & 0o777, 0o600);
    assert.equal((await stat(path.join(dir, SHARES_FILE))).mode & 0o777, 0o600);
    const registry = await readFile(path.join(dir, SHARES_FILE), 'utf8');
    assert.ok(!registry.includes(limited.token) && !registry.includes(revoked.token), 'tokens are never stored');

    const second = await ShareService.open({ key: '', dir, sessions, logger: silentLogger() });
    await refused(second.redeem(revoked.token), 'share link was revoked');
    assert.equal((await second.redeem(limited.token)).record.uses_left, 0);
    await refused(second.redeem(limited.token), 'share link has no uses left');
    await second.close();
  });

  test('a registry that does not parse stops the start instead of forgetting revocations', async () => {
    const dir = await stateDir();
    await writeFile(path.join(dir, SHARES_FILE), '{"shares": [');
    await assert.rejects(ShareService.open({ key: KEY, dir, sessions: manager(), logger: silentLogger() }), /not valid JSON/);
  });

  test('revoke with disconnect deletes the sessions the link made; deleted sessions are forgotten', async () => {
    const sessions = manager();
    const shares = await ShareService.open({ key: KEY, dir: '', sessions, logger: silentLogger() });
    const { record, token } = await shares.create({ scope: 'view', name: 'd', expiresIn: 600 });
    const made = [];
    for (let i = 0; i < 2; i++) {
      const { sessionName } = await shares.redeem(token);
      const session = sessions.create(`share_${i}`, shareProfile('view', sessionName));
      await shares.attach(record.id, session.id);
      made.push(session);
    }
    sessions.delete(made[0]!);
    assert.deepEqual(shares.list()[0]!.sessions, ['share_1']);
    await shares.revoke(record.id, true);
    assert.equal(sessions.get('share_1'), undefined);
    await assert.rejects(shares.revoke('nope', false), /share not found/);
  });

  test('a configured key must be Ed25519', async () => {
    await assert.rejects(
      ShareService.open({ key: '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n', dir: '', sessions: manager(), logger: silentLogger() }),
      /not a PEM private key/,
    );
  });
});
