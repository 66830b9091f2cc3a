import type x11 from 'x11';
import type { Logger } from '../log.js';
import { Keymap } from './keymap.js';
import type { X11Client } from './x11-client.js';

export interface Input {
  move(x: number, y: number): void;
  /**
   * +dy = wheel up (X button 4), -dy = down (5), +dx = right (6), -dx = left (7); one click
   * per unit; controlKey holds Control_L during the scroll.
   */
  scroll(deltaX: number, deltaY: number, controlKey: boolean): void;
  buttonDown(button: number): void;
  buttonUp(button: number): void;
  keyDown(keysym: number): void;
  keyUp(keysym: number): void;
  /** Releases every key/button we pressed. */
  releaseAll(): void;
  pointer(): Promise<{ x: number; y: number }>;
  close(): Promise<void>;
}

export interface InputOptions {
  logger: Logger;
  /** Keys and buttons still down after this long are released (contract §6: 10 s). */
  holdTimeoutMs?: number;
}

const XK_Shift_L = 0xffe1;
const XK_Shift_R = 0xffe2;
const XK_Control_L = 0xffe3;
const MAPPING_KEYBOARD = 1;
/**
 * Scroll deltas come straight from clients as int16: a hostile or buggy 32767 would queue
 * 65534 fake events and stall the desktop. Real wheels send a handful of units per event.
 */
const MAX_SCROLL_CLICKS = 100;

interface HeldKey {
  keycode: number;
  timer: NodeJS.Timeout;
}

/**
 * Injects pointer and keyboard input through XTEST, keeping the contract's rules: a second
 * down without an up is ignored, anything held longer than the hold timeout is released.
 * Calls made while no X connection is attached are dropped (the X server is restarting).
 */
export class InputController implements Input {
  private readonly logger: Logger;
  private readonly holdTimeoutMs: number;
  private x: X11Client | null = null;
  private keymap: Keymap | null = null;
  private readonly keys = new Map<number, HeldKey>();
  private readonly buttons = new Map<number, NodeJS.Timeout>();
  /** Keycodes we remapped whose MappingNotify has not come back yet. */
  private ownRemaps: number[] = [];
  private closing: Promise<void> | null = null;

  constructor(opts: InputOptions) {
    this.logger = opts.logger;
    this.holdTimeoutMs = opts.holdTimeoutMs ?? 10_000;
  }

  /**
   * Uses `client` from now on. State from an earlier connection is forgotten: it belonged to
   * a server that is gone, and nothing we pressed there is still down.
   */
  async attach(client: X11Client): Promise<void> {
    if (this.closing) return;
    this.forget();
    const keymap = new Keymap(await client.keyboardMapping());
    if (this.closing || !client.connected) return;
    this.x = client;
    this.keymap = keymap;
    this.ownRemaps = [];
    client.on('event', (ev) => this.onEvent(client, ev));
    client.once('close', () => {
      if (this.x !== client) return;
      this.x = null;
      this.keymap = null;
      this.forget();
    });
  }

  move(x: number, y: number): void {
    if (!this.x || !Number.isFinite(x) || !Number.isFinite(y)) return;
    this.x.fakeMotion(clampCoord(x), clampCoord(y));
  }

  scroll(deltaX: number, deltaY: number, controlKey: boolean): void {
    const x = this.x;
    if (!x) return;
    const holdControl = controlKey && !this.keys.has(XK_Control_L);
    const control = holdControl ? this.choose(XK_Control_L) : null;
    if (control !== null) x.fakeKey(control, true);
    this.clicks(deltaY > 0 ? 4 : 5, deltaY);
    this.clicks(deltaX > 0 ? 6 : 7, deltaX);
    if (control !== null) x.fakeKey(control, false);
  }

  buttonDown(button: number): void {
    if (!this.x || !isButton(button) || this.buttons.has(button)) return;
    this.x.fakeButton(button, true);
    const timer = setTimeout(() => {
      this.logger.debug({ button }, 'button held too long; releasing');
      this.buttonUp(button);
    }, this.holdTimeoutMs);
    timer.unref();
    this.buttons.set(button, timer);
  }

  buttonUp(button: number): void {
    const timer = this.buttons.get(button);
    if (timer === undefined) return;
    clearTimeout(timer);
    this.buttons.delete(button);
    this.x?.fakeButton(button, false);
  }

  keyDown(keysym: number): void {
    if (!this.x || !isKeysym(keysym) || this.keys.has(keysym)) return;
    const keycode = this.choose(keysym);
    if (keycode === null) {
      this.logger.warn({ keysym }, 'no keycode available for keysym');
      return;
    }
    this.x.fakeKey(keycode, true);
    const timer = setTimeout(() => {
      this.logger.debug({ keysym }, 'key held too long; releasing');
      this.keyUp(keysym);
    }, this.holdTimeoutMs);
    timer.unref();
    this.keys.set(keysym, { keycode, timer });
  }

  keyUp(keysym: number): void {
    const held = this.keys.get(keysym);
    if (!held) return;
    clearTimeout(held.timer);
    this.keys.delete(keysym);
    // The keycode from the press: the mapping or Shift state may have changed since.
    this.x?.fakeKey(held.keycode, false);
  }

  releaseAll(): void {
    // Newest first, so modifiers are let go after the keys they modified.
    for (const keysym of [...this.keys.keys()].reverse()) this.keyUp(keysym);
    for (const button of [...this.buttons.keys()]) this.buttonUp(button);
  }

  async pointer(): Promise<{ x: number; y: number }> {
    if (!this.x) throw new Error('X display not connected');
    return this.x.queryPointer();
  }

  /** Releases everything and undoes our keycode bindings; the connection stays with its owner. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.releaseAll();
      const x = this.x;
      const keymap = this.keymap;
      this.x = null;
      this.keymap = null;
      if (!x?.connected || !keymap) return;
      for (const { keycode, keysyms } of keymap.restore()) x.changeKeyboardMapping(keycode, keysyms);
      await x.sync().catch((err: unknown) => this.logger.debug({ err }, 'X sync on input close failed'));
    })();
    return this.closing;
  }

  private clicks(button: number, delta: number): void {
    const n = Math.min(Math.abs(Math.trunc(delta)), MAX_SCROLL_CLICKS);
    for (let i = 0; i < n; i++) {
      this.x?.fakeButton(button, true);
      this.x?.fakeButton(button, false);
    }
  }

  /** Keycode for a keysym, remapping a spare keycode first when the layout lacks it. */
  private choose(keysym: number): number | null {
    const x = this.x;
    const keymap = this.keymap;
    if (!x || !keymap) return null;
    const shifted = this.keys.has(XK_Shift_L) || this.keys.has(XK_Shift_R);
    const held = new Set([...this.keys.values()].map((k) => k.keycode));
    const choice = keymap.choose(keysym, shifted, (kc) => held.has(kc));
    if (!choice) return null;
    if (choice.remap) {
      // Same connection, so the server applies the mapping before the fake key press.
      x.changeKeyboardMapping(choice.keycode, choice.remap);
      this.ownRemaps.push(choice.keycode);
    }
    return choice.keycode;
  }

  private onEvent(client: X11Client, ev: x11.XEvent): void {
    if (ev.name !== 'MappingNotify' || ev.request !== MAPPING_KEYBOARD || client !== this.x) return;
    // Our own remaps are already in the keymap; anything else means the layout changed
    // (also when XKB copies the XTEST device's keymap to the core keyboard).
    if (ev.count === 1 && this.ownRemaps[0] === ev.firstKeyCode) {
      this.ownRemaps.shift();
      return;
    }
    this.ownRemaps = [];
    const keymap = this.keymap;
    if (!keymap) return;
    const requestedAt = keymap.currentVersion;
    client
      .keyboardMapping()
      .then((mapping) => {
        if (this.keymap === keymap) keymap.update(mapping, requestedAt);
      })
      .catch((err: unknown) => this.logger.debug({ err }, 'keyboard mapping refresh failed'));
  }

  /** Drops held state without sending anything (its server is gone or being replaced). */
  private forget(): void {
    for (const { timer } of this.keys.values()) clearTimeout(timer);
    for (const timer of this.buttons.values()) clearTimeout(timer);
    this.keys.clear();
    this.buttons.clear();
  }
}

function clampCoord(v: number): number {
  return Math.min(Math.max(Math.round(v), 0), 0x7fff);
}

function isButton(button: number): boolean {
  return Number.isInteger(button) && button >= 1 && button <= 255;
}

function isKeysym(keysym: number): boolean {
  return Number.isInteger(keysym) && keysym > 0 && keysym <= 0xffffffff;
}
