import assert from 'node:assert/strict';
import { randomBytes, scryptSync } from 'node:crypto';
import { describe, test } from 'node:test';
import { hashPassword, isScryptHash, sha256Base64, verifyPassword } from '../../../server/src/members/password.js';

const SCRYPT_FORMAT = /^scrypt\$16384\$8\$1\$[A-Za-z0-9+/]+=*\$[A-Za-z0-9+/]+=*$/;

describe('member passwords', () => {
  test('hashes are salted scrypt strings that verify only the right password', async () => {
    const a = await hashPassword('correct horse');
    const b = await hashPassword('correct horse');
    assert.match(a, SCRYPT_FORMAT);
    assert.notEqual(a, b, 'two hashes of one password differ by salt');
    assert.ok(!a.includes('correct horse'), 'the hash does not contain the password');
    assert.deepEqual(await verifyPassword('correct horse', a, 'sha256'), { ok: true, upgrade: false });
    assert.deepEqual(await verifyPassword('correct horsE', a, 'sha256'), { ok: false, upgrade: false });
    assert.deepEqual(await verifyPassword('', a, 'plain'), { ok: false, upgrade: false });
  });

  test('legacy neko forms verify and ask for an upgrade', async () => {
    assert.equal(sha256Base64('neko'), /* printf neko | openssl dgst -sha256 -binary | base64 */ 'AWUmMwqvJQVC5azJED2fZjqKW7ANG4YHobFwttk9ZAE=');
    assert.deepEqual(await verifyPassword('neko', sha256Base64('neko'), 'sha256'), { ok: true, upgrade: true });
    assert.deepEqual(await verifyPassword('nope', sha256Base64('neko'), 'sha256'), { ok: false, upgrade: false });
    assert.deepEqual(await verifyPassword('neko', 'neko', 'sha256'), { ok: false, upgrade: false }, 'with hashing on, a stored value is never a clear password');
    assert.deepEqual(await verifyPassword('neko', 'neko', 'plain'), { ok: true, upgrade: true });
    assert.deepEqual(await verifyPassword('neko', 'nekO', 'plain'), { ok: false, upgrade: false });
  });

  test('weaker scrypt parameters verify and ask for an upgrade', async () => {
    const salt = randomBytes(16);
    const key = scryptSync('pw', salt, 32, { N: 1024, r: 8, p: 1 });
    const weak = `scrypt$1024$8$1$${salt.toString('base64')}$${key.toString('base64')}`;
    assert.deepEqual(await verifyPassword('pw', weak, 'plain'), { ok: true, upgrade: true });
    assert.deepEqual(await verifyPassword('px', weak, 'plain'), { ok: false, upgrade: false });
  });

  test('malformed or hostile scrypt strings never match, even as clear text', async () => {
    const salt = randomBytes(16).toString('base64');
    const key = randomBytes(32).toString('base64');
    const bad = [
      'scrypt$',
      'scrypt$16384$8$1$$',
      `scrypt$16383$8$1$${salt}$${key}`,
      `scrypt$${1 << 24}$8$1$${salt}$${key}`,
      `scrypt$16384$999$1$${salt}$${key}`,
      `scrypt$16384$8$1$${salt}$${randomBytes(8).toString('base64')}`,
      `scrypt$16384$8$1$${salt}`,
    ];
    for (const stored of bad) {
      assert.ok(isScryptHash(stored), `${stored} is read as an scrypt string`);
      assert.deepEqual(await verifyPassword(stored, stored, 'plain'), { ok: false, upgrade: false }, stored);
    }
  });
});
