import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { link, lstat, mkdir, mkdtemp, readdir, readFile, realpath, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { Folder, FolderMoved, NotAPlainFile } from '../../../server/src/files/folder.js';

describe('Folder: nothing reached through a link out of it', () => {
  let base: string;
  let dir: string;
  let real: string;
  let outside: string;

  before(async () => {
    base = await mkdtemp(join(tmpdir(), 'neko-folder-'));
    dir = join(base, 'folder');
    outside = join(base, 'outside');
    await mkdir(dir);
    await mkdir(outside);
    real = await realpath(dir);
    await writeFile(join(dir, 'plain.txt'), 'plain');
    await writeFile(join(outside, 'secret.txt'), 'secret');
    await symlink(join(outside, 'secret.txt'), join(dir, 'link.txt'));
    await link(join(outside, 'secret.txt'), join(dir, 'hard.txt'));
    await mkdir(join(dir, 'sub'));
    await promisify(execFile)('mkfifo', [join(dir, 'fifo')]);
  });
  after(async () => {
    await rm(base, { recursive: true, force: true });
  });

  test('open() refuses a path that no longer leads to the folder', async () => {
    await assert.rejects(Folder.open(join(base, 'missing'), real), FolderMoved);
    await rename(dir, `${dir}.moved`);
    await symlink(outside, dir);
    try {
      await assert.rejects(Folder.open(dir, real), FolderMoved);
    } finally {
      await rm(dir);
      await rename(`${dir}.moved`, dir);
    }
  });

  test('an opened folder stays itself when its path is swapped for a link afterwards', async () => {
    const folder = await Folder.open(dir, real);
    await rename(dir, `${dir}.moved`);
    await symlink(outside, dir);
    try {
      await (await folder.create('late.txt')).close();
      assert.deepEqual(await readdir(outside), ['secret.txt'], 'nothing created outside');
      assert.ok((await lstat(join(`${dir}.moved`, 'late.txt'))).isFile());
      await folder.unlink('late.txt');
    } finally {
      await folder.close();
      await rm(dir);
      await rename(`${dir}.moved`, dir);
    }
  });

  test('openFile() reads plain files only: no symbolic or hard link, FIFO or folder', async () => {
    const folder = await Folder.open(dir, real);
    try {
      const { handle, stats } = await folder.openFile('plain.txt');
      assert.equal(stats.size, 5);
      assert.equal((await handle.readFile()).toString(), 'plain');
      await handle.close();
      for (const name of ['link.txt', 'hard.txt', 'fifo', 'sub']) await assert.rejects(folder.openFile(name), NotAPlainFile, name);
      await assert.rejects(folder.openFile('missing'), { code: 'ENOENT' });
    } finally {
      await folder.close();
    }
  });

  test('create() never follows nor replaces; unlink() and rename() act on the link itself', async () => {
    const folder = await Folder.open(dir, real);
    try {
      await assert.rejects(folder.create('link.txt'), { code: 'EEXIST' });
      await symlink(join(outside, 'secret.txt'), join(dir, 'doomed.txt'));
      await folder.unlink('doomed.txt');
      await (await folder.create('new.txt')).close();
      await symlink(join(outside, 'secret.txt'), join(dir, 'replaced.txt'));
      await folder.rename('new.txt', folder, 'replaced.txt');
      assert.ok((await lstat(join(dir, 'replaced.txt'))).isFile());
      assert.equal(await readFile(join(outside, 'secret.txt'), 'utf8'), 'secret');
      await folder.unlink('replaced.txt');
    } finally {
      await folder.close();
    }
  });

  test('names are single entries', async () => {
    const folder = await Folder.open(dir, real);
    try {
      for (const name of ['', '.', '..', '../outside', 'sub/plain.txt', 'a\0b']) {
        await assert.rejects(folder.openFile(name), /not a folder entry name/, JSON.stringify(name));
      }
      await symlink(outside, join(dir, 'linkdir'));
      await assert.rejects(folder.openDir('linkdir'), { code: 'ENOTDIR' });
      await (await folder.openDir('sub')).close();
    } finally {
      await folder.close();
    }
  });
});
