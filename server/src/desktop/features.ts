import type { Logger } from '../log.js';
import { Clipboard } from './clipboard.js';
import type { Desktop, ScreenSize } from './desktop.js';
import { FileChooser } from './file-chooser.js';
import { Keyboard } from './keyboard.js';
import { listScreenModes } from './screen-modes.js';
import { Screencast, frameIntervalMs, screenshotJpeg } from './screenshot.js';
import { Uploads } from './upload.js';
import type { X11Client } from './x11-client.js';
import { dropFiles, type DropResult } from './xdnd.js';
import { X11Link } from './x11-link.js';

export interface DesktopFeaturesOptions {
  desktop: Desktop;
  logger: Logger;
  /** `capture.screencast.*`; a custom GStreamer `pipeline` is not used (see start()). */
  screencast: { enabled: boolean; rate: string; quality: number; pipeline: string };
  /** Watch for file chooser dialogs (`desktop.file_chooser_dialog`). */
  fileChooserDialog: boolean;
  /** Parent folder of the upload folder (default: the OS temp directory). */
  uploadParent?: string;
}

/**
 * What the room does with the desktop besides streaming it and injecting input: keyboard
 * layout and modifiers, clipboard, screenshots and screencast, screen configurations,
 * uploads and file chooser dialogs. Uses an X connection of its own (reconnected like the
 * desktop's), so a large screenshot never delays input and the dialog watcher's event mask
 * does not replace the desktop's.
 */
export class DesktopFeatures {
  private closing: Promise<void> | null = null;

  private constructor(
    private readonly link: X11Link,
    private readonly logger: Logger,
    readonly keyboard: Keyboard,
    readonly clipboard: Clipboard,
    /** null when `capture.screencast.enabled` is off. */
    readonly screencast: Screencast | null,
    readonly uploads: Uploads,
    /** null when `desktop.file_chooser_dialog` is off. */
    readonly fileChooser: FileChooser | null,
    /** The display's screen configurations, read once at start (modes do not change). */
    readonly screenModes: ScreenSize[],
  ) {}

  static async start(opts: DesktopFeaturesOptions): Promise<DesktopFeatures> {
    const { desktop } = opts;
    const log = (module: string) => opts.logger.child({ module });
    const logger = log('desktop-features');
    const link = new X11Link({ display: desktop.display, logger });
    const clipboard = new Clipboard({ display: desktop.display, logger: log('clipboard') });
    const fileChooser = opts.fileChooserDialog ? new FileChooser({ logger: log('file-chooser') }) : null;
    try {
      const attach = (client: X11Client) => {
        clipboard.attach(client).catch((err: unknown) => logger.warn({ err }, 'clipboard changes not watched'));
        fileChooser?.attach(client).catch((err: unknown) => logger.warn({ err }, 'file chooser dialogs not watched'));
      };
      link.on('connected', attach);
      await link.open();
      const keyboard = new Keyboard({ display: desktop.display, client: () => link.client });
      if (opts.screencast.enabled && opts.screencast.pipeline) {
        logger.warn('capture.screencast.pipeline is ignored: screencast frames are grabbed from X and encoded in-process');
      }
      const screencast = opts.screencast.enabled
        ? new Screencast({
            grab: async () => screenshotJpeg(connected(link), opts.screencast.quality),
            intervalMs: frameIntervalMs(opts.screencast.rate),
            logger: log('screencast'),
          })
        : null;
      const uploads = new Uploads({ logger: log('uploads'), parent: opts.uploadParent, owner: desktop.user });
      const modes = await listScreenModes(desktop.display, desktop.screenSize().rate).catch((err: unknown) => {
        logger.warn({ err }, 'screen configurations unknown; offering the current size only');
        return [desktop.screenSize()];
      });
      return new DesktopFeatures(link, log('xdnd'), keyboard, clipboard, screencast, uploads, fileChooser, modes);
    } catch (err) {
      clipboard.close();
      fileChooser?.close();
      await link.close();
      throw err;
    }
  }

  /** JPEG of the screen now. */
  async screenshot(quality: number): Promise<Buffer> {
    return screenshotJpeg(connected(this.link), quality);
  }

  /** Drags files onto the window at (x, y) (XDND); the pointer should already be there. */
  async dropFiles(x: number, y: number, paths: string[]): Promise<DropResult> {
    return dropFiles(connected(this.link), x, y, paths, { logger: this.logger });
  }

  /** Stops the screencast, the clipboard owner and the watchers, removes the upload folder; idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.screencast?.close();
      this.fileChooser?.close();
      this.clipboard.close();
      await this.uploads.close();
      await this.link.close();
    })();
    return this.closing;
  }
}

function connected(link: X11Link): X11Client {
  const client = link.client;
  if (!client) throw new Error('X display not connected');
  return client;
}
