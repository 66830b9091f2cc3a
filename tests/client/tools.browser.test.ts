import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join as joinPath } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import type { App } from '../../server/src/main.js';
import { startApp } from '../helpers/app.js';
import { launchChromium } from '../helpers/browser.js';
import { DialogWindow } from '../helpers/dialog-window.js';
import { onDisplay, waitFor } from '../helpers/x11.js';
import { join, neko, pictureRect, screenshot, until } from './support.js';

const filesIn = (dir: string) => (existsSync(dir) ? readdirSync(dir, { withFileTypes: true }).filter((e) => e.isFile()).map((e) => e.name).sort() : []);

async function openTab(page: Page, tab: string): Promise<void> {
  if (!(await neko<boolean>(page, '.panelOpen'))) await page.click('#panel-toggle');
  await page.click(`#tab-${tab}`);
}


/** 16-bit mono 48 kHz WAV of a sine tone, for Chromium's fake microphone. */
function toneWav(hz: number, seconds: number): Buffer {
  const rate = 48_000;
  const n = rate * seconds;
  const buf = Buffer.alloc(44 + n * 2);
  buf.write('RIFF', 0);
  buf.writeUInt32LE(36 + n * 2, 4);
  buf.write('WAVEfmt ', 8);
  buf.writeUInt32LE(16, 16);
  buf.writeUInt16LE(1, 20);
  buf.writeUInt16LE(1, 22);
  buf.writeUInt32LE(rate, 24);
  buf.writeUInt32LE(rate * 2, 28);
  buf.writeUInt16LE(2, 32);
  buf.writeUInt16LE(16, 34);
  buf.write('data', 36);
  buf.writeUInt32LE(n * 2, 40);
  for (let i = 0; i < n; i++) buf.writeInt16LE(Math.round(Math.sin((2 * Math.PI * hz * i) / rate) * 12_000), 44 + i * 2);
  return buf;
}

interface Heard {
  /** RMS, 0..1. */
  rms: number;
  /** Share of that energy at TONE_HZ, 0..1 (Goertzel): the tone, not noise or another sound. */
  tone: number;
}

/** The fake microphone's tone; 500 ms of it are a whole number of cycles. */
const TONE_HZ = 440;

/**
 * `ms` recorded from the PulseAudio source desktop apps record from. Chromium's voice
 * processing (gain control, noise suppression) brings a steady tone down to about a tenth of
 * its level within a second, so the level alone says little: the tone's share says it is ours.
 */
async function listen(pulseServer: string, ms: number): Promise<Heard> {
  const rate = 48_000;
  const child = spawn('parec', ['-d', 'audio_input', '--format=s16le', `--rate=${rate}`, '--channels=1', '--latency-msec=20'], {
    env: { ...process.env, PULSE_SERVER: pulseServer },
    stdio: ['ignore', 'pipe', 'ignore'],
    detached: true,
  });
  const chunks: Buffer[] = [];
  const wanted = (ms * rate * 2) / 1000;
  let received = 0;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms + 5000);
    child.stdout.on('data', (c: Buffer) => {
      chunks.push(c);
      received += c.length;
      if (received >= wanted) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  process.kill(-child.pid!, 'SIGKILL');
  const pcm = Buffer.concat(chunks).subarray(0, wanted);
  const n = pcm.length >> 1;
  if (n === 0) return { rms: 0, tone: 0 };
  const w = 2 * Math.cos((2 * Math.PI * TONE_HZ) / rate);
  let energy = 0;
  let s1 = 0;
  let s2 = 0;
  for (let i = 0; i < n; i++) {
    const x = pcm.readInt16LE(i * 2) / 32768;
    energy += x * x;
    const s0 = x + w * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  const power = s1 * s1 + s2 * s2 - w * s1 * s2;
  return { rms: Math.sqrt(energy / n), tone: energy > 0 ? (2 * power) / (n * energy) : 0 };
}

/** Slows this page's uploads so their progress can be seen. */
async function throttleUploads(page: Page, bytesPerSecond: number | null): Promise<void> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.emulateNetworkConditions', {
    offline: false,
    latency: 0,
    downloadThroughput: -1,
    uploadThroughput: bytesPerSecond ?? -1,
  });
}

describe('viewer tools: file transfer, uploads with progress, file chooser, resolution, microphone', () => {
  let dir: string;
  let media: string;
  let app: App;
  let chrome: Browser;
  let admin: Page;
  let user: Page;

  before(async () => {
    dir = mkdtempSync(joinPath(tmpdir(), 'neko-files-'));
    media = mkdtempSync(joinPath(tmpdir(), 'neko-media-'));
    writeFileSync(joinPath(media, 'tone.wav'), toneWav(TONE_HZ, 5));
    writeFileSync(joinPath(dir, 'report.txt'), 'quarterly numbers');
    app = await startApp([
      '--desktop.server', 'xorg',
      '--filetransfer.enabled=true',
      '--filetransfer.dir', dir,
      '--filetransfer.user_download=true',
      '--filetransfer.user_upload=true',
      '--filetransfer.user_delete=false',
      '--desktop.file_chooser_dialog=true',
    ]);
    chrome = await launchChromium({
      args: ['--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream', `--use-file-for-fake-audio-capture=${joinPath(media, 'tone.wav')}`],
    });
    [admin] = await join(chrome, app.url, 'root', 'admin');
    [user] = await join(chrome, app.url, 'ursula', 'neko');
  });

  after(async () => {
    await chrome?.close();
    await app?.close();
    rmSync(dir, { recursive: true, force: true });
    rmSync(media, { recursive: true, force: true });
  });

  test('files tab: lists the folder, downloads, uploads with progress; delete only where allowed', async () => {
    await user.waitForFunction('window.__neko.framesDecoded() > 0', null, { timeout: 15_000 });
    await openTab(user, 'files');
    const row = user.locator('.file[data-name="report.txt"]');
    await row.waitFor({ timeout: 10_000 });
    assert.equal(await row.locator('[data-action="delete"]').count(), 0, 'no delete for a non-admin without user_delete');

    const [download] = await Promise.all([user.waitForEvent('download'), row.locator('a[download]').click()]);
    assert.equal(download.suggestedFilename(), 'report.txt');
    assert.equal(readFileSync((await download.path())!, 'utf8'), 'quarterly numbers');

    // A file written on the desktop side shows up by itself.
    writeFileSync(joinPath(dir, 'from-desktop.txt'), 'x');
    await user.locator('.file[data-name="from-desktop.txt"]').waitFor({ timeout: 10_000 });

    await throttleUploads(user, 400_000);
    await user.setInputFiles('#files-input', { name: 'big.bin', mimeType: 'application/octet-stream', buffer: Buffer.alloc(1_200_000, 7) });
    await user.waitForFunction(`[...document.querySelectorAll('.file-upload progress')].some((p) => p.value > 0 && p.value < 100)`, null, { timeout: 10_000 });
    await screenshot(user, 'desktop-files-uploading');
    await user.locator('.file[data-name="big.bin"]').waitFor({ timeout: 20_000 });
    await throttleUploads(user, null);
    assert.equal(readFileSync(joinPath(dir, 'big.bin')).length, 1_200_000);

    await openTab(admin, 'files');
    const del = admin.locator('.file[data-name="big.bin"] [data-action="delete"]');
    await del.click();
    await waitFor('big.bin deleted from the folder', () => !existsSync(joinPath(dir, 'big.bin')));
    await user.locator('.file[data-name="big.bin"]').waitFor({ state: 'detached', timeout: 10_000 });
    await screenshot(admin, 'desktop-files');
  });

  test('drag and drop onto the video: the file lands on the desktop where it was dropped, with progress', async () => {
    await admin.click('#control');
    await until(admin, 's.isHost && s.dataChannelOpen');
    await admin.waitForFunction('window.__neko.framesDecoded() > 0', null, { timeout: 15_000 });
    const pic = await pictureRect(admin);
    const screen = await neko<{ width: number; height: number }>(admin, '.screen');
    const x = pic.x + pic.width * 0.3;
    const y = pic.y + pic.height * 0.6;
    await throttleUploads(admin, 400_000);
    const data = await admin.evaluateHandle(`(() => {
      const dt = new DataTransfer();
      dt.items.add(new File([new Uint8Array(1000000).fill(65)], 'dropped.txt', { type: 'text/plain' }));
      return dt;
    })()`);
    await admin.dispatchEvent('#stage', 'dragover', { dataTransfer: data, clientX: x, clientY: y });
    await admin.locator('#overlay-drop').waitFor();
    await admin.dispatchEvent('#stage', 'drop', { dataTransfer: data, clientX: x, clientY: y });
    await admin.waitForFunction(`(() => { const p = document.querySelector('#uploads progress'); return p && p.value > 0 && p.value < 100; })()`, null, { timeout: 10_000 });
    await screenshot(admin, 'desktop-upload-progress');
    const uploads = app.room.features.uploads.dir;
    await waitFor('dropped file in the upload folder', () => filesIn(uploads).includes('dropped.txt'), 20_000);
    await throttleUploads(admin, null);
    assert.equal(readFileSync(joinPath(uploads, 'dropped.txt')).length, 1_000_000);
    const where = /x:(\d+) y:(\d+)/.exec(await onDisplay(app.desktop.display, 'xdotool', ['getmouselocation']))!;
    const wantX = Math.floor(0.3 * screen.width);
    const wantY = Math.floor(0.6 * screen.height);
    assert.ok(Math.abs(Number(where[1]) - wantX) <= 3 && Math.abs(Number(where[2]) - wantY) <= 3, `pointer at ${where[1]},${where[2]}, dropped at ${wantX},${wantY}`);
    await admin.locator('#uploads .upload[data-state="done"]').waitFor({ timeout: 10_000 });
  });

  test('a file chooser on the desktop opens the upload dialog for the host; chosen files are handed to it; cancel closes it', async () => {
    const dialog = await DialogWindow.open(app.desktop.display);
    try {
      await admin.locator('#file-dialog').waitFor({ timeout: 10_000 });
      assert.equal(await user.locator('#file-dialog').count(), 0, 'only the host is asked');
      await screenshot(admin, 'desktop-file-dialog');
      await admin.setInputFiles('#file-dialog-input', [
        { name: 'one.txt', mimeType: 'text/plain', buffer: Buffer.from('one') },
        { name: 'two.txt', mimeType: 'text/plain', buffer: Buffer.from('two') },
      ]);
      const uploads = app.room.features.uploads.dir;
      const batch = await waitFor('dialog batch folder', () => readdirSync(uploads).find((n) => n.startsWith('.dialog-')), 10_000);
      await waitFor('both files', () => filesIn(joinPath(uploads, batch)).length === 2);
      assert.deepEqual(filesIn(joinPath(uploads, batch)), ['one.txt', 'two.txt']);
      await waitFor('folder typed into the dialog', async () => (await dialog.typed()) === `${joinPath(uploads, batch)}/`, 10_000);
    } finally {
      await dialog.close();
    }

    const second = await DialogWindow.open(app.desktop.display);
    try {
      await admin.locator('#file-dialog').waitFor({ timeout: 10_000 });
      await admin.click('#file-dialog-cancel');
      await waitFor('dialog dismissed on the desktop', () => second.gone, 10_000);
      await admin.locator('#file-dialog').waitFor({ state: 'detached', timeout: 10_000 });
    } finally {
      await second.close();
    }
  });

  test('resolution picker: an admin changes the desktop\'s size', async () => {
    await openTab(admin, 'admin');
    await until(admin, 's.screenSizes.length > 1');
    const option = await admin.$eval('#resolution', (el) =>
      [...(el as HTMLSelectElement).options].map((o) => o.value).find((v) => v.startsWith('1024x768@')),
    );
    assert.ok(option, 'offers 1024x768');
    await admin.selectOption('#resolution', option);
    await waitFor('X screen 1024x768', async () => /dimensions:\s+1024x768/.test(await onDisplay(app.desktop.display, 'xdpyinfo', [])), 15_000);
    await until(user, 's.screen.width === 1024 && s.screen.height === 768', 15_000);
    await user.waitForFunction(`document.getElementById('video').videoWidth === 1024`, null, { timeout: 20_000 });
    await screenshot(admin, 'desktop-admin-resolution');
    assert.equal(await user.locator('#tab-admin').count(), 0, 'not offered to non-admins');
  });

  test('microphone: the button shows where the profile allows, and the voice reaches the desktop', async () => {
    const pulse = app.desktop.pulseServer;
    assert.ok(pulse, 'the desktop runs PulseAudio');
    assert.ok((await listen(pulse, 500)).rms < 0.002, 'silence before');
    await admin.click('#mic');
    await until(admin, `s.microphone === 'on'`, 10_000);
    await waitFor('the tone on the desktop\'s microphone', async () => {
      const heard = await listen(pulse, 500);
      return heard.rms > 0.01 && heard.tone > 0.8;
    }, 20_000);
    await screenshot(admin, 'desktop-microphone');
    await admin.click('#mic');
    await until(admin, `s.microphone === 'off'`);
    await waitFor('silence once it is off', async () => (await listen(pulse, 500)).rms < 0.002, 20_000);
  });
});
