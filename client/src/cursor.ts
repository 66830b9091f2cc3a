import type { CursorImage } from './channel.js';
import { contentSize, screenToClient, type Point, type Size } from './pointer.js';

/**
 * The remote pointer. As host our own pointer is the remote one, so it wears the remote
 * cursor image; as a viewer the host's pointer is drawn as an overlay at the positions the
 * server pushes (only non-hosts receive them).
 */
export class RemoteCursor {
  private image: CursorImage | undefined;
  private position: Point | undefined;
  private host = false;
  private readonly resize = new ResizeObserver(() => this.layout());
  private readonly relayout = () => this.layout();

  constructor(
    private readonly stage: HTMLElement,
    private readonly video: HTMLVideoElement,
    private readonly overlay: HTMLImageElement,
    private readonly screen: () => Size,
  ) {
    this.resize.observe(stage);
    // Fires when the stream's resolution changes, which moves the letterbox.
    video.addEventListener('resize', this.relayout);
  }

  detach(): void {
    this.resize.disconnect();
    this.video.removeEventListener('resize', this.relayout);
  }

  setImage(image: CursorImage): void {
    this.image = image;
    this.overlay.src = image.url;
    this.layout();
  }

  setPosition(position: Point): void {
    this.position = position;
    this.layout();
  }

  setHost(host: boolean): void {
    this.host = host;
    // Positions stop coming while we are host, so an old one would be stale.
    this.position = undefined;
    this.layout();
  }

  clear(): void {
    this.image = undefined;
    this.position = undefined;
    this.overlay.removeAttribute('src');
    this.layout();
  }

  layout(): void {
    const image = this.image;
    this.stage.style.cursor = this.host && image ? `url("${image.url}") ${image.xhot} ${image.yhot}, default` : '';

    const position = this.position;
    if (this.host || !image || !position) {
      this.overlay.hidden = true;
      return;
    }
    const screen = this.screen();
    const stream = { width: this.video.videoWidth, height: this.video.videoHeight };
    const box = { left: 0, top: 0, width: this.video.clientWidth, height: this.video.clientHeight };
    const at = screenToClient(position, box, contentSize(stream, screen), screen);
    const style = this.overlay.style;
    style.left = `${at.x - image.xhot * at.scale}px`;
    style.top = `${at.y - image.yhot * at.scale}px`;
    style.width = `${image.width * at.scale}px`;
    style.height = `${image.height * at.scale}px`;
    this.overlay.hidden = false;
  }
}
