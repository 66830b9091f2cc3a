import x11 from 'x11';
import { X11Client } from '../../server/src/desktop/x11-client.js';
import { ControlMask } from './x11.js';

/**
 * A stand-in for a GTK file chooser: a window titled "Open File" (set before it is mapped,
 * as toolkits do) that records the keys it gets and goes away on Escape.
 */
export class DialogWindow {
  readonly keys: Array<{ keycode: number; state: number }> = [];
  gone = false;

  private constructor(
    readonly client: X11Client,
    readonly wid: number,
  ) {}

  static async open(display: string, title = 'Open File'): Promise<DialogWindow> {
    const client = await X11Client.connect(display);
    const raw = client.raw;
    const wid = raw.AllocID();
    const win = new DialogWindow(client, wid);
    client.on('event', (ev) => {
      if (ev.wid !== wid || ev.name !== 'KeyPress') return;
      win.keys.push({ keycode: ev.keycode!, state: ev.buttons! });
      if (ev.keycode === 9) {
        raw.DestroyWindow(wid); // Escape (keycode 9 on the evdev layout)
        win.gone = true;
      }
    });
    raw.CreateWindow(wid, client.root, 10, 10, 300, 200, 0, 0, 0, 0, { eventMask: x11.eventMask.KeyPress });
    raw.ChangeProperty(0, wid, 39 /* WM_NAME */, 31 /* STRING */, 8, title);
    raw.MapWindow(wid);
    await client.sync();
    return win;
  }

  /** The characters typed without Control, decoded with the keyboard mapping now. */
  async typed(): Promise<string> {
    const map = await this.client.keyboardMapping();
    return this.keys
      .filter((k) => !(k.state & ControlMask))
      .map((k) => map.rows[k.keycode - map.minKeycode]![0]!)
      .filter((sym) => sym >= 0x20 && sym < 0x100)
      .map((sym) => String.fromCharCode(sym))
      .join('');
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}
