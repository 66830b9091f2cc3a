import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import type x11 from 'x11';
import type { Logger } from '../log.js';
import type { X11Client } from './x11-client.js';

/** How a drop went: delivered, refused by the target, or nothing there that accepts drops. */
export type DropResult = 'dropped' | 'refused' | 'no-target';

export interface DropOptions {
  logger: Logger;
  /** Longest wait for the target to accept (default 3 s) and to finish taking the drop (10 s). */
  statusTimeoutMs?: number;
  finishTimeoutMs?: number;
}

const XDND_VERSION = 5;
/** Window manager frames and toolkit wrappers nest the window that takes drops. */
const MAX_DEPTH = 8;
const URI_LIST = 'text/uri-list';
const ATOMS = [
  'XdndAware',
  'XdndSelection',
  'XdndEnter',
  'XdndPosition',
  'XdndStatus',
  'XdndDrop',
  'XdndFinished',
  'XdndLeave',
  'XdndActionCopy',
  'TARGETS',
  URI_LIST,
] as const;
type Atoms = Record<(typeof ATOMS)[number], number>;
const XA_ATOM = 4;
/** Pause before hovering again over a target that has not accepted yet. */
const REPOSITION_MS = 50;

/**
 * Drops files onto whatever window is at (x, y), the way a file manager drags them there:
 * the XDND protocol with `text/uri-list` (file:// URIs) as the only offered type. Browsers,
 * GTK and Qt applications take such drops (Chromium uploads them to a page's drop zone).
 *
 * The drag source is an unmapped window of `client`'s connection that owns XdndSelection
 * for the duration; the pointer is expected to be at (x, y) already.
 */
export async function dropFiles(client: X11Client, x: number, y: number, paths: string[], opts: DropOptions): Promise<DropResult> {
  const atoms = await internAll(client);
  const target = await findDropTarget(client, atoms, x, y);
  if (!target) return 'no-target';
  const uris = `${paths.map((p) => pathToFileURL(p).href).join('\r\n')}\r\n`;
  const session = new DragSession(client, atoms, target.window, target.version, Buffer.from(uris, 'utf8'), opts);
  try {
    return await session.run(x, y);
  } finally {
    session.close();
  }
}

async function internAll(client: X11Client): Promise<Atoms> {
  const values = await Promise.all(ATOMS.map((name) => client.internAtom(name)));
  return Object.fromEntries(ATOMS.map((name, i) => [name, values[i]!])) as Atoms;
}

/** The innermost window at (x, y) that announces XdndAware, with the version it speaks. */
async function findDropTarget(
  client: X11Client,
  atoms: Atoms,
  x: number,
  y: number,
): Promise<{ window: number; version: number } | null> {
  let window = client.root;
  for (let depth = 0; depth < MAX_DEPTH; depth++) {
    const child = await client.childAt(window, x, y);
    if (!child) return null;
    const aware = await client.getProperty(child, atoms.XdndAware, XA_ATOM, 4);
    if (aware.type === XA_ATOM && aware.data.length >= 4) {
      return { window: child, version: Math.min(aware.data.readUInt32LE(0), XDND_VERSION) };
    }
    window = child;
  }
  return null;
}

class DragSession {
  private readonly source: number;
  private readonly waiters = new Map<number, (data: number[]) => void>();
  private readonly onEvent = (ev: x11.XEvent) => this.event(ev);

  constructor(
    private readonly client: X11Client,
    private readonly atoms: Atoms,
    private readonly target: number,
    private readonly version: number,
    private readonly uriList: Buffer,
    private readonly opts: DropOptions,
  ) {
    const raw = client.raw;
    this.source = raw.AllocID();
    const INPUT_ONLY = 2;
    raw.CreateWindow(this.source, client.root, -10, -10, 1, 1, 0, 0, INPUT_ONLY, 0, { overrideRedirect: 1 });
    client.on('event', this.onEvent);
    raw.SetSelectionOwner(this.source, atoms.XdndSelection, 0);
  }

  async run(x: number, y: number): Promise<DropResult> {
    const { atoms, target, source } = this;
    this.send(atoms.XdndEnter, [source, this.version << 24, atoms[URI_LIST], 0, 0]);
    const accepted = await this.position(x, y);
    if (accepted !== true) {
      this.send(atoms.XdndLeave, [source, 0, 0, 0, 0]);
      this.opts.logger.info({ target, answered: accepted === false }, 'drop refused by the target window');
      return 'refused';
    }
    const finished = this.next(atoms.XdndFinished, this.opts.finishTimeoutMs ?? 10_000);
    this.send(atoms.XdndDrop, [source, 0, 0, 0, 0]);
    if (!(await finished)) this.opts.logger.warn({ target }, 'drop target never said it finished');
    return 'dropped';
  }

  /**
   * Hovers over the target until it accepts. Targets may answer "no" at first and "yes" once
   * they have looked at the data (a browser asks its page), so the position is repeated after
   * each refusal, as a moving pointer would. null: no answer at all.
   */
  private async position(x: number, y: number): Promise<boolean | null> {
    const { atoms, source } = this;
    const deadline = Date.now() + (this.opts.statusTimeoutMs ?? 3000);
    let answered = false;
    for (;;) {
      const remaining = deadline - Date.now();
      if (remaining <= 0) return answered ? false : null;
      const status = this.next(atoms.XdndStatus, remaining);
      this.send(atoms.XdndPosition, [source, 0, ((x & 0xffff) << 16) | (y & 0xffff), 0, atoms.XdndActionCopy]);
      const answer = await status;
      if (!answer) return answered ? false : null;
      answered = true;
      if ((answer[1]! & 1) === 1) return true;
      await sleep(REPOSITION_MS);
    }
  }

  close(): void {
    this.client.off('event', this.onEvent);
    for (const resolve of this.waiters.values()) resolve([]);
    this.waiters.clear();
    if (this.client.connected) this.client.raw.DestroyWindow(this.source);
  }

  private send(type: number, data: number[]): void {
    if (!this.client.connected) return;
    this.client.raw.SendClientMessage(this.target, this.target, type, 32, data, 0);
  }

  /** Data of the next XDND message of `type` from the target, or null after `timeoutMs`. */
  private next(type: number, timeoutMs: number): Promise<number[] | null> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiters.delete(type);
        resolve(null);
      }, timeoutMs);
      this.waiters.set(type, (data) => {
        clearTimeout(timer);
        this.waiters.delete(type);
        resolve(data.length ? data : null);
      });
    });
  }

  private event(ev: x11.XEvent): void {
    if (ev.name === 'ClientMessage' && ev.wid === this.source && ev.data?.[0] === this.target) {
      this.waiters.get(ev.message_type!)?.(ev.data);
    } else if (ev.name === 'SelectionRequest' && ev.owner === this.source && ev.selection === this.atoms.XdndSelection) {
      this.answer(ev);
    }
  }

  /** Serves the dragged data: the URI list, or the list of types; anything else is refused. */
  private answer(ev: x11.XEvent): void {
    const raw = this.client.raw;
    const { atoms } = this;
    const requestor = ev.requestor!;
    let property = ev.property || ev.target!;
    if (ev.target === atoms[URI_LIST]) {
      raw.ChangeProperty(0, requestor, property, atoms[URI_LIST], 8, this.uriList);
    } else if (ev.target === atoms.TARGETS) {
      raw.ChangeProperty(0, requestor, property, XA_ATOM, 32, [atoms.TARGETS, atoms[URI_LIST]]);
    } else {
      property = 0;
    }
    raw.SendEvent(requestor, 0, 0, {
      name: 'SelectionNotify',
      time: ev.time ?? 0,
      requestor,
      selection: ev.selection!,
      target: ev.target!,
      property,
    });
  }
}
