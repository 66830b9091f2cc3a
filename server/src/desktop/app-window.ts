import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import x11 from 'x11';
import { X11Client } from './x11-client.js';

export interface AppWindowOptions {
  display: string;
  /** The application's process: its window, or one of its descendants', is looked for. */
  pid: number;
  /** After this long without a shown window `onLate` is called; the wait goes on. */
  timeoutMs: number;
  onLate?: () => void;
  /** Stops looking (the app exited, the desktop closes); the wait then resolves with null. */
  signal?: AbortSignal;
}

/** How often the window tree is looked at again without an event (a property set after mapping). */
const RESCAN_MS = 1000;
/** Levels below a top-level window searched for the client: window managers nest it in frames. */
const FRAME_DEPTH = 3;
/** Rows of the window compared to tell a painted window from an empty one. */
const SAMPLE_ROWS = 16;
const PAINT_POLL_MS = 100;
/**
 * A window that keeps changing (a video, an animation) or stays one colour (a blank page) is
 * taken as painted after this long.
 */
const PAINT_SETTLE_MS = 5000;

/**
 * Waits until the application shows a window: a viewable top-level window that is not
 * override-redirect (menus, tooltips and the window manager's own helpers are) and whose
 * client, the window carrying WM_STATE inside a window manager's frame, belongs to `pid` by
 * its _NET_WM_PID. A client without _NET_WM_PID counts too: only our own programs draw on
 * our display, and plain Xlib programs do not set it.
 *
 * Mapped is not yet shown: Chromium maps an empty, single-coloured window and paints the
 * page a few hundred milliseconds later. So the window also has to hold more than one colour
 * and then stay unchanged for one look (or keep changing, or stay blank, for a while).
 *
 * Resolves with the client window, or null once aborted or the display is gone. Uses a
 * connection of its own, so the event mask it sets on the root does not replace that of the
 * desktop's connection.
 */
export async function waitForAppWindow(opts: AppWindowOptions): Promise<number | null> {
  if (opts.signal?.aborted) return null;
  const late = setTimeout(() => opts.onLate?.(), opts.timeoutMs);
  const client = await X11Client.connect(opts.display).catch((err: unknown) => {
    clearTimeout(late);
    throw err;
  });
  try {
    const wid = await mapped(client, opts.pid, opts.signal);
    if (wid === null || !(await painted(client, wid, opts.signal))) return null;
    return wid;
  } finally {
    clearTimeout(late);
    await client.close();
  }
}

async function mapped(client: X11Client, pid: number, signal: AbortSignal | undefined): Promise<number | null> {
  const [wmState, wmPid] = await Promise.all([client.internAtom('WM_STATE'), client.internAtom('_NET_WM_PID')]);
  return new Promise<number | null>((resolve) => {
    let scanning = false;
    let again = false;
    let done = false;
    const finish = (wid: number | null) => {
      if (done) return;
      done = true;
      clearInterval(poll);
      signal?.removeEventListener('abort', abort);
      client.off('event', onEvent);
      client.off('close', abort);
      resolve(wid);
    };
    const scan = () => {
      if (scanning) {
        again = true;
        return;
      }
      scanning = true;
      findAppWindow(client, pid, wmState, wmPid).then(
        (wid) => {
          scanning = false;
          if (wid !== null) finish(wid);
          else if (again) {
            again = false;
            scan();
          }
        },
        // The X server went away (it is restarted, and the app with it): stop here.
        () => finish(null),
      );
    };
    const onEvent = (ev: x11.XEvent) => {
      if (ev.name === 'MapNotify' || ev.name === 'ReparentNotify') scan();
    };
    const abort = () => finish(null);
    const poll = setInterval(scan, RESCAN_MS);
    if (signal?.aborted) return finish(null);
    signal?.addEventListener('abort', abort);
    client.on('event', onEvent);
    client.on('close', abort);
    // Select first, then look: a window mapped in between is then seen by the event.
    client.selectInput(client.root, x11.eventMask.SubstructureNotify);
    scan();
  });
}

async function findAppWindow(client: X11Client, pid: number, wmState: number, wmPid: number): Promise<number | null> {
  // Topmost first: the window on top is the one a viewer sees.
  for (const top of (await client.children(client.root)).reverse()) {
    try {
      const attrs = await client.windowAttributes(top);
      if (!attrs.viewable || attrs.overrideRedirect) continue;
      const wid = (await clientOf(client, top, wmState, FRAME_DEPTH)) ?? top;
      const prop = await client.getProperty(wid, wmPid);
      if (prop.type === 0 || prop.data.length < 4) return wid;
      if (descendsFrom(prop.data.readUInt32LE(0), pid)) return wid;
    } catch {
      // Destroyed while we looked: the next event or rescan sees the tree as it is then.
    }
  }
  return null;
}

/** The window carrying WM_STATE at or below `wid` (what a window manager manages), if any. */
async function clientOf(client: X11Client, wid: number, wmState: number, depth: number): Promise<number | null> {
  if ((await client.getProperty(wid, wmState, 0, 8)).type !== 0) return wid;
  if (depth === 0) return null;
  for (const child of await client.children(wid)) {
    const found = await clientOf(client, child, wmState, depth - 1);
    if (found !== null) return found;
  }
  return null;
}

/** Whether process `pid` is `ancestor` or was started, directly or not, by it. */
function descendsFrom(pid: number, ancestor: number): boolean {
  for (let p = pid, hops = 0; p > 1 && hops < 64; hops++) {
    if (p === ancestor) return true;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${p}/stat`, 'latin1');
    } catch {
      return false;
    }
    // Fields after the command name, which may itself hold spaces and parentheses.
    p = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  }
  return false;
}

/**
 * Waits until the window shows more than one colour and then looks the same twice in a row,
 * or for PAINT_SETTLE_MS. False when aborted or the window is gone.
 */
async function painted(client: X11Client, wid: number, signal: AbortSignal | undefined): Promise<boolean> {
  const giveUp = Date.now() + PAINT_SETTLE_MS;
  let previous: Buffer | null = null;
  while (!signal?.aborted) {
    let sample: Buffer | null;
    try {
      sample = await sampleRows(client, wid);
    } catch {
      return false;
    }
    if (Date.now() > giveUp) return true;
    if (sample && !uniform(sample)) {
      if (previous?.equals(sample)) return true;
      previous = sample;
    } else {
      previous = null;
    }
    await sleep(PAINT_POLL_MS);
  }
  return false;
}

/** Evenly spaced rows of the window as seen on the screen; null when none of it is on screen. */
async function sampleRows(client: X11Client, wid: number): Promise<Buffer | null> {
  const rect = await client.rectOnScreen(wid);
  const screen = await client.screenSize();
  const x = Math.max(rect.x, 0);
  const width = Math.min(rect.x + rect.width, screen.width) - x;
  const top = Math.max(rect.y, 0);
  const height = Math.min(rect.y + rect.height, screen.height) - top;
  if (width <= 0 || height <= 0) return null;
  const rows = new Set<number>();
  for (let i = 0; i < SAMPLE_ROWS; i++) rows.add(top + Math.floor(((i + 0.5) * height) / SAMPLE_ROWS));
  return Buffer.concat(await Promise.all([...rows].map((y) => client.screenArea(x, y, width, 1))));
}

/** Every pixel the same colour (the fourth byte of each pixel is padding). */
function uniform(pixels: Buffer): boolean {
  const first = pixels.readUInt32LE(0) & 0xffffff;
  for (let i = 4; i + 4 <= pixels.length; i += 4) if ((pixels.readUInt32LE(i) & 0xffffff) !== first) return false;
  return true;
}
