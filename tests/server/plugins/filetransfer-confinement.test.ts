import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { link, lstat, mkdir, mkdtemp, readdir, readFile, rename, rm, stat, symlink, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import type { App } from '../../../server/src/main.js';
import { api, checkAgainstOpenapi } from '../../helpers/api.js';
import { startApp } from '../../helpers/app.js';
import { multipartBody, stagedPost } from '../../helpers/staged-upload.js';
import { SocketClient } from '../../helpers/viewer.js';
import { waitFor } from '../../helpers/x11.js';

type Listing = { files: Array<{ name: string; type: string; size?: number }> | null };

async function admin(url: string): Promise<string> {
  return (await api(url).post('/api/login').send({ username: 'root', password: 'admin' }).expect(200)).body.token as string;
}

/** The listing the server offers right now (a client-requested rescan). */
async function listing(url: string, token: string): Promise<Listing['files']> {
  const ws = await SocketClient.open(url, token);
  try {
    await ws.waitFor('filetransfer/update');
    const seen = ws.events.filter((e) => e.event === 'filetransfer/update').length;
    ws.send('filetransfer/update');
    await waitFor('a fresh listing', () => ws.events.filter((e) => e.event === 'filetransfer/update').length > seen);
    return (ws.events.filter((e) => e.event === 'filetransfer/update').at(-1)!.payload as Listing).files;
  } finally {
    ws.close();
  }
}

function download(url: string, token: string, name: string) {
  return api(url, token)
    .get(`/api/filetransfer?filename=${encodeURIComponent(name)}`)
    .buffer(true)
    .parse((r, cb) => {
      const chunks: Buffer[] = [];
      r.on('data', (c: Buffer) => chunks.push(c));
      r.on('end', () => cb(null, Buffer.concat(chunks)));
    });
}

/** Swaps the transfer folder for a link to `target` while `body` runs, then puts it back. */
async function withFolderSwappedFor(dir: string, target: string, body: () => Promise<void>): Promise<void> {
  await rename(dir, `${dir}.real`);
  await symlink(target, dir);
  try {
    await body();
  } finally {
    await unlink(dir);
    await rename(`${dir}.real`, dir);
  }
}

describe('file transfer: nothing is reached through a link out of the folder', () => {
  let app: App;
  let base: string;
  let dir: string;
  let outside: string;
  let token: string;

  before(async () => {
    // The outside files share the folder's file system, so hard links to them can be made.
    base = await mkdtemp(path.join(tmpdir(), 'neko-ft-links-'));
    dir = path.join(base, 'transfer');
    outside = path.join(base, 'outside');
    await mkdir(path.join(dir, 'sub'), { recursive: true });
    await mkdir(outside);
    await writeFile(path.join(dir, 'plain.txt'), 'plain');
    await writeFile(path.join(outside, 'secret.txt'), 'outside secret');
    await writeFile(path.join(outside, 'victim.txt'), 'victim');
    await symlink('/etc/passwd', path.join(dir, 'passwd'));
    await symlink(path.join(outside, 'victim.txt'), path.join(dir, 'victim-link.txt'));
    await link(path.join(outside, 'secret.txt'), path.join(dir, 'hard.txt'));
    await symlink(outside, path.join(dir, 'linkdir'));
    await promisify(execFile)('mkfifo', [path.join(dir, 'fifo')]);
    app = await startApp(['--filetransfer.enabled', '--filetransfer.dir', dir]);
    token = await admin(app.url);
  });
  after(async () => {
    await app?.close();
    await rm(base, { recursive: true, force: true });
  });

  test('a symbolic link to /etc/passwd is neither served nor listed', async () => {
    const res = await api(app.url, token).get('/api/filetransfer?filename=passwd');
    assert.equal(res.status, 404, `served ${res.status}`);
    assert.deepEqual(res.body, { code: 404, message: 'file not found' });
    checkAgainstOpenapi('get', '/api/filetransfer', res);
    const names = (await listing(app.url, token))!.map((f) => f.name);
    assert.ok(!names.includes('passwd'), `listed: ${names.join(',')}`);
    assert.deepEqual((await download(app.url, token, 'plain.txt').expect(200)).body.toString(), 'plain');
  });

  test('a hard link to a file outside is neither served nor listed', async () => {
    const res = await api(app.url, token).get('/api/filetransfer?filename=hard.txt');
    assert.equal(res.status, 404, `served ${res.status}`);
    const names = (await listing(app.url, token))!.map((f) => f.name);
    assert.ok(!names.includes('hard.txt'), `listed: ${names.join(',')}`);
  });

  test('the listing offers plain files and real folders only: no links, no FIFO', async () => {
    const files = await listing(app.url, token);
    assert.deepEqual(files, [
      { name: 'plain.txt', type: 'file', size: 5 },
      { name: 'sub', type: 'dir' },
    ]);
    // A FIFO is refused at once instead of holding the request until someone writes to it.
    await api(app.url, token).get('/api/filetransfer?filename=fifo').expect(404);
  });

  test('a symbolic link to a folder outside is not offered, and the folder itself swapped for a link leads nowhere', async () => {
    const files = await listing(app.url, token);
    assert.ok(!files!.some((f) => f.name === 'linkdir'), 'linked folder listed');
    await api(app.url, token).get('/api/filetransfer?filename=linkdir%2Fsecret.txt').expect(404);

    await withFolderSwappedFor(dir, outside, async () => {
      const res = await api(app.url, token).get('/api/filetransfer?filename=secret.txt');
      assert.equal(res.status, 404, `served through the swapped folder: ${res.status}`);
      const seen = await listing(app.url, token);
      assert.ok(!seen!.some((f) => f.name === 'secret.txt'), `outside folder listed: ${JSON.stringify(seen)}`);
    });
  });

  test('delete never removes through a link', async () => {
    const res = await api(app.url, token).delete('/api/filetransfer?filename=victim-link.txt');
    assert.equal(res.status, 404, 'a link is not a file the listing offers');
    assert.ok((await lstat(path.join(dir, 'victim-link.txt'))).isSymbolicLink(), 'the link is still there');
    await api(app.url, token).delete('/api/filetransfer?filename=hard.txt').expect(404);
    assert.equal((await stat(path.join(dir, 'hard.txt'))).nlink, 2, 'the hard link is still there');

    await withFolderSwappedFor(dir, outside, async () => {
      const swapped = await api(app.url, token).delete('/api/filetransfer?filename=victim.txt');
      assert.equal(swapped.status, 404, 'deleted through the swapped folder');
    });
    assert.equal(await readFile(path.join(outside, 'victim.txt'), 'utf8'), 'victim');
    assert.equal(await readFile(path.join(outside, 'secret.txt'), 'utf8'), 'outside secret');
  });

  test('an upload never writes through a planted link', async () => {
    // Onto a link of the same name: the link is replaced, its target untouched.
    await api(app.url, token).post('/api/filetransfer').attach('files', Buffer.from('uploaded'), 'victim-link.txt').expect(200);
    assert.equal(await readFile(path.join(outside, 'victim.txt'), 'utf8'), 'victim');
    const placed = await lstat(path.join(dir, 'victim-link.txt'));
    assert.ok(placed.isFile() && !placed.isSymbolicLink());
    assert.equal(await readFile(path.join(dir, 'victim-link.txt'), 'utf8'), 'uploaded');

    // Into the folder swapped for a link: refused, nothing lands outside.
    const before = (await readdir(outside)).sort();
    await withFolderSwappedFor(dir, outside, async () => {
      const res = await api(app.url, token).post('/api/filetransfer').attach('files', Buffer.from('evil'), 'dropped.txt');
      assert.equal(res.status, 500, `upload through the swapped folder: ${res.status}`);
      checkAgainstOpenapi('post', '/api/filetransfer', res);
    });
    assert.deepEqual((await readdir(outside)).sort(), before, 'nothing written outside');
  });
});

describe('file transfer: upload caps', () => {
  const MAX_FILE = 64 * 1024;
  const MAX_TOTAL = 96 * 1024;
  let app: App;
  let base: string;
  let dir: string;
  let token: string;

  before(async () => {
    base = await mkdtemp(path.join(tmpdir(), 'neko-ft-caps-'));
    dir = path.join(base, 'transfer');
    await mkdir(dir);
    app = await startApp([
      '--filetransfer.enabled',
      '--filetransfer.dir', dir,
      '--filetransfer.upload_max_files', '3',
      '--filetransfer.upload_max_file_size', String(MAX_FILE),
      '--filetransfer.upload_max_total_size', String(MAX_TOTAL),
    ]);
    token = await admin(app.url);
  });
  after(async () => {
    await app?.close();
    await rm(base, { recursive: true, force: true });
  });

  const temporary = async () => (await readdir(dir)).filter((n) => n.startsWith('.neko-upload-'));

  /** The biggest temporary file of an upload in progress. */
  async function partialBytes(): Promise<number> {
    const sizes = await Promise.all((await temporary()).map(async (n) => (await stat(path.join(dir, n)).catch(() => null))?.size ?? 0));
    return Math.max(0, ...sizes);
  }

  test('a file past upload_max_file_size: 413 once it passes, and the partial file removed', async () => {
    const { type, body } = multipartBody([{ name: 'files', filename: 'big.bin', data: Buffer.alloc(MAX_FILE + 16 * 1024, 7) }]);
    // The first 32 KiB arrive and are written; the rest takes the file past the cap.
    const res = await stagedPost(`${app.url}/api/filetransfer`, token, type, body, 32 * 1024, () =>
      waitFor('a partial file on disk', async () => (await partialBytes()) >= 16 * 1024),
    );
    assert.ok(res.sentAll, 'the cap was passed while receiving');
    assert.equal(res.status, 413, res.text);
    assert.deepEqual(JSON.parse(res.text), { code: 413, message: 'upload too large' });
    checkAgainstOpenapi('post', '/api/filetransfer', res as never);
    assert.deepEqual(await readdir(dir), [], 'neither the file nor a temporary one is left');
  });

  test('files past upload_max_total_size together: 413, nothing of the upload left', async () => {
    const half = Buffer.alloc(MAX_TOTAL / 2 + 1024, 1);
    const { type, body } = multipartBody([
      { name: 'files', filename: 'one.bin', data: half },
      { name: 'files', filename: 'two.bin', data: half },
    ]);
    const res = await stagedPost(`${app.url}/api/filetransfer`, token, type, body, half.length + 512, () =>
      waitFor('the first file on disk', async () => (await partialBytes()) >= 16 * 1024),
    );
    assert.equal(res.status, 413, res.text);
    assert.deepEqual(await readdir(dir), []);
  });

  test('more files than upload_max_files: 413; within every cap the upload is stored', async () => {
    let many = api(app.url, token).post('/api/filetransfer');
    for (let i = 0; i < 4; i++) many = many.attach('files', Buffer.from(`f${i}`), `f${i}.txt`);
    await many.expect(413);
    assert.deepEqual(await readdir(dir), []);

    await api(app.url, token)
      .post('/api/filetransfer')
      .attach('files', Buffer.alloc(MAX_FILE, 2), 'exact.bin')
      .attach('files', Buffer.from('small'), 'small.txt')
      .expect(200);
    assert.deepEqual((await readdir(dir)).sort(), ['exact.bin', 'small.txt']);
    assert.equal((await stat(path.join(dir, 'exact.bin'))).size, MAX_FILE);
  });
});
