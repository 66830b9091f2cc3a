import { badRequest, internal, unprocessable } from '../errors.js';
import type { Logger } from '../log.js';
import type { SessionManager } from '../sessions/manager.js';
import type { Session } from '../sessions/session.js';
import type { Settings } from '../sessions/types.js';
import type { Desktop, ScreenSize } from './desktop.js';
import type { DesktopFeatures } from './features.js';
import type { IncomingFile } from './upload.js';
import type { DropResult } from './xdnd.js';

export interface DesktopRoomOptions {
  sessions: SessionManager;
  desktop: Desktop;
  features: DesktopFeatures;
  logger: Logger;
}

/** Contract §3.3: the private-mode fallback image is a JPEG at quality 90. */
const PRIVATE_MODE_QUALITY = 90;

/**
 * The desktop features as the room sees them, shared by the REST routes and the WebSocket
 * handlers: screen changes broadcast `screen/updated`, desktop clipboard changes go to the
 * host, file chooser dialogs belong to the host that had control when they opened (and are
 * cancelled while nobody has control), and private mode freezes what non-admins get from
 * `cast.jpg`.
 */
export class DesktopRoom {
  private dialogOwner: Session | null = null;
  private privateImage: Buffer | null = null;
  /** Screen changes run one at a time: concurrent xrandr calls would race. */
  private screenChange: Promise<unknown> = Promise.resolve();
  private readonly log: Logger;
  private closed = false;

  private readonly onClipboard = (text: string) => this.clipboardChanged(text);
  private readonly onHost = (next: Session | null) => this.hostChanged(next);
  private readonly onSettings = (next: Settings, previous: Settings) => this.settingsChanged(next, previous);
  private readonly onDialogOpened = () => this.dialogOpened();
  private readonly onDialogClosed = () => this.dialogClosed();

  constructor(private readonly opts: DesktopRoomOptions) {
    this.log = opts.logger;
    const { sessions, features } = opts;
    features.clipboard.on('text', this.onClipboard);
    sessions.on('host', this.onHost);
    sessions.on('settings', this.onSettings);
    features.fileChooser?.on('opened', this.onDialogOpened);
    features.fileChooser?.on('closed', this.onDialogClosed);
  }

  get features(): DesktopFeatures {
    return this.opts.features;
  }

  screenSize(): ScreenSize {
    return this.opts.desktop.screenSize();
  }

  screenConfigurations(): ScreenSize[] {
    return this.opts.features.screenModes.map((s) => ({ ...s }));
  }

  /**
   * Applies a screen size (width rounded down to a multiple of 8, rate 0 meaning 60) and
   * broadcasts `screen/updated` with what was applied; `422 cannot set screen size` when the
   * X server refuses it. The capture pipeline follows the desktop's `screen` event.
   * Extension: a size listed in the configurations is applied as it is, so that one whose
   * width is no multiple of 8 (1366x768) can be chosen from the list too.
   */
  setScreen(request: ScreenSize, by: Session): Promise<ScreenSize> {
    const change = this.screenChange.then(async () => {
      const rate = request.rate || 60;
      const listed = this.screenConfigurations().some((s) => s.width === request.width && s.height === request.height);
      const wanted = { width: listed ? request.width : request.width - (request.width % 8), height: request.height, rate };
      let applied: ScreenSize;
      try {
        if (wanted.width < 8 || wanted.height < 1) throw new Error('screen size too small');
        applied = await this.opts.desktop.setScreenSize(wanted);
      } catch (err) {
        this.log.warn({ err, screen: wanted }, 'screen size not set');
        throw unprocessable('cannot set screen size');
      }
      this.opts.sessions.broadcast('screen/updated', { id: by.id, ...applied });
      return applied;
    });
    this.screenChange = change.catch(() => {});
    return change;
  }

  /**
   * The screencast frame for `session`: non-admins in private mode get the image taken when
   * private mode came on, never the live screen.
   */
  async castImage(session: Session): Promise<Buffer> {
    if (this.opts.sessions.settings.private_mode && !session.isAdmin) {
      if (this.privateImage) return this.privateImage;
      throw badRequest('private mode is enabled but no fallback image available');
    }
    const screencast = this.opts.features.screencast;
    if (!screencast) throw badRequest('screencast pipeline is not enabled');
    return screencast.image();
  }

  /** Owner of the dialog being held, for the connect sequence (§5.2 step 4). */
  get dialogOwnerId(): string | null {
    return this.dialogOwner?.id ?? null;
  }

  /**
   * Dropped files land in the upload folder, the pointer goes to the drop point, and the
   * window there gets them by drag and drop if it takes drops. Resolves once the window has
   * taken them (or refused: the files stay in the folder either way).
   */
  async drop(x: number, y: number, files: IncomingFile[]): Promise<DropResult> {
    const at = { x: clampCoord(x), y: clampCoord(y) };
    let placed: string[];
    try {
      placed = await this.opts.features.uploads.drop(files);
    } catch (err) {
      this.log.error({ err }, 'dropped files not saved');
      throw internal('unable to drop files');
    }
    this.opts.desktop.input.move(at.x, at.y);
    const result = await this.opts.features.dropFiles(at.x, at.y, placed).catch((err: unknown) => {
      this.log.warn({ err }, 'drag and drop failed; the files stay in the upload folder');
      return 'refused' as const;
    });
    this.log.info({ files: placed, ...at, result }, 'files dropped');
    return result;
  }

  /** Hands files to the open file chooser dialog (`422` when none is open). */
  async dialogUpload(files: IncomingFile[]): Promise<void> {
    const chooser = this.opts.features.fileChooser;
    if (!chooser?.isOpen) throw unprocessable('file chooser dialog is not open');
    try {
      const dir = await this.opts.features.uploads.dialogBatch(files);
      await chooser.answer(dir, this.opts.desktop.input);
      this.log.info({ dir, count: files.length }, 'files handed to the file chooser dialog');
    } catch (err) {
      this.log.error({ err }, 'file chooser dialog not answered');
      throw internal('unable to upload files to the file chooser dialog');
    }
  }

  /** Cancels the open file chooser dialog (`422` when none is open). */
  async closeDialog(): Promise<void> {
    const chooser = this.opts.features.fileChooser;
    if (!chooser?.isOpen) throw unprocessable('file chooser dialog is not open');
    await chooser.dismiss(this.opts.desktop.input);
  }

  /** Stops listening; the features themselves are closed by their owner. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    const { sessions, features } = this.opts;
    features.clipboard.off('text', this.onClipboard);
    sessions.off('host', this.onHost);
    sessions.off('settings', this.onSettings);
    features.fileChooser?.off('opened', this.onDialogOpened);
    features.fileChooser?.off('closed', this.onDialogClosed);
  }

  private clipboardChanged(text: string): void {
    const host = this.opts.sessions.host;
    if (host?.profile.can_access_clipboard) host.send('clipboard/updated', { text });
  }

  /** Nobody left to answer the dialog: the contract closes it. */
  private hostChanged(next: Session | null): void {
    if (next === null) this.dismissDialog('no host');
  }

  private settingsChanged(next: Settings, previous: Settings): void {
    if (!next.private_mode) {
      this.privateImage = null;
      return;
    }
    if (previous.private_mode) return;
    this.opts.features
      .screenshot(PRIVATE_MODE_QUALITY)
      .then((image) => {
        if (this.opts.sessions.settings.private_mode && !this.closed) this.privateImage = image;
      })
      .catch((err: unknown) => this.log.warn({ err }, 'no private mode fallback image'));
  }

  private dialogOpened(): void {
    const host = this.opts.sessions.host;
    if (!host) {
      this.dismissDialog('no host');
      return;
    }
    this.dialogOwner = host;
    this.opts.sessions.broadcast('file_chooser_dialog/opened', { id: host.id });
  }

  private dialogClosed(): void {
    if (!this.dialogOwner) return;
    this.dialogOwner = null;
    this.opts.sessions.broadcast('file_chooser_dialog/closed', { id: '' });
  }

  private dismissDialog(reason: string): void {
    const chooser = this.opts.features.fileChooser;
    if (!chooser?.isOpen) return;
    this.log.info({ reason }, 'cancelling the file chooser dialog');
    chooser.dismiss(this.opts.desktop.input).catch((err: unknown) => this.log.warn({ err }, 'file chooser dialog not cancelled'));
  }
}

/** X coordinates are 16-bit signed on the wire; the screen never goes beyond that. */
function clampCoord(v: number): number {
  return Math.min(Math.max(Math.trunc(v), 0), 0x7fff);
}
