import { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import x11 from 'x11';
import type { Logger } from '../log.js';
import type { Input } from './input.js';
import type { X11Client } from './x11-client.js';

/** Titles of the file chooser dialogs of GTK applications (Chromium, Firefox, GIMP, …). */
const DEFAULT_DIALOG_TITLES = /^(Open File|Open Files|File Upload|Select File|Select Files|Choose File|Choose Files)$/i;

export interface FileChooserOptions {
  logger: Logger;
  /** Decides from a window title whether it is a file chooser dialog. */
  isDialog?: (title: string) => boolean;
  /** Pauses between the keystrokes that drive a dialog (default 300 ms). */
  stepMs?: number;
}

export interface FileChooserEvents {
  opened: [];
  closed: [];
}

interface Dialog {
  /** Child of the root window: the dialog itself, or the window manager's frame around it. */
  toplevel: number;
  /** The window whose title matched (where the keyboard focus goes). */
  window: number;
}

const XK = {
  Control_L: 0xffe3,
  Return: 0xff0d,
  Escape: 0xff1b,
  Delete: 0xffff,
  a: 0x61,
  l: 0x6c,
};
/** Windows looked at below each top-level window: frames of a window manager nest the client. */
const MAX_DEPTH = 2;
const MAX_CHILDREN = 64;

/**
 * Notices file chooser dialogs on the desktop and drives them with the keyboard. Detection
 * is by window title (pluggable): every window mapped on the root (with a window manager, its
 * frame) is checked together with the windows inside it. Needs a connection of its own:
 * it selects SubstructureNotify on the root, and event masks are per connection.
 */
export class FileChooser extends EventEmitter<FileChooserEvents> {
  private client: X11Client | null = null;
  private dialog: Dialog | null = null;
  private readonly isDialog: (title: string) => boolean;
  private atoms: { netWmName: number; utf8: number } | null = null;
  private closed = false;

  constructor(private readonly opts: FileChooserOptions) {
    super();
    this.isDialog = opts.isDialog ?? ((title) => DEFAULT_DIALOG_TITLES.test(title.trim()));
  }

  get isOpen(): boolean {
    return this.dialog !== null;
  }

  /** Starts watching `client`'s screen (call again for each new connection). */
  async attach(client: X11Client): Promise<void> {
    if (this.closed) return;
    this.client = client;
    this.atoms = { netWmName: await client.internAtom('_NET_WM_NAME'), utf8: await client.internAtom('UTF8_STRING') };
    client.selectInput(client.root, x11.eventMask.SubstructureNotify);
    client.on('event', (ev) => {
      if (this.client !== client) return;
      if (ev.name === 'MapNotify' && ev.event === client.root && ev.wid) this.check(client, ev.wid);
      if ((ev.name === 'UnmapNotify' || ev.name === 'DestroyNotify') && ev.wid === this.dialog?.toplevel) this.gone();
    });
    client.once('close', () => {
      if (this.client === client) this.client = null;
      this.gone();
    });
    for (const wid of await client.children(client.root)) this.check(client, wid);
  }

  /**
   * Answers the open dialog with every file in `dir`, the way a GTK file chooser is driven
   * from the keyboard: location bar (Ctrl+L), the folder, Delete to drop the completion the
   * entry may have appended, Return to go there, Ctrl+A to select all, Return to accept.
   */
  async answer(dir: string, input: Input): Promise<void> {
    await this.focusDialog();
    const step = () => sleep(this.opts.stepMs ?? 300);
    chord(input, XK.Control_L, XK.l);
    await step();
    type(input, `${dir}/`);
    await step();
    press(input, XK.Delete);
    press(input, XK.Return);
    // The dialog lists the folder before anything can be selected in it.
    await step();
    await step();
    chord(input, XK.Control_L, XK.a);
    await step();
    press(input, XK.Return);
  }

  /** Cancels the open dialog (Escape, what a user would press). */
  async dismiss(input: Input): Promise<void> {
    await this.focusDialog();
    press(input, XK.Escape);
  }

  close(): void {
    this.closed = true;
    this.client = null;
    this.dialog = null;
  }

  /** Keys are injected on another connection: the focus must be in place before they come. */
  private async focusDialog(): Promise<X11Client> {
    const client = this.client;
    const dialog = this.dialog;
    if (!client || !dialog) throw new Error('no file chooser dialog open');
    client.setInputFocus(dialog.window);
    await client.sync();
    return client;
  }

  private check(client: X11Client, toplevel: number): void {
    if (this.dialog) return;
    this.find(client, toplevel, 0)
      .then((window) => {
        if (window === null || this.dialog || this.client !== client || this.closed) return;
        this.dialog = { toplevel, window };
        this.opts.logger.info({ window }, 'file chooser dialog opened');
        this.emit('opened');
      })
      // A window that disappears while we look at it is no dialog of ours.
      .catch((err: unknown) => this.opts.logger.debug({ err, window: toplevel }, 'window not inspected'));
  }

  /** The first window at or below `wid` (up to MAX_DEPTH) whose title says file chooser. */
  private async find(client: X11Client, wid: number, depth: number): Promise<number | null> {
    if (this.isDialog(await this.title(client, wid))) return wid;
    if (depth >= MAX_DEPTH) return null;
    for (const child of (await client.children(wid)).slice(0, MAX_CHILDREN)) {
      const found = await this.find(client, child, depth + 1);
      if (found !== null) return found;
    }
    return null;
  }

  private async title(client: X11Client, wid: number): Promise<string> {
    const atoms = this.atoms!;
    const net = await client.getProperty(wid, atoms.netWmName, atoms.utf8, 1024);
    if (net.type !== 0 && net.data.length > 0) return net.data.toString('utf8');
    const WM_NAME = 39;
    const legacy = await client.getProperty(wid, WM_NAME, 0, 1024);
    return legacy.data.toString('latin1');
  }

  private gone(): void {
    if (!this.dialog) return;
    this.dialog = null;
    this.opts.logger.info('file chooser dialog closed');
    this.emit('closed');
  }
}

function press(input: Input, keysym: number): void {
  input.keyDown(keysym);
  input.keyUp(keysym);
}

function chord(input: Input, modifier: number, keysym: number): void {
  input.keyDown(modifier);
  press(input, keysym);
  input.keyUp(modifier);
}

/** Types text character by character (keysyms of Latin-1 are their code, others 0x1000000+). */
function type(input: Input, text: string): void {
  for (const ch of text) {
    const code = ch.codePointAt(0)!;
    press(input, code < 0x100 ? code : 0x1000000 + code);
  }
}
