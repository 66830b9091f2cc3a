import type { Input } from './input.js';

const PRIMARY_BUTTON = 1;
const MAX_COORD = 0xffff;

const clamp = (v: number) => Math.max(0, Math.min(MAX_COORD, Math.trunc(v)));

/**
 * Touch on a desktop with no touch device: X only gets one, through the xf86-input-neko
 * driver, which this server does not ship. The first finger therefore drives the pointer
 * with the primary button held, the way a touch screen acts as a mouse; later fingers are
 * ignored until it lifts.
 */
export class TouchEmulator {
  private active: number | null = null;

  constructor(private readonly input: Input) {}

  begin(touchId: number, x: number, y: number): void {
    if (this.active !== null) return;
    this.active = touchId;
    this.input.move(clamp(x), clamp(y));
    this.input.buttonDown(PRIMARY_BUTTON);
  }

  update(touchId: number, x: number, y: number): void {
    if (touchId !== this.active) return;
    this.input.move(clamp(x), clamp(y));
  }

  end(touchId: number, x: number, y: number): void {
    if (touchId !== this.active) return;
    this.input.move(clamp(x), clamp(y));
    this.input.buttonUp(PRIMARY_BUTTON);
    this.active = null;
  }

  /** Forgets the finger (host change: the input layer already released the button). */
  reset(): void {
    this.active = null;
  }
}
