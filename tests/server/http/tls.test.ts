import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { App } from '../../../server/src/main.js';
import { checkAgainstOpenapi } from '../../helpers/api.js';
import { exec, startApp } from '../../helpers/app.js';

function get(url: string, ca: Buffer): Promise<{ status: number; headers: Record<string, unknown>; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ca }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('HTTPS when server.cert and server.key are set', () => {
  let app: App;
  let dir: string;
  let cert: Buffer;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'neko-tls-'));
    await exec('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
      '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
      '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
    ]);
    cert = await readFile(join(dir, 'cert.pem'));
    app = await startApp(['--capture.video.ids', 'main', '--server.cert', join(dir, 'cert.pem'), '--server.key', join(dir, 'key.pem')]);
  });
  after(async () => {
    await app?.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('the server speaks TLS and reports an https URL', async () => {
    assert.match(app.url, /^https:\/\//);
    const res = await get(`${app.url}/health`, cert);
    assert.equal(res.status, 200);
    checkAgainstOpenapi('get', '/health', { status: res.status, headers: res.headers, text: res.text } as never);
    assert.equal(JSON.parse(res.text).status, 'ok');
  });
});
