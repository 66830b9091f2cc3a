import assert from 'node:assert/strict';
import { request } from 'node:http';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { X11Client } from '../../../server/src/desktop/x11-client.js';
import { uploadName } from '../../../server/src/desktop/upload.js';
import { api, checkAgainstOpenapi } from '../../helpers/api.js';
// First: it loads the server, whose exit hook (killing X servers left running) must be
// registered before the viewer helper's, which ends the process on exit.
import { becomeHost, startRoom, type Room } from './room-helpers.js';
import { SocketClient } from '../../helpers/viewer.js';
import { DialogWindow } from '../../helpers/dialog-window.js';
import { ControlMask, onDisplay, waitFor } from '../../helpers/x11.js';

async function pointer(display: string): Promise<{ x: number; y: number }> {
  const out = await onDisplay(display, 'xdotool', ['getmouselocation', '--shell']);
  return { x: Number(/X=(\d+)/.exec(out)?.[1]), y: Number(/Y=(\d+)/.exec(out)?.[1]) };
}

/** Regular files directly in `dir` (the spool and dialog folders are hidden directories). */
const filesIn = (dir: string) => readdirSync(dir, { withFileTypes: true }).filter((e) => e.isFile()).map((e) => e.name).sort();


/**
 * A window that takes XDND drops the way toolkits do: announces XdndAware, accepts on
 * XdndPosition, fetches text/uri-list from XdndSelection on XdndDrop, then says finished.
 */
class DropTargetWindow {
  uris: string | null = null;
  offered: number[] = [];
  private atoms: Record<string, number> = {};

  private constructor(
    readonly client: X11Client,
    readonly wid: number,
  ) {}

  static async open(display: string, x: number, y: number, width: number, height: number): Promise<DropTargetWindow> {
    const client = await X11Client.connect(display);
    const raw = client.raw;
    const win = new DropTargetWindow(client, raw.AllocID());
    for (const name of ['XdndAware', 'XdndSelection', 'XdndEnter', 'XdndPosition', 'XdndStatus', 'XdndDrop', 'XdndFinished', 'XdndActionCopy', 'text/uri-list', 'DROPPED']) {
      win.atoms[name] = await client.internAtom(name);
    }
    const a = win.atoms;
    client.on('event', (ev) => {
      if (ev.name === 'ClientMessage' && ev.wid === win.wid) {
        const source = ev.data![0]!;
        if (ev.message_type === a.XdndEnter) win.offered = ev.data!.slice(2).filter(Boolean);
        if (ev.message_type === a.XdndPosition) raw.SendClientMessage(source, source, a.XdndStatus!, 32, [win.wid, 1, 0, 0, a.XdndActionCopy!], 0);
        if (ev.message_type === a.XdndDrop) {
          raw.ConvertSelection(win.wid, a.XdndSelection!, a['text/uri-list']!, a.DROPPED!, ev.data![2]!);
          win.source = source;
        }
      } else if (ev.name === 'SelectionNotify' && ev.requestor === win.wid && ev.property) {
        void client.getProperty(win.wid, ev.property, 0, 65536).then((prop) => {
          win.uris = prop.data.toString('utf8');
          raw.SendClientMessage(win.source, win.source, a.XdndFinished!, 32, [win.wid, 1, a.XdndActionCopy!, 0, 0], 0);
        });
      }
    });
    raw.CreateWindow(win.wid, client.root, x, y, width, height, 0, 0, 0, 0, {});
    raw.ChangeProperty(0, win.wid, a.XdndAware!, 4 /* ATOM */, 32, [5]);
    raw.MapWindow(win.wid);
    await client.sync();
    return win;
  }

  private source = 0;

  async close(): Promise<void> {
    await this.client.close();
  }
}

/**
 * A multipart body written by hand: client libraries (form-data) reduce file names to their
 * basename, which would hide exactly the hostile names under test.
 */
function rawMultipart(parts: Array<{ name: string; filename?: string; data: string }>): { type: string; body: Buffer } {
  const boundary = 'rawboundary42';
  const chunks: Buffer[] = [];
  for (const p of parts) {
    const disposition = `form-data; name="${p.name}"${p.filename === undefined ? '' : `; filename="${p.filename}"`}`;
    chunks.push(Buffer.from(`--${boundary}\r\nContent-Disposition: ${disposition}\r\n`, 'latin1'));
    if (p.filename !== undefined) chunks.push(Buffer.from('Content-Type: application/octet-stream\r\n', 'latin1'));
    chunks.push(Buffer.from(`\r\n${p.data}\r\n`, 'latin1'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`, 'latin1'));
  return { type: `multipart/form-data; boundary=${boundary}`, body: Buffer.concat(chunks) };
}

/** POST with a declared body size, sending only a few bytes of it; resolves with the answer. */
function declaredPost(url: string, token: string, declared: number): Promise<{ status: number; text: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request(url, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'multipart/form-data; boundary=xyz',
        'content-length': String(declared),
      },
    });
    req.on('response', (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, text, headers: res.headers }));
    });
    req.on('error', reject);
    req.write('--xyz\r\n');
  });
}

describe('upload drop and file chooser dialog', () => {
  let room: Room;
  let display: string;
  let dir: string;
  before(async () => {
    room = await startRoom(['--desktop.file_chooser_dialog=true', '--desktop.audio=false', '--desktop.screen', '640x480@30']);
    display = room.app.desktop.display;
    dir = room.app.room.features.uploads.dir;
  });
  after(async () => {
    await room?.app.close();
    assert.ok(!existsSync(dir), 'the upload folder is removed on close');
  });

  test('drop: files land in the upload folder and the pointer goes to x,y', async () => {
    const { app, tokens } = room;
    await becomeHost(room, 'user');
    await api(app.url, tokens.user)
      .post('/api/room/upload/drop')
      .field('x', '120')
      .field('y', '45')
      .attach('files', Buffer.from('hello drop'), { filename: 'notes.txt' })
      .attach('files', Buffer.from([0, 1, 2, 255]), { filename: 'data set.bin' })
      .expect(204);
    assert.deepEqual(filesIn(dir), ['data set.bin', 'notes.txt']);
    assert.equal(readFileSync(join(dir, 'notes.txt'), 'utf8'), 'hello drop');
    assert.deepEqual([...readFileSync(join(dir, 'data set.bin'))], [0, 1, 2, 255]);
    assert.deepEqual(await pointer(display), { x: 120, y: 45 });

    // A second file of the same name does not replace the first.
    await api(app.url, tokens.user).post('/api/room/upload/drop').field('x', '1').field('y', '2')
      .attach('files', Buffer.from('second'), { filename: 'notes.txt' }).expect(204);
    assert.equal(readFileSync(join(dir, 'notes.txt'), 'utf8'), 'hello drop');
    assert.equal(readFileSync(join(dir, 'notes (1).txt'), 'utf8'), 'second');
    assert.deepEqual(readdirSync(join(dir, '.incoming')), [], 'nothing left in the spool');
  });

  test('drop: the window at x,y that takes drops gets the files as file:// URIs (XDND)', async () => {
    const { app, tokens } = room;
    await becomeHost(room, 'user');
    const target = await DropTargetWindow.open(display, 200, 200, 100, 100);
    try {
      await api(app.url, tokens.user)
        .post('/api/room/upload/drop')
        .field('x', '250')
        .field('y', '240')
        .attach('files', Buffer.from('for the app'), { filename: 'report 1.pdf' })
        .attach('files', Buffer.from('too'), { filename: 'b.txt' })
        .expect(204);
      const state = `uris=${JSON.stringify(target.uris)} offered=${target.offered.length}`;
      assert.equal(target.uris, `file://${dir}/report%201.pdf\r\nfile://${dir}/b.txt\r\n`, `URI list before the answer (${state})`);
      assert.equal(target.offered.length, 1, `one type offered, text/uri-list (${state})`);
      assert.equal(readFileSync(join(dir, 'report 1.pdf'), 'utf8'), 'for the app');
      assert.deepEqual(await pointer(display), { x: 250, y: 240 });
    } finally {
      await target.close();
    }
  });

  test('drop: hostile names are refused, nothing is written outside the upload folder', async () => {
    const { app, tokens } = room;
    await becomeHost(room, 'user');
    const before = filesIn(dir);

    const parentBefore = readdirSync(dirname(dir)).filter((n) => n.includes('evil')).length;
    const hostile = ['../evil.txt', '../../evil.txt', '/tmp/evil-abs.txt', 'a\0evil.txt', 'a&#0000;evil.txt', '..', '.', 'sub/evil.txt', 'tab\tevil'];
    for (const name of hostile) {
      const { type, body } = rawMultipart([
        { name: 'x', data: '1' },
        { name: 'y', data: '1' },
        { name: 'files', filename: 'innocent.txt', data: 'innocent' },
        { name: 'files', filename: name, data: 'evil' },
      ]);
      const res = await api(app.url, tokens.user).post('/api/room/upload/drop').set('content-type', type).send(body);
      assert.ok(res.status === 400, `${JSON.stringify(name)} → ${res.status} ${res.text}`);
    }
    // The same hand-written body with a plain name goes through: the refusals were the names.
    const ok = rawMultipart([{ name: 'x', data: '1' }, { name: 'y', data: '1' }, { name: 'files', filename: 'plain.txt', data: 'fine' }]);
    await api(app.url, tokens.user).post('/api/room/upload/drop').set('content-type', ok.type).send(ok.body).expect(204);
    assert.equal(readFileSync(join(dir, 'plain.txt'), 'utf8'), 'fine');
    before.push('plain.txt');
    before.sort();
    assert.deepEqual(filesIn(dir), before, 'nothing placed, not even the innocent file of a refused upload');
    assert.equal(readdirSync(dirname(dir)).filter((n) => n.includes('evil')).length, parentBefore, 'nothing next to the folder');
    assert.ok(!existsSync('/tmp/evil-abs.txt'), 'no absolute path written');
    assert.deepEqual(readdirSync(join(dir, '.incoming')), [], 'spool emptied after refusals');
    assert.throws(() => uploadName('x'.repeat(256)), /too long/);
    assert.equal(uploadName('résumé (final)..pdf'), 'résumé (final)..pdf');
  });

  test('drop: the contract checks, in order', async () => {
    const { app, tokens } = room;
    await becomeHost(room, 'user');
    const c = () => api(app.url, tokens.user).post('/api/room/upload/drop');
    const msg = async (t: ReturnType<typeof c>, message: string) => assert.equal((await t.expect(400)).body.message, message);
    await msg(c().send({ x: 1, y: 1 }), 'failed to parse multipart form');
    await msg(c().set('content-type', 'multipart/form-data; boundary=zz').send('garbage'), 'failed to parse multipart form');
    await msg(c().field('y', '1').attach('files', Buffer.from('a'), { filename: 'a.txt' }), 'no X coordinate received');
    await msg(c().field('x', 'left').field('y', '1').attach('files', Buffer.from('a'), { filename: 'a.txt' }), 'no X coordinate received');
    await msg(c().field('x', '1').attach('files', Buffer.from('a'), { filename: 'a.txt' }), 'no Y coordinate received');
    await msg(c().field('x', '1').field('y', '1'), 'no files received');
    await msg(c().field('x', '1').field('y', '1').attach('other', Buffer.from('a'), { filename: 'a.txt' }), 'no files received');
    assert.deepEqual(readdirSync(join(dir, '.incoming')), [], 'parts under other field names are removed too');
  });

  test('drop: oversized uploads are cut off with 413 and the server stays up', async () => {
    const { app, tokens } = room;
    await becomeHost(room, 'user');
    const res = await declaredPost(`${app.url}/api/room/upload/drop`, tokens.user, 4 * 2 ** 30);
    assert.equal(res.status, 413);
    checkAgainstOpenapi('post', '/api/room/upload/drop', { status: res.status, headers: res.headers, text: res.text } as never);
    assert.equal(JSON.parse(res.text).code, 413);

    let many = api(app.url, tokens.user).post('/api/room/upload/drop').field('x', '1').field('y', '1');
    for (let i = 0; i < 65; i++) many = many.attach('files', Buffer.from('x'), { filename: `f${i}.txt` });
    await many.expect(413);
    assert.ok(!filesIn(dir).includes('f0.txt'), 'nothing of it placed');
    await waitFor('spool emptied', () => readdirSync(join(dir, '.incoming')).length === 0);
    await api(app.url, tokens.user).get('/api/room/screen').expect(200);
  });

  test('upload guard: host, or can_host with implicit hosting', async () => {
    const { app, tokens } = room;
    await becomeHost(room, 'user');
    const upload = (role: 'admin' | 'nohost') =>
      api(app.url, tokens[role]).post('/api/room/upload/drop').field('x', '1').field('y', '1').attach('files', Buffer.from('g'), { filename: 'guard.txt' });
    const denied = await upload('admin').expect(403);
    assert.equal(denied.body.message, 'without implicit hosting, only host can upload files');
    await api(app.url, tokens.admin).post('/api/room/settings').send({ implicit_hosting: true }).expect(204);
    try {
      await upload('admin').expect(204);
      await upload('nohost').expect(403);
    } finally {
      await api(app.url, tokens.admin).post('/api/room/settings').send({ implicit_hosting: false }).expect(204);
    }
    await api(app.url).post('/api/room/upload/drop').expect(401);
    const del = await api(app.url, tokens.admin).delete('/api/room/upload/dialog').expect(403);
    assert.equal(del.body.message, 'without implicit hosting, only host can upload files');
  });

  test('dialog: 422 while none is open; a titled window is noticed and answered with the files', async () => {
    const { app, tokens, ids } = room;
    await becomeHost(room, 'user');
    const c = () => api(app.url, tokens.user);
    await c().post('/api/room/upload/dialog').send({}).expect(400);
    assert.equal((await c().post('/api/room/upload/dialog').field('x', '1').expect(400)).body.message, 'no files received');
    const closedNow = await c().post('/api/room/upload/dialog').attach('files', Buffer.from('a'), { filename: 'a.txt' }).expect(422);
    assert.equal(closedNow.body.message, 'file chooser dialog is not open');
    assert.equal((await c().delete('/api/room/upload/dialog').expect(422)).body.message, 'file chooser dialog is not open');

    const watcher = await SocketClient.open(app.url, tokens.admin);
    const dialog = await DialogWindow.open(display);
    try {
      const opened = await watcher.waitFor('file_chooser_dialog/opened');
      assert.deepEqual(opened.payload, { id: ids.user });
      // Step 4 of the connect sequence for someone arriving now.
      const late = await SocketClient.open(app.url, tokens.noclip);
      const seen = await late.waitFor('file_chooser_dialog/opened');
      assert.deepEqual(seen.payload, { id: ids.user });
      const order = late.events.map((e) => e.event);
      assert.ok(order.indexOf('session/state') < order.indexOf('file_chooser_dialog/opened'), `order: ${order.join(',')}`);
      late.close();

      await c().post('/api/room/upload/dialog')
        .attach('files', Buffer.from('one'), { filename: 'one.txt' })
        .attach('files', Buffer.from('two'), { filename: 'two.txt' })
        .expect(204);
      const batch = readdirSync(dir).filter((n) => n.startsWith('.dialog-'));
      assert.equal(batch.length, 1);
      const batchDir = join(dir, batch[0]!);
      assert.deepEqual(filesIn(batchDir), ['one.txt', 'two.txt']);
      assert.equal(await dialog.typed(), `${batchDir}/`, 'the folder was typed into the location bar');
      const withControl = dialog.keys.filter((k) => k.state & ControlMask).length;
      assert.equal(withControl, 2, 'Ctrl+L and Ctrl+A');

      await c().delete('/api/room/upload/dialog').expect(204);
      await watcher.waitFor('file_chooser_dialog/closed');
      assert.deepEqual(watcher.events.find((e) => e.event === 'file_chooser_dialog/closed')!.payload, { id: '' });
      assert.ok(dialog.gone, 'Escape dismissed it');
    } finally {
      watcher.close();
      await dialog.close();
    }
  });

  test('dialog: cancelled when nobody has control', async () => {
    const { app, tokens } = room;
    await api(app.url, tokens.admin).post('/api/room/control/reset').expect(204);
    const watcher = await SocketClient.open(app.url, tokens.admin);
    const orphan = await DialogWindow.open(display, 'File Upload');
    try {
      await waitFor('orphan dialog cancelled', () => orphan.gone);
      assert.ok(!watcher.events.some((e) => e.event === 'file_chooser_dialog/opened'), 'never announced');
    } finally {
      await orphan.close();
    }

    await becomeHost(room, 'user');
    const held = await DialogWindow.open(display);
    try {
      await watcher.waitFor('file_chooser_dialog/opened');
      await api(app.url, tokens.user).post('/api/room/control/release').expect(204);
      await watcher.waitFor('file_chooser_dialog/closed');
      assert.ok(held.gone, 'released control cancels the dialog');
    } finally {
      watcher.close();
      await held.close();
    }
  });
});

describe('uploads switched off', () => {
  let room: Room;
  before(async () => {
    room = await startRoom(['--desktop.upload_drop=false', '--desktop.audio=false', '--desktop.screen', '320x240@30']);
  });
  after(async () => {
    await room?.app.close();
  });

  test('drop and dialog say they are disabled, before parsing anything', async () => {
    const { app, tokens } = room;
    await becomeHost(room, 'user');
    const drop = await api(app.url, tokens.user).post('/api/room/upload/drop').send('not multipart').expect(400);
    assert.equal(drop.body.message, 'upload drop is disabled');
    const dialog = await api(app.url, tokens.user).post('/api/room/upload/dialog').send({}).expect(400);
    assert.equal(dialog.body.message, 'file chooser dialog is disabled');
    assert.equal((await api(app.url, tokens.user).delete('/api/room/upload/dialog').expect(400)).body.message, 'file chooser dialog is disabled');
  });
});
