import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Context, Middleware } from 'koa';
import { HttpError } from '../../../server/src/errors.js';
import { requireCanAccessClipboard, requireCanHost, requireCanWatch, requireHost, requireHostOrAdmin } from '../../../server/src/api/guards.js';
import { silentLogger } from '../../../server/src/log.js';
import { loadConfig } from '../../../server/src/config/index.js';
import { fullProfile, type MemberProfile } from '../../../server/src/members/types.js';
import { SessionManager } from '../../../server/src/sessions/manager.js';
import { initialSettings } from '../../../server/src/sessions/settings.js';
import type { Session } from '../../../server/src/sessions/session.js';

function manager(): SessionManager {
  return new SessionManager({
    apiToken: '',
    logger: silentLogger(),
    settings: initialSettings(loadConfig([], {}).session),
  });
}

/** Runs a guard for `session`: null when it let the request through, else the error body. */
async function run(guard: Middleware, session: Session): Promise<{ code: number; message: string } | null> {
  const ctx = { state: { session } } as unknown as Context;
  let passed = false;
  try {
    await guard(ctx, async () => {
      passed = true;
    });
  } catch (err) {
    assert.ok(err instanceof HttpError, `guards throw HttpError, got ${String(err)}`);
    return err.body();
  }
  assert.ok(passed, 'a guard that does not throw calls next');
  return null;
}

describe('REST guards (contract §3 guard texts)', () => {
  const sessions = manager();
  const make = (id: string, patch: Partial<MemberProfile> = {}) =>
    sessions.create(id, { ...fullProfile(id), is_admin: false, ...patch });
  const user = make('user');
  const admin = make('admin', { is_admin: true });
  const limited = make('limited', { can_watch: false, can_host: false, can_access_clipboard: false });
  const limitedAdmin = make('limited-admin', { is_admin: true, can_host: false });

  test('can_watch and can_access_clipboard read the profile only', async () => {
    assert.equal(await run(requireCanWatch, user), null);
    assert.deepEqual(await run(requireCanWatch, limited), { code: 403, message: 'session cannot watch' });
    assert.equal(await run(requireCanAccessClipboard, user), null);
    assert.deepEqual(await run(requireCanAccessClipboard, limited), { code: 403, message: 'session cannot access clipboard' });
  });

  test('can_host: 403 first, then 422 for non-admins in private mode', async () => {
    const guard = requireCanHost(sessions);
    assert.equal(await run(guard, user), null);
    assert.deepEqual(await run(guard, limited), { code: 403, message: 'session cannot host' });
    sessions.updateSettings({ ...sessions.settings, private_mode: true }, null);
    assert.deepEqual(await run(guard, user), { code: 422, message: 'private mode is enabled' });
    assert.deepEqual(await run(guard, limited), { code: 403, message: 'session cannot host' });
    assert.deepEqual(await run(guard, limitedAdmin), { code: 403, message: 'session cannot host' }, 'admins still need can_host');
    assert.equal(await run(guard, admin), null);
    sessions.updateSettings({ ...sessions.settings, private_mode: false }, null);
  });

  test('host and host-or-admin follow the current host', async () => {
    const host = requireHost(sessions);
    const hostOrAdmin = requireHostOrAdmin(sessions);
    assert.deepEqual(await run(host, user), { code: 403, message: 'session is not host' });
    assert.deepEqual(await run(host, admin), { code: 403, message: 'session is not host' }, 'admin is not host');
    assert.deepEqual(await run(hostOrAdmin, user), { code: 403, message: 'session is not host or admin' });
    assert.equal(await run(hostOrAdmin, admin), null);
    sessions.setHost(user, user);
    assert.equal(await run(host, user), null);
    assert.equal(await run(hostOrAdmin, user), null);
  });
});
