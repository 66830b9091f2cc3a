import { keysymFor } from './keysyms.js';
import { clientToScreen, contentSize, WheelNormaliser, xButton, type Point, type Size } from './pointer.js';
import type { Socket } from './socket.js';

export type InputMessage =
  | { type: 'move'; x: number; y: number }
  | { type: 'scroll'; deltaX: number; deltaY: number; controlKey: boolean }
  | { type: 'keyDown' | 'keyUp'; keysym: number }
  | { type: 'buttonDown' | 'buttonUp'; button: number };

export interface InputTarget {
  isHost(): boolean;
  screen(): Size;
  send(msg: InputMessage): void;
}

/**
 * Mouse, wheel and keyboard over the stage → remote input, only while we are host.
 * Remembers what it pressed so releases always match: a key is released with the keysym
 * it was pressed with even if modifiers changed in between, and nothing stays stuck
 * when focus leaves the stage.
 */
export class Input {
  private readonly keys = new Map<string, number>();
  private readonly buttons = new Set<number>();
  private readonly wheel = new WheelNormaliser();
  private last: Point | undefined;

  constructor(
    private readonly stage: HTMLElement,
    private readonly video: HTMLVideoElement,
    private readonly target: InputTarget,
  ) {
    stage.addEventListener('mousedown', (ev) => this.mouseDown(ev));
    // On window so drags that leave the stage still move and release.
    window.addEventListener('mousemove', (ev) => this.mouseMove(ev));
    window.addEventListener('mouseup', (ev) => this.mouseUp(ev));
    stage.addEventListener('wheel', (ev) => this.wheelEvent(ev), { passive: false });
    stage.addEventListener('contextmenu', (ev) => ev.preventDefault());
    stage.addEventListener('keydown', (ev) => this.keyDown(ev));
    stage.addEventListener('keyup', (ev) => this.keyUp(ev));
    stage.addEventListener('blur', () => this.releaseAll());
  }

  /** Forgets held keys and buttons without sending releases (the server already dropped them). */
  reset(): void {
    this.keys.clear();
    this.buttons.clear();
    this.last = undefined;
  }

  private toScreen(ev: MouseEvent): Point {
    const screen = this.target.screen();
    const stream = { width: this.video.videoWidth, height: this.video.videoHeight };
    const box = this.video.getBoundingClientRect();
    return clientToScreen({ x: ev.clientX, y: ev.clientY }, box, contentSize(stream, screen), screen);
  }

  private moveTo(ev: MouseEvent): void {
    const p = this.toScreen(ev);
    if (this.last && this.last.x === p.x && this.last.y === p.y) return;
    this.last = p;
    this.target.send({ type: 'move', x: p.x, y: p.y });
  }

  private mouseDown(ev: MouseEvent): void {
    this.stage.focus({ preventScroll: true });
    if (!this.target.isHost()) return;
    const button = xButton(ev.button);
    // Default would start text selection or drag the video; focus was handled above.
    ev.preventDefault();
    if (button === undefined || this.buttons.has(button)) return;
    this.moveTo(ev);
    this.buttons.add(button);
    this.target.send({ type: 'buttonDown', button });
  }

  private mouseMove(ev: MouseEvent): void {
    if (!this.target.isHost()) return;
    if (this.buttons.size === 0 && !(ev.target instanceof Node && this.stage.contains(ev.target))) return;
    this.moveTo(ev);
  }

  private mouseUp(ev: MouseEvent): void {
    const button = xButton(ev.button);
    if (button === undefined || !this.buttons.delete(button)) return;
    if (!this.target.isHost()) return;
    this.moveTo(ev);
    this.target.send({ type: 'buttonUp', button });
  }

  private wheelEvent(ev: WheelEvent): void {
    if (!this.target.isHost()) return;
    ev.preventDefault();
    const { deltaX, deltaY } = this.wheel.push(ev);
    if (deltaX === 0 && deltaY === 0) return;
    this.moveTo(ev);
    this.target.send({ type: 'scroll', deltaX, deltaY, controlKey: ev.ctrlKey });
  }

  private keyDown(ev: KeyboardEvent): void {
    if (!this.target.isHost() || ev.isComposing) return;
    const keysym = keysymFor(ev);
    if (keysym === undefined) return;
    ev.preventDefault();
    const id = ev.code || ev.key;
    // The remote X server generates its own autorepeat for a held key.
    if (this.keys.has(id)) return;
    this.keys.set(id, keysym);
    this.target.send({ type: 'keyDown', keysym });
  }

  private keyUp(ev: KeyboardEvent): void {
    const id = ev.code || ev.key;
    const keysym = this.keys.get(id);
    if (keysym === undefined) return;
    ev.preventDefault();
    this.keys.delete(id);
    if (this.target.isHost()) this.target.send({ type: 'keyUp', keysym });
  }

  private releaseAll(): void {
    if (this.target.isHost()) {
      for (const keysym of this.keys.values()) this.target.send({ type: 'keyUp', keysym });
      for (const button of this.buttons) this.target.send({ type: 'buttonUp', button });
    }
    this.keys.clear();
    this.buttons.clear();
  }
}

/**
 * The JSON fallback of protocol.md §8.3 for when the data channel is not open. These
 * events implicitly request control, which is harmless since only the host sends input.
 */
export function sendOverSocket(socket: Socket, msg: InputMessage): void {
  switch (msg.type) {
    case 'move':
      socket.send('control/move', { x: msg.x, y: msg.y });
      break;
    case 'scroll':
      socket.send('control/scroll', { delta_x: msg.deltaX, delta_y: msg.deltaY, control_key: msg.controlKey });
      break;
    case 'keyDown':
      socket.send('control/keydown', { keysym: msg.keysym });
      break;
    case 'keyUp':
      socket.send('control/keyup', { keysym: msg.keysym });
      break;
    case 'buttonDown':
      socket.send('control/buttondown', { code: msg.button });
      break;
    case 'buttonUp':
      socket.send('control/buttonup', { code: msg.button });
      break;
  }
}
