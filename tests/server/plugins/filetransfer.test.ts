import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { App } from '../../../server/src/main.js';
import { api } from '../../helpers/api.js';
import { startApp } from '../../helpers/app.js';
import { SocketClient } from '../../helpers/viewer.js';
import { waitFor } from '../../helpers/x11.js';

interface Member {
  id: string;
  token: string;
  ws: SocketClient;
}

async function join(url: string, username: string, password: string): Promise<Member> {
  const res = await api(url).post('/api/login').send({ username, password }).expect(200);
  const ws = await SocketClient.open(url, res.body.token);
  await ws.waitFor('system/init');
  return { id: res.body.id, token: res.body.token, ws };
}

/** A multipart body built by hand: client libraries clean file names, hostile clients do not. */
function rawUpload(filename: string, content: string): { type: string; body: Buffer } {
  const boundary = 'neko-test-boundary';
  const body = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="files"; filename="${filename}"\r\n` +
      `Content-Type: application/octet-stream\r\n\r\n${content}\r\n--${boundary}--\r\n`,
  );
  return { type: `multipart/form-data; boundary=${boundary}`, body };
}

type Update = { enabled: boolean; files: Array<{ name: string; type: string; size?: number }> | null };

function lastUpdate(m: Member): Update {
  const all = m.ws.events.filter((e) => e.event === 'filetransfer/update');
  return all.at(-1)!.payload as Update;
}

function hasFile(name: string, size?: number) {
  return (p: Update) => !!p.files?.some((f) => f.name === name && (size === undefined || f.size === size));
}

describe('file transfer plugin: listing, upload, download, delete, permissions', () => {
  let app: App;
  let base: string;
  let dir: string;
  let ann: Member; // user
  let bob: Member; // user
  let root: Member; // admin
  let openedLog: string;

  before(async () => {
    base = await mkdtemp(path.join(tmpdir(), 'neko-ft-'));
    dir = path.join(base, 'transfer');
    await mkdir(path.join(dir, 'sub'), { recursive: true });
    await writeFile(path.join(dir, 'seed.txt'), 'seed');
    openedLog = path.join(base, 'opened.log');
    const opener = path.join(base, 'open.sh');
    await writeFile(opener, `#!/bin/sh\necho "$1" >> '${openedLog}'\n`);
    await chmod(opener, 0o755);
    // The open command runs as the unprivileged desktop user, who must be able to write its log.
    await chmod(base, 0o777);
    app = await startApp([
      '--filetransfer.enabled',
      '--filetransfer.dir', dir,
      '--filetransfer.user_download',
      '--filetransfer.user_upload',
      '--openinapp.enabled',
      '--openinapp.open_command', opener,
    ]);
    ann = await join(app.url, 'ann', 'neko');
    bob = await join(app.url, 'bob', 'neko');
    root = await join(app.url, 'root', 'admin');
  });
  after(async () => {
    for (const m of [ann, bob, root]) m?.ws.close();
    await app?.close();
    await rm(base, { recursive: true, force: true });
  });

  test('the listing is sent on connect', async () => {
    const update = (await ann.ws.waitFor('filetransfer/update')).payload;
    assert.deepEqual(update, {
      enabled: true,
      root_dir: dir,
      user_download: true,
      user_upload: true,
      user_delete: false,
      files: [
        { name: 'seed.txt', type: 'file', size: 4 },
        { name: 'sub', type: 'dir' },
      ],
    });
  });

  test('a file uploaded by one member is listed for all and downloadable by another', async () => {
    const content = Buffer.from('hello from ann\n');
    await api(app.url, ann.token)
      .post('/api/filetransfer')
      .attach('files', content, 'hello.txt')
      .attach('files', Buffer.alloc(0), 'empty.bin')
      .expect(200);
    for (const m of [ann, bob, root]) await m.ws.waitFor('filetransfer/update', hasFile('hello.txt', content.length));
    assert.ok(hasFile('empty.bin', 0)(lastUpdate(bob)), 'empty files are accepted');

    const res = await api(app.url, bob.token)
      .get('/api/filetransfer?filename=hello.txt')
      .buffer(true)
      .parse((r, cb) => {
        const chunks: Buffer[] = [];
        r.on('data', (c: Buffer) => chunks.push(c));
        r.on('end', () => cb(null, Buffer.concat(chunks)));
      })
      .expect(200);
    assert.deepEqual(res.body, content);
    assert.match(String(res.headers['content-disposition']), /attachment; filename="hello.txt"/);

    const part = await api(app.url, bob.token)
      .get('/api/filetransfer?filename=hello.txt')
      .set('Range', 'bytes=6-9')
      .buffer(true)
      .parse((r, cb) => {
        const chunks: Buffer[] = [];
        r.on('data', (c: Buffer) => chunks.push(c));
        r.on('end', () => cb(null, Buffer.concat(chunks)));
      })
      .expect(206);
    assert.equal(part.body.toString(), 'from');
    assert.equal(part.headers['content-range'], `bytes 6-9/${content.length}`);
    const beyond = await api(app.url, bob.token).get('/api/filetransfer?filename=hello.txt').set('Range', 'bytes=999-').expect(416);
    assert.equal(beyond.headers['content-range'], `bytes */${content.length}`);

    // Overwrite keeps one entry with the new size.
    await api(app.url, ann.token).post('/api/filetransfer').attach('files', Buffer.from('v2'), 'hello.txt').expect(200);
    await bob.ws.waitFor('filetransfer/update', hasFile('hello.txt', 2));
  });

  test('names that leave the folder are refused and nothing is written outside it', async () => {
    for (const name of ['../seed.txt', '..', 'sub/..', '', '../../etc/passwd', 'a\0b']) {
      const res = await api(app.url, ann.token).get(`/api/filetransfer?filename=${encodeURIComponent(name)}`).expect(400);
      assert.deepEqual(res.body, { code: 400, message: 'bad filename' });
    }
    await api(app.url, ann.token).get('/api/filetransfer?filename=missing.txt').expect(404);
    await api(app.url, ann.token).get('/api/filetransfer?filename=sub').expect(404);

    for (const name of ['../evil.txt', '..', '../../evil.txt', 'sub/../../evil.txt', '']) {
      const { type, body } = rawUpload(name, 'evil');
      const res = await api(app.url, ann.token).post('/api/filetransfer').set('content-type', type).send(body).expect(400);
      assert.equal(res.body.code, 400);
    }
    await api(app.url, ann.token).post('/api/filetransfer').send({ files: 'nope' }).expect(400);
    const outside = await readdir(base);
    assert.deepEqual(outside.sort(), ['open.sh', 'transfer'], 'nothing landed next to the folder');
    const inside = await readdir(dir);
    assert.ok(!inside.some((n) => n.startsWith('.neko-upload-')), `no temporary files left: ${inside.join(',')}`);
  });

  test('delete: non-admins need user_delete; admins may; a missing file is 404', async () => {
    const denied = await api(app.url, ann.token).delete('/api/filetransfer?filename=seed.txt').expect(403);
    assert.deepEqual(denied.body, { code: 403, message: 'file delete is not allowed for non-admin users' });
    await api(app.url, root.token).delete('/api/filetransfer?filename=seed.txt').expect(200);
    await ann.ws.waitFor('filetransfer/update', (p: Update) => !hasFile('seed.txt')(p));
    const missing = await api(app.url, root.token).delete('/api/filetransfer?filename=seed.txt').expect(404);
    assert.deepEqual(missing.body, { code: 404, message: 'file not found' });
    await api(app.url, root.token).delete('/api/filetransfer?filename=..%2Fx').expect(400);
  });

  test('changes made on the desktop side are noticed and broadcast', async () => {
    await writeFile(path.join(dir, 'from-desktop.txt'), 'abc');
    for (const m of [ann, bob]) await m.ws.waitFor('filetransfer/update', hasFile('from-desktop.txt', 3));
  });

  test('filetransfer/update from a client: unchanged folder → only that client gets the listing', async () => {
    const before = bob.ws.events.filter((e) => e.event === 'filetransfer/update').length;
    const annBefore = ann.ws.events.filter((e) => e.event === 'filetransfer/update').length;
    ann.ws.send('filetransfer/update');
    await waitFor('a reply to the requester', () => ann.ws.events.filter((e) => e.event === 'filetransfer/update').length > annBefore);
    // The reply was sent before the server handled this marker, so bob would have it by now.
    ann.ws.send('send/broadcast', { subject: 'ft-mark', body: null });
    await bob.ws.waitFor('send/broadcast', (p) => p.subject === 'ft-mark');
    assert.equal(bob.ws.events.filter((e) => e.event === 'filetransfer/update').length, before, 'others get nothing');
  });

  test('the three permission layers: profile off → disabled for that session; room off → admins only', async () => {
    const bobSession = app.sessions.get(bob.id)!;
    app.sessions.updateProfile(bobSession, { ...bobSession.profile, plugins: { 'filetransfer.enabled': false } });
    await bob.ws.waitFor('filetransfer/update', (p: Update) => !p.enabled && p.files === null);
    const off = await api(app.url, bob.token).get('/api/filetransfer?filename=hello.txt').expect(403);
    assert.deepEqual(off.body, { code: 403, message: 'file transfer is disabled' });
    app.sessions.updateProfile(bobSession, { ...bobSession.profile, plugins: null });

    await api(app.url, root.token).post('/api/room/settings').send({ plugins: { 'filetransfer.enabled': false } }).expect(204);
    await ann.ws.waitFor('filetransfer/update', (p: Update) => !p.enabled);
    await api(app.url, ann.token).get('/api/filetransfer?filename=hello.txt').expect(403);
    await api(app.url, root.token).get('/api/filetransfer?filename=hello.txt').expect(200);
    await api(app.url, root.token).post('/api/room/settings').send({ plugins: null }).expect(204);
    await ann.ws.waitFor('filetransfer/update', (p: Update) => p.enabled && p.files !== null);
  });

  test('open-in-app: only the host opens links, and only http(s) ones', async () => {
    const notHost = await api(app.url, ann.token).post('/api/openinapp/openlink').send({ text: 'https://example.com/' }).expect(403);
    assert.deepEqual(notHost.body, { code: 403, message: 'only the host can open links' });
    ann.ws.send('control/request');
    await ann.ws.waitFor('control/host', (p) => p.host_id === ann.id);
    const ok = await api(app.url, ann.token).post('/api/openinapp/openlink').send({ text: 'https://example.com/a?b=c' }).expect(200);
    assert.equal(ok.text, 'null\n');
    await api(app.url, ann.token).post('/api/openinapp/openlink').send({ text: 'file:///etc/passwd' }).expect(400);
    await api(app.url, ann.token).post('/api/openinapp/openlink').send({ text: 'not a url' }).expect(400);
    await api(app.url, ann.token).post('/api/openinapp/openlink').send({ link: 'https://example.com/' }).expect(400);
    const opened = await waitFor('the open command ran', async () => {
      const text = await readFile(openedLog, 'utf8').catch(() => '');
      return text.includes('https://example.com/a?b=c') ? text : null;
    });
    assert.equal(opened.trim(), 'https://example.com/a?b=c', 'only the valid link was opened');
  });
});
