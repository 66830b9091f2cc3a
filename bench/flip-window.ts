/**
 * A square X window that swaps its background between black and white on every KeyPress,
 * so a key sent through the data channel becomes a visible change that the viewer can time.
 * The repaint is issued from the KeyPress handler itself: the time the press reached this
 * client splits input-to-photon into its input and its picture halves.
 */
import { performance } from 'node:perf_hooks';
import x11 from 'x11';
import { X11Client } from '../server/src/desktop/x11-client.js';

export class FlipWindow {
  /** Colour shown now (after the last repaint request). */
  white = false;
  /** performance.now() of each KeyPress that reached the window, in order. */
  readonly presses: number[] = [];

  private repaint: () => void = () => {};

  private constructor(
    private readonly client: X11Client,
    /** Centre of the window on the screen. */
    readonly centre: { x: number; y: number },
  ) {}

  /** Flips the colour without a key (for timing the picture path alone); returns when. */
  toggle(): number {
    const at = performance.now();
    this.white = !this.white;
    this.repaint();
    return at;
  }

  static async open(display: string, size = 256, timeoutMs = 5000): Promise<FlipWindow> {
    const client = await X11Client.connect(display, { timeoutMs });
    try {
      const raw = client.raw;
      const screen = raw.display.screen[0];
      const { width, height } = await client.screenSize();
      const x = Math.round((width - size) / 2);
      const y = Math.round((height - size) / 2);
      const wid = raw.AllocID();
      const win = new FlipWindow(client, { x: x + (size >> 1), y: y + (size >> 1) });
      let mapped!: () => void;
      const isMapped = new Promise<void>((resolve) => (mapped = resolve));
      win.repaint = () => {
        raw.ChangeWindowAttributes(wid, { backgroundPixel: win.white ? screen.white_pixel : screen.black_pixel });
        raw.ClearArea(wid, 0, 0, 0, 0, 0);
      };
      client.on('event', (ev) => {
        if (ev.wid !== wid) return;
        if (ev.name === 'MapNotify') mapped();
        else if (ev.name === 'KeyPress') {
          win.presses.push(performance.now());
          win.white = !win.white;
          win.repaint();
        }
      });
      raw.CreateWindow(wid, client.root, x, y, size, size, 0, 0, 0, 0, {
        backgroundPixel: screen.black_pixel,
        eventMask: x11.eventMask.KeyPress | x11.eventMask.StructureNotify,
      });
      raw.MapWindow(wid);
      await withTimeout(isMapped, timeoutMs, 'flip window mapped');
      // No window manager: focus has to be given explicitly for keys to arrive here.
      raw.SetInputFocus(wid, 1);
      await client.sync();
      return win;
    } catch (err) {
      await client.close();
      throw err;
    }
  }

  close(): Promise<void> {
    return this.client.close();
  }
}

export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
