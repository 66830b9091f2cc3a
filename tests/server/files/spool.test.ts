import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { after, before, describe, test } from 'node:test';
import { Folder } from '../../../server/src/files/folder.js';
import { UploadSpool, UploadTooLarge } from '../../../server/src/files/spool.js';

function write(w: Writable, chunk: Buffer): Promise<void> {
  return new Promise((resolve, reject) => w.write(chunk, (err) => (err ? reject(err) : resolve())));
}

describe('UploadSpool: capped parts, nothing left behind', () => {
  let base: string;
  let real: string;
  let target: string;
  const open = () => Folder.open(base, real);

  before(async () => {
    base = await mkdtemp(join(tmpdir(), 'neko-spool-'));
    real = await realpath(base);
    target = join(base, 'target');
    await mkdir(target);
  });
  after(async () => {
    await rm(base, { recursive: true, force: true });
  });

  test('a part is cut off as it passes the cap, and its partial file removed on close', async () => {
    const spool = new UploadSpool(await open(), { prefix: '.part-', maxFileBytes: 1000 });
    const file = {};
    const writer = spool.writer(file);
    writer.on('error', () => {});
    await write(writer, Buffer.alloc(600));
    assert.equal((await readdir(base)).filter((n) => n.startsWith('.part-')).length, 1, 'the partial file is on disk');
    await assert.rejects(write(writer, Buffer.alloc(600)), (err) => err instanceof UploadTooLarge && err.httpCode === 413);
    await spool.close();
    assert.deepEqual((await readdir(base)).sort(), ['target']);
  });

  test('files are listed in the order their parts began, whichever finished first', async () => {
    const spool = new UploadSpool(await open(), { prefix: '.part-', maxFileBytes: 1000 });
    const first = {};
    const second = {};
    spool.writer(first).end(Buffer.from('1'));
    spool.writer(second).end(Buffer.from('2'));
    assert.deepEqual(spool.inSentOrder([second, first]), [first, second]);
    await spool.close();
  });

  test('a moved part is kept, the others removed; parts begun after close create nothing', async () => {
    const spool = new UploadSpool(await open(), { prefix: '.part-', maxFileBytes: 1000 });
    const kept = {};
    const dropped = {};
    for (const [file, text] of [[kept, 'kept'], [dropped, 'dropped']] as const) {
      const writer = spool.writer(file);
      writer.end(Buffer.from(text));
      await finished(writer);
    }
    const targetFolder = await Folder.open(target, await realpath(target));
    await spool.file(kept).moveTo(targetFolder, 'kept.txt', false);
    await targetFolder.close();
    await spool.close();
    const late = spool.writer({});
    await assert.rejects(finished(late));
    assert.deepEqual((await readdir(base)).sort(), ['target']);
    assert.equal(await readFile(join(target, 'kept.txt'), 'utf8'), 'kept');
  });
});
