import { setTimeout as sleep } from 'node:timers/promises';
import x11 from 'x11';
import { X11Client } from './x11-client.js';

export interface WindowManagerReadyOptions {
  display: string;
  /** Gives up after this long (a window manager that never sets WM_STATE) and resolves false. */
  timeoutMs: number;
  signal?: AbortSignal;
}

/** How long one map of the probe may wait to be managed before it is mapped again. */
const REMAP_MS = 250;

/**
 * Resolves once the window manager manages new windows. A window mapped while it is still
 * starting can be left unmanaged and unmapped for good (openbox does so for a few hundred
 * milliseconds after it has claimed the screen), so the desktop's application must not start
 * before this. Its properties on the root window appear too early to tell; what tells is a
 * probe window of our own getting the WM_STATE a window manager puts on the windows it
 * manages. The probe is mapped again until it does, then destroyed.
 */
export async function waitForWindowManager(opts: WindowManagerReadyOptions): Promise<boolean> {
  const deadline = Date.now() + opts.timeoutMs;
  const client = await X11Client.connect(opts.display);
  const raw = client.raw;
  const wid = raw.AllocID();
  try {
    const wmState = await client.internAtom('WM_STATE');
    let managed = false;
    const settled = new AbortController();
    client.on('event', (ev) => {
      if (ev.wid === wid && ev.name === 'PropertyNotify' && ev.atom === wmState) {
        managed = true;
        settled.abort();
      }
    });
    opts.signal?.addEventListener('abort', () => settled.abort(), { once: true });
    raw.CreateWindow(wid, client.root, 0, 0, 1, 1, 0, 0, 0, 0, { eventMask: x11.eventMask.PropertyChange });
    while (!managed && !settled.signal.aborted && Date.now() < deadline) {
      raw.UnmapWindow(wid);
      raw.MapWindow(wid);
      await client.sync();
      await sleep(Math.min(REMAP_MS, Math.max(deadline - Date.now(), 0)), undefined, { signal: settled.signal }).catch(() => {});
    }
    return managed;
  } finally {
    if (client.connected) raw.DestroyWindow(wid);
    await client.close();
  }
}
