// Pointer maths shared by the input handler and the cursor overlay. DOM-free so it can be
// unit-tested under Node.

export interface Size {
  readonly width: number;
  readonly height: number;
}

export interface Rect extends Size {
  readonly left: number;
  readonly top: number;
}

export interface Point {
  readonly x: number;
  readonly y: number;
}

/**
 * Where `object-fit: contain` draws content of intrinsic size `content` inside `box`:
 * scaled to fit, centred, letterboxed on the other axis.
 */
export function containRect(box: Rect, content: Size): Rect {
  if (content.width <= 0 || content.height <= 0 || box.width <= 0 || box.height <= 0) {
    return box;
  }
  const scale = Math.min(box.width / content.width, box.height / content.height);
  const width = content.width * scale;
  const height = content.height * scale;
  return {
    left: box.left + (box.width - width) / 2,
    top: box.top + (box.height - height) / 2,
    width,
    height,
  };
}

/** The picture's intrinsic size: the stream's once it has frames, until then the screen's. */
export function contentSize(stream: Size, screen: Size): Size {
  return stream.width > 0 && stream.height > 0 ? stream : screen;
}

const clamp = (v: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, v));

/**
 * Client (viewport) coordinates → remote screen pixels. The picture is drawn from a stream
 * whose resolution may differ from the screen, so positions go through the displayed
 * picture's fraction rather than stream pixels. Points over the letterbox bars clamp to the
 * nearest edge so drags that leave the picture still reach the screen border.
 */
export function clientToScreen(client: Point, box: Rect, content: Size, screen: Size): Point {
  const pic = containRect(box, content);
  if (pic.width <= 0 || pic.height <= 0 || screen.width <= 0 || screen.height <= 0) {
    return { x: 0, y: 0 };
  }
  const fx = (client.x - pic.left) / pic.width;
  const fy = (client.y - pic.top) / pic.height;
  return {
    x: clamp(Math.floor(fx * screen.width), 0, screen.width - 1),
    y: clamp(Math.floor(fy * screen.height), 0, screen.height - 1),
  };
}

/** Inverse of clientToScreen, plus the picture's scale so overlays can be sized to match. */
export function screenToClient(point: Point, box: Rect, content: Size, screen: Size): Point & { scale: number } {
  const pic = containRect(box, content);
  if (screen.width <= 0 || screen.height <= 0) return { x: pic.left, y: pic.top, scale: 1 };
  return {
    x: pic.left + (point.x / screen.width) * pic.width,
    y: pic.top + (point.y / screen.height) * pic.height,
    scale: pic.width / screen.width,
  };
}

/** DOM MouseEvent.button → X button number; undefined for buttons X has no use for. */
export function xButton(domButton: number): number | undefined {
  switch (domButton) {
    case 0: return 1; // left
    case 1: return 2; // middle
    case 2: return 3; // right
    case 3: return 8; // back
    case 4: return 9; // forward
    default: return undefined;
  }
}

const DOM_DELTA_PIXEL = 0;

export interface WheelLike {
  readonly deltaX: number;
  readonly deltaY: number;
  readonly deltaMode: number;
}

// A wheel notch is ~50-120 px depending on browser and platform; touchpads send many
// small pixel deltas instead. Anything at or above this is treated as one notch.
const NOTCH_PX = 50;

/**
 * Turns DOM wheel events into wheel clicks for the remote side (one unit = one click).
 * Notch-sized or line/page events count as exactly one click, so a notch scrolls the same
 * amount everywhere; smaller pixel deltas accumulate until they add up to a notch.
 * The result uses the contract's sign convention (positive y = wheel up), the reverse of
 * the DOM's (positive deltaY = scroll down).
 */
export class WheelNormaliser {
  private accX = 0;
  private accY = 0;

  push(ev: WheelLike): { deltaX: number; deltaY: number } {
    const discrete = ev.deltaMode !== DOM_DELTA_PIXEL;
    const [dx, accX] = step(ev.deltaX, this.accX, discrete);
    const [dy, accY] = step(ev.deltaY, this.accY, discrete);
    this.accX = accX;
    this.accY = accY;
    return { deltaX: dx, deltaY: dy === 0 ? 0 : -dy };
  }
}

function step(delta: number, acc: number, discrete: boolean): [click: number, acc: number] {
  if (delta === 0) return [0, acc];
  if (discrete || Math.abs(delta) >= NOTCH_PX) return [Math.sign(delta), 0];
  // A change of direction discards what was accumulated the other way.
  const sum = Math.sign(acc) === -Math.sign(delta) ? delta : acc + delta;
  if (Math.abs(sum) >= NOTCH_PX) return [Math.sign(sum), sum - Math.sign(sum) * NOTCH_PX];
  return [0, sum];
}

/**
 * Applies the user's scroll settings to wheel clicks: `sensitivity` 10 passes clicks
 * through, 20 doubles them, 5 halves them (fractions carry over to the next event);
 * `invert` flips both axes.
 */
export class ScrollScaler {
  private accX = 0;
  private accY = 0;

  scale(clicks: { deltaX: number; deltaY: number }, sensitivity: number, invert: boolean): { deltaX: number; deltaY: number } {
    const factor = (invert ? -1 : 1) * (sensitivity / 10);
    // A change of direction starts afresh, as with the wheel itself.
    if (Math.sign(this.accX) === -Math.sign(clicks.deltaX * factor)) this.accX = 0;
    if (Math.sign(this.accY) === -Math.sign(clicks.deltaY * factor)) this.accY = 0;
    this.accX += clicks.deltaX * factor;
    this.accY += clicks.deltaY * factor;
    const deltaX = Math.trunc(this.accX);
    const deltaY = Math.trunc(this.accY);
    this.accX -= deltaX;
    this.accY -= deltaY;
    return { deltaX: clampClicks(deltaX), deltaY: clampClicks(deltaY) };
  }
}

/** The wire carries i16 deltas; far fewer is plenty for one event. */
const MAX_CLICKS = 100;
const clampClicks = (n: number): number => Math.max(-MAX_CLICKS, Math.min(MAX_CLICKS, n)) || 0;
