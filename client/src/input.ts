import { keysymFor, keysymForChar } from './keysyms.js';
import {
  clientToScreen, contentSize, ScrollScaler, WheelNormaliser, xButton, type Point, type Size, type WheelLike,
} from './pointer.js';
import type { Socket } from './socket.js';
import { TouchGestures, type Gesture, type TouchPoint } from './touch.js';

export type InputMessage =
  | { type: 'move'; x: number; y: number }
  | { type: 'scroll'; deltaX: number; deltaY: number; controlKey: boolean }
  | { type: 'keyDown' | 'keyUp'; keysym: number }
  | { type: 'buttonDown' | 'buttonUp'; button: number };

/**
 * - host: input goes to the desktop;
 * - implicit: nobody hosts and the room makes whoever acts host: input goes over the
 *   WebSocket, which makes us host first (contract §6);
 * - none: input is not ours to give; the target is told so it can say why.
 */
export type InputMode = 'host' | 'implicit' | 'none';

export interface InputTarget {
  mode(): InputMode;
  /** Someone without control clicked, tapped or typed. */
  refused(): void;
  screen(): Size;
  scroll(): { sensitivity: number; invert: boolean };
  send(msg: InputMessage): void;
}

const XK_Return = 0xff0d;
const XK_Tab = 0xff09;
const XK_BackSpace = 0xff08;

/** Keysyms that type `text`, one per character; line breaks become Return. */
export function keysymsForText(text: string): number[] {
  const out: number[] = [];
  for (const ch of text.replace(/\r\n?/g, '\n')) {
    const cp = ch.codePointAt(0)!;
    if (ch === '\n') out.push(XK_Return);
    else if (ch === '\t') out.push(XK_Tab);
    else if (cp >= 0x20 && cp !== 0x7f) out.push(keysymForChar(cp));
  }
  return out;
}

/**
 * Mouse, wheel, touch and keyboard over the stage → remote input. Remembers what it pressed
 * so releases always match: a key is released with the keysym it was pressed with even if
 * modifiers changed in between, and nothing stays stuck when focus leaves the stage.
 */
export class Input {
  private readonly keys = new Map<string, number>();
  private readonly buttons = new Set<number>();
  private readonly wheel = new WheelNormaliser();
  private readonly touchWheel = new WheelNormaliser();
  private readonly scaler = new ScrollScaler();
  private readonly gestures: TouchGestures;
  private readonly detachers: Array<() => void> = [];
  private readonly keyTargets = new Set<Element>();
  private last: Point | undefined;
  private touchRefused = false;

  constructor(
    private readonly stage: HTMLElement,
    private readonly video: HTMLVideoElement,
    private readonly target: InputTarget,
  ) {
    this.gestures = new TouchGestures((g) => this.gesture(g), {
      set: (fn, ms) => window.setTimeout(fn, ms),
      clear: (handle) => window.clearTimeout(handle as number),
    });
    this.listen(stage, 'mousedown', (ev) => this.mouseDown(ev));
    // On window so drags that leave the stage still move and release.
    this.listen(window, 'mousemove', (ev) => this.mouseMove(ev));
    this.listen(window, 'mouseup', (ev) => this.mouseUp(ev));
    this.listen(stage, 'wheel', (ev) => this.wheelEvent(ev), { passive: false });
    this.listen(stage, 'contextmenu', (ev) => {
      if (!this.onControl(ev)) ev.preventDefault();
    });
    for (const type of ['touchstart', 'touchmove', 'touchend', 'touchcancel'] as const) {
      this.listen(stage, type, (ev) => this.touch(ev), { passive: false });
    }
    this.bindKeys(stage);
  }

  private listen<K extends keyof HTMLElementEventMap>(
    on: HTMLElement | Window,
    type: K,
    fn: (ev: HTMLElementEventMap[K]) => void,
    opts?: AddEventListenerOptions,
  ): void {
    const handler = fn as EventListener;
    on.addEventListener(type, handler, opts);
    this.detachers.push(() => on.removeEventListener(type, handler, opts));
  }

  /** Also takes keys typed into `el` (the on-screen keyboard's text box). */
  bindKeys(el: HTMLElement): void {
    this.keyTargets.add(el);
    this.listen(el, 'keydown', (ev) => this.keyDown(ev));
    this.listen(el, 'keyup', (ev) => this.keyUp(ev));
    this.listen(el, 'blur', () => this.releaseAll());
  }

  /** Stops listening; held keys and buttons are released first. */
  detach(): void {
    this.releaseAll();
    this.gestures.reset();
    for (const off of this.detachers.splice(0)) off();
  }

  /** Forgets held keys and buttons without sending releases (the server already dropped them). */
  reset(): void {
    this.keys.clear();
    this.buttons.clear();
    this.gestures.reset();
    this.last = undefined;
  }

  /** Types text that arrived without key events (phone keyboards, IME): a press and release per character. */
  typeText(text: string): void {
    for (const keysym of keysymsForText(text)) this.pressKeysym(keysym);
  }

  /** Backspace from a phone keyboard, which reports deletions rather than keys. */
  backspace(): void {
    this.pressKeysym(XK_BackSpace);
  }

  private pressKeysym(keysym: number): void {
    if (!this.allowed()) return;
    this.target.send({ type: 'keyDown', keysym });
    this.target.send({ type: 'keyUp', keysym });
  }

  /** True when input may go out now; otherwise says why (once per action). */
  private allowed(): boolean {
    if (this.target.mode() !== 'none') return true;
    this.target.refused();
    return false;
  }

  private toScreen(client: Point): Point {
    const screen = this.target.screen();
    const stream = { width: this.video.videoWidth, height: this.video.videoHeight };
    const box = this.video.getBoundingClientRect();
    return clientToScreen(client, box, contentSize(stream, screen), screen);
  }

  private moveTo(client: Point): void {
    const p = this.toScreen(client);
    if (this.last && this.last.x === p.x && this.last.y === p.y) return;
    this.last = p;
    this.target.send({ type: 'move', x: p.x, y: p.y });
  }

  /** Controls drawn over the stage (overlays marked `data-ui`) keep their clicks and touches. */
  private onControl(ev: Event): boolean {
    return ev.target instanceof Element && ev.target !== this.stage && ev.target.closest('[data-ui]') !== null;
  }

  private mouseDown(ev: MouseEvent): void {
    if (this.onControl(ev)) return;
    this.stage.focus({ preventScroll: true });
    const button = xButton(ev.button);
    // Default would start text selection or drag the video; focus was handled above.
    ev.preventDefault();
    if (button === undefined || this.buttons.has(button) || !this.allowed()) return;
    this.moveTo({ x: ev.clientX, y: ev.clientY });
    this.buttons.add(button);
    this.target.send({ type: 'buttonDown', button });
  }

  private mouseMove(ev: MouseEvent): void {
    if (this.target.mode() !== 'host' && this.buttons.size === 0) return;
    if (this.buttons.size === 0 && !(ev.target instanceof Node && this.stage.contains(ev.target))) return;
    this.moveTo({ x: ev.clientX, y: ev.clientY });
  }

  private mouseUp(ev: MouseEvent): void {
    const button = xButton(ev.button);
    if (button === undefined || !this.buttons.delete(button)) return;
    if (this.target.mode() === 'none') return;
    this.moveTo({ x: ev.clientX, y: ev.clientY });
    this.target.send({ type: 'buttonUp', button });
  }

  private wheelEvent(ev: WheelEvent): void {
    if (this.onControl(ev)) return;
    ev.preventDefault();
    if (!this.allowed()) return;
    this.scrollBy(this.wheel, ev, ev.ctrlKey, { x: ev.clientX, y: ev.clientY });
  }

  private scrollBy(normaliser: WheelNormaliser, wheel: WheelLike, controlKey: boolean, at: Point | null): void {
    const { sensitivity, invert } = this.target.scroll();
    const { deltaX, deltaY } = this.scaler.scale(normaliser.push(wheel), sensitivity, invert);
    if (deltaX === 0 && deltaY === 0) return;
    if (at) this.moveTo(at);
    this.target.send({ type: 'scroll', deltaX, deltaY, controlKey });
  }

  private touch(ev: TouchEvent): void {
    if (this.onControl(ev)) return;
    // No page scrolling, zooming or emulated mouse events over the desktop.
    if (ev.cancelable) ev.preventDefault();
    if (ev.type === 'touchstart') {
      // With the phone keyboard up, tapping the desktop must not close it.
      if (!document.activeElement || !this.keyTargets.has(document.activeElement)) this.stage.focus({ preventScroll: true });
      if (ev.touches.length === 1) this.touchRefused = false;
    }
    if (this.target.mode() === 'none') {
      this.gestures.reset();
      if (!this.touchRefused && ev.type === 'touchend') {
        this.touchRefused = true;
        this.target.refused();
      }
      return;
    }
    const touches: TouchPoint[] = [];
    for (const t of Array.from(ev.touches)) touches.push({ id: t.identifier, x: t.clientX, y: t.clientY });
    this.gestures.update(touches);
  }

  private gesture(g: Gesture): void {
    if (this.target.mode() === 'none') return;
    switch (g.type) {
      case 'move':
        this.moveTo(g.at);
        break;
      case 'down':
        if (this.buttons.has(g.button)) return;
        this.moveTo(g.at);
        this.buttons.add(g.button);
        this.target.send({ type: 'buttonDown', button: g.button });
        break;
      case 'up':
        if (!this.buttons.delete(g.button)) return;
        this.moveTo(g.at);
        this.target.send({ type: 'buttonUp', button: g.button });
        break;
      case 'scroll':
        // Content follows the fingers, like scrolling a page on a phone: fingers moving up
        // scroll down, which is what a wheel turned towards the user does.
        this.scrollBy(this.touchWheel, { deltaX: -g.dx, deltaY: -g.dy, deltaMode: 0 }, false, null);
        break;
    }
  }

  private keyDown(ev: KeyboardEvent): void {
    if (ev.isComposing) return;
    const keysym = keysymFor(ev);
    if (keysym === undefined) return;
    const id = ev.code || ev.key;
    // The remote X server generates its own autorepeat for a held key.
    if (this.keys.has(id)) {
      ev.preventDefault();
      return;
    }
    // Without control, browser shortcuts keep working.
    if (!this.allowed()) return;
    ev.preventDefault();
    this.keys.set(id, keysym);
    this.target.send({ type: 'keyDown', keysym });
  }

  private keyUp(ev: KeyboardEvent): void {
    const id = ev.code || ev.key;
    const keysym = this.keys.get(id);
    if (keysym === undefined) return;
    ev.preventDefault();
    this.keys.delete(id);
    if (this.target.mode() !== 'none') this.target.send({ type: 'keyUp', keysym });
  }

  private releaseAll(): void {
    if (this.target.mode() !== 'none') {
      for (const keysym of this.keys.values()) this.target.send({ type: 'keyUp', keysym });
      for (const button of this.buttons) this.target.send({ type: 'buttonUp', button });
    }
    this.keys.clear();
    this.buttons.clear();
  }
}

/**
 * The JSON fallback of protocol.md §8.3 for when the data channel is not open, and the way
 * input makes us host under implicit hosting: these events run the control request first.
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
