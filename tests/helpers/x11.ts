/**
 * Test helpers for the desktop module: an X window that records the input events reaching
 * it, and small polling utilities.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import x11 from 'x11';
import { X11Client } from '../../server/src/desktop/x11-client.js';

export const execFileP = promisify(execFile);

export async function waitFor<T>(
  what: string,
  probe: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  timeoutMs = 5000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

/** Runs a command with DISPLAY set and returns its stdout. */
export async function onDisplay(display: string, cmd: string, args: string[]): Promise<string> {
  const { stdout } = await execFileP(cmd, args, { env: { ...process.env, DISPLAY: display }, timeout: 10_000 });
  return stdout;
}

export interface RecordedEvent {
  name: string;
  /** Keycode or button. */
  detail: number;
  /** Modifier/button mask at the time of the event. */
  state: number;
  x: number;
  y: number;
}

export const ShiftMask = 1;
export const ControlMask = 4;

/**
 * A window covering the whole screen, focused, that records key and button events. With no
 * window manager running it sits exactly where it is created.
 */
export class TestWindow {
  readonly events: RecordedEvent[] = [];

  private constructor(
    readonly client: X11Client,
    readonly wid: number,
  ) {}

  static async open(display: string): Promise<TestWindow> {
    const client = await X11Client.connect(display);
    const raw = client.raw;
    const { width, height } = await client.screenSize();
    const wid = raw.AllocID();
    const m = x11.eventMask;
    let mapped = false;
    const win = new TestWindow(client, wid);
    client.on('event', (ev) => {
      if (ev.wid !== wid) return;
      if (ev.name === 'MapNotify') mapped = true;
      if (['KeyPress', 'KeyRelease', 'ButtonPress', 'ButtonRelease'].includes(ev.name)) {
        win.events.push({ name: ev.name, detail: ev.keycode!, state: ev.buttons!, x: ev.rootx!, y: ev.rooty! });
      }
    });
    raw.CreateWindow(wid, client.root, 0, 0, width, height, 0, 0, 0, 0, {
      backgroundPixel: raw.display.screen[0].white_pixel,
      eventMask: m.KeyPress | m.KeyRelease | m.ButtonPress | m.ButtonRelease | m.StructureNotify,
    });
    raw.MapWindow(wid);
    await waitFor('test window mapped', () => mapped);
    raw.SetInputFocus(wid, 1);
    await client.sync();
    return win;
  }

  of(name: string): RecordedEvent[] {
    return this.events.filter((e) => e.name === name);
  }

  clear(): void {
    this.events.length = 0;
  }

  /** Keysyms the given keycode carries now (level 0 first). */
  async keysymsOf(keycode: number): Promise<number[]> {
    const map = await this.client.keyboardMapping();
    return map.rows[keycode - map.minKeycode];
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}

/** Pids of processes whose command line matches `pattern` (pgrep -f). */
export async function pgrep(pattern: string): Promise<number[]> {
  try {
    const { stdout } = await execFileP('pgrep', ['-f', pattern]);
    return stdout.split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** Pids of processes matching `pattern` (pgrep -f) that run with DISPLAY=`display`. */
export async function pgrepOnDisplay(pattern: string, display: string): Promise<number[]> {
  return (await pgrep(pattern)).filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0').includes(`DISPLAY=${display}`);
    } catch {
      return false; // gone meanwhile
    }
  });
}

/** Pid of the X server holding `display` (from its lock file). */
export function lockPid(display: string): number {
  return Number.parseInt(readFileSync(`/tmp/.X${display.replace(/^:/, '')}-lock`, 'latin1').trim(), 10);
}
