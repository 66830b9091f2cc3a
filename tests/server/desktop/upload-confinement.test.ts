import assert from 'node:assert/strict';
import { watch } from 'node:fs';
import { lstat, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { api, checkAgainstOpenapi } from '../../helpers/api.js';
// First: it loads the server, whose exit hook (killing X servers left running) must be
// registered before others.
import { becomeHost, startRoom, type Room } from './room-helpers.js';
import { multipartBody, stagedPost } from '../../helpers/staged-upload.js';
import { waitFor } from '../../helpers/x11.js';

const MAX_FILE = 64 * 1024;
const MAX_TOTAL = 96 * 1024;

describe('upload folder: links are never written through; caps cut uploads off', () => {
  let room: Room;
  let dir: string;
  let outside: string;

  before(async () => {
    room = await startRoom([
      '--desktop.file_chooser_dialog=true',
      '--desktop.audio=false',
      '--desktop.screen', '320x240@30',
      '--desktop.upload_max_files', '4',
      '--desktop.upload_max_file_size', String(MAX_FILE),
      '--desktop.upload_max_total_size', String(MAX_TOTAL),
    ]);
    dir = room.app.room.features.uploads.dir;
    outside = await mkdtemp(join(tmpdir(), 'neko-upload-outside-'));
    await becomeHost(room, 'user');
    // The folder comes with the first upload.
    await drop('first.txt', 'first').expect(204);
  });
  after(async () => {
    await room?.app.close();
    await rm(outside, { recursive: true, force: true });
  });

  const drop = (filename: string, data: string | Buffer) =>
    api(room.app.url, room.tokens.user).post('/api/room/upload/drop').field('x', '5').field('y', '5').attach('files', Buffer.from(data), { filename });
  const incoming = () => readdir(join(dir, '.incoming'));

  /** The biggest part being received right now. */
  async function partialBytes(): Promise<number> {
    const sizes = await Promise.all((await incoming()).map(async (n) => (await stat(join(dir, '.incoming', n)).catch(() => null))?.size ?? 0));
    return Math.max(0, ...sizes);
  }

  test('planted links are not written through: in place of the spool folder, under the dropped name', async () => {
    const seen: string[] = [];
    const watcher = watch(outside, (_event, name) => seen.push(String(name)));
    await rm(join(dir, '.incoming'), { recursive: true });
    await symlink(outside, join(dir, '.incoming'));
    try {
      const res = await drop('through.txt', 'evil');
      assert.equal(res.status, 500, `upload through the planted link: ${res.status}`);
      checkAgainstOpenapi('post', '/api/room/upload/drop', res);
    } finally {
      watcher.close();
      await unlink(join(dir, '.incoming'));
      await mkdir(join(dir, '.incoming'), { mode: 0o700 });
    }
    assert.deepEqual(await readdir(outside), [], 'nothing left outside');
    assert.deepEqual(seen, [], 'nothing was ever created outside');
    await drop('after.txt', 'fine').expect(204);
    assert.equal(await readFile(join(dir, 'after.txt'), 'utf8'), 'fine');

    // A link under the dropped name is neither replaced nor written through.
    await writeFile(join(outside, 'target.txt'), 'original');
    await symlink(join(outside, 'target.txt'), join(dir, 'notes.txt'));
    await drop('notes.txt', 'dropped').expect(204);
    assert.equal(await readFile(join(outside, 'target.txt'), 'utf8'), 'original');
    assert.ok((await lstat(join(dir, 'notes.txt'))).isSymbolicLink());
    assert.equal(await readFile(join(dir, 'notes (1).txt'), 'utf8'), 'dropped');
  });

  test('a file past desktop.upload_max_file_size: 413 once it passes, and the partial file removed', async () => {
    const placed = await readdir(dir);
    const { type, body } = multipartBody([
      { name: 'x', data: '1' },
      { name: 'y', data: '1' },
      { name: 'files', filename: 'big.bin', data: Buffer.alloc(MAX_FILE + 16 * 1024, 7) },
    ]);
    const res = await stagedPost(`${room.app.url}/api/room/upload/drop`, room.tokens.user, type, body, 32 * 1024, () =>
      waitFor('a partial file on disk', async () => (await partialBytes()) >= 16 * 1024),
    );
    assert.ok(res.sentAll, 'the cap was passed while receiving');
    assert.equal(res.status, 413, res.text);
    assert.deepEqual(JSON.parse(res.text), { code: 413, message: 'upload too large' });
    checkAgainstOpenapi('post', '/api/room/upload/drop', res as never);
    assert.deepEqual(await incoming(), [], 'the partial file is removed');
    assert.deepEqual(await readdir(dir), placed, 'nothing placed');
  });

  test('files past desktop.upload_max_total_size together: 413, nothing of the upload left', async () => {
    const placed = await readdir(dir);
    const half = Buffer.alloc(MAX_TOTAL / 2 + 1024, 1);
    const { type, body } = multipartBody([
      { name: 'files', filename: 'one.bin', data: half },
      { name: 'files', filename: 'two.bin', data: half },
    ]);
    const res = await stagedPost(`${room.app.url}/api/room/upload/dialog`, room.tokens.user, type, body, half.length + 512, () =>
      waitFor('the first file on disk', async () => (await partialBytes()) >= 16 * 1024),
    );
    assert.equal(res.status, 413, res.text);
    checkAgainstOpenapi('post', '/api/room/upload/dialog', res as never);
    assert.deepEqual(await incoming(), []);
    assert.deepEqual(await readdir(dir), placed);
  });

  test('more files than desktop.upload_max_files: 413; within every cap the drop lands', async () => {
    const placed = await readdir(dir);
    let many = api(room.app.url, room.tokens.user).post('/api/room/upload/drop').field('x', '1').field('y', '1');
    for (let i = 0; i < 5; i++) many = many.attach('files', Buffer.from(`f${i}`), { filename: `f${i}.txt` });
    await many.expect(413);
    assert.deepEqual(await readdir(dir), placed);
    assert.deepEqual(await incoming(), []);

    await drop('exact.bin', Buffer.alloc(MAX_FILE, 3)).expect(204);
    assert.equal((await stat(join(dir, 'exact.bin'))).size, MAX_FILE);
    assert.deepEqual(await incoming(), []);
  });
});
