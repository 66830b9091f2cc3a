import type { KeyboardMapping } from './x11-client.js';

const NO_SYMBOL = 0;

/** A keycode to press for a keysym, and the mapping to install first if it had to be remapped. */
export interface KeyChoice {
  keycode: number;
  /** New keysyms (all levels) for `keycode`; set only when the mapping must change. */
  remap?: number[];
}

/**
 * Keysyms that are not characters: TTY/cursor/function keys, modifiers, keypad, ISO and dead
 * keys (0xfd00–0xffff) and the XF86 media keys. Clients send them with the modifiers meant to
 * act on them (Shift+Tab, Ctrl+Shift+End), so they keep their own keycode whatever the
 * modifier state.
 */
function isFunctionKeysym(keysym: number): boolean {
  return (keysym >= 0xfd00 && keysym <= 0xffff) || (keysym >= 0x1008ff00 && keysym <= 0x1008ffff);
}

/**
 * Maps keysyms to keycodes on the server's current layout, and types keysyms the layout
 * lacks by binding them to spare (unmapped) keycodes.
 *
 * Shift rule: a character keysym is pressed on a keycode that produces it *under the Shift
 * state the client holds* (level 1 if it holds Shift, else level 0). If there is none, the
 * keysym goes to a spare keycode with the keysym on every level, which types it whatever the
 * Shift state. So 'A' without Shift, '!' without Shift, or '/' with Shift held (a client
 * whose own layout puts '/' on Shift+7) all type exactly the character sent, without us
 * faking Shift presses that would leak into other keys held at the same time. Function
 * keysyms keep their keycode (see isFunctionKeysym). Caps Lock and AltGr levels are not
 * modelled: characters found only there take the spare-keycode path too.
 */
export class Keymap {
  private readonly minKeycode: number;
  private readonly perKeycode: number;
  private rows: number[][];
  /** keysym → spare keycode we bound it to (and when), least recently used first. */
  private readonly bound = new Map<number, { keycode: number; version: number }>();
  /** Counts bindings, so a fetched mapping can tell which of them it predates. */
  private version = 0;

  constructor(mapping: KeyboardMapping) {
    this.minKeycode = mapping.minKeycode;
    this.perKeycode = mapping.keysymsPerKeycode;
    this.rows = mapping.rows.map((r) => [...r]);
  }

  /** Pass to update() with a mapping requested now. */
  get currentVersion(): number {
    return this.version;
  }

  /**
   * Adopts a freshly fetched mapping (after the layout changed). `requestedAt` is
   * currentVersion when it was requested: bindings made since are not in it yet and are kept;
   * older ones survive only if the server still has them.
   */
  update(mapping: KeyboardMapping, requestedAt: number): void {
    this.rows = mapping.rows.map((r) => [...r]);
    for (const [keysym, { keycode, version }] of this.bound) {
      if (version > requestedAt) this.setRow(keycode, new Array<number>(this.perKeycode).fill(keysym));
      // XKB reports a core remap back on its first two levels of each group only.
      else if (this.row(keycode)[0] !== keysym || this.row(keycode).some((s) => s !== keysym && s !== NO_SYMBOL)) {
        this.bound.delete(keysym);
      }
    }
  }

  /**
   * Chooses the keycode for `keysym`. `busy` tells which keycodes are held down and so must
   * not be remapped. Returns null when no keycode can be had (all spares held).
   */
  choose(keysym: number, shifted: boolean, busy: (keycode: number) => boolean): KeyChoice | null {
    const level = shifted ? 1 : 0;
    const direct = this.find((row) => this.symbolAt(row, level) === keysym);
    if (direct !== null) {
      this.touch(keysym);
      return { keycode: direct };
    }
    if (isFunctionKeysym(keysym)) {
      const plain = this.find((row) => row[0] === keysym);
      if (plain !== null) return { keycode: plain };
    }
    return this.bind(keysym, busy);
  }

  /** Mapping changes that undo every binding we made (to leave the layout as we found it). */
  restore(): Array<{ keycode: number; keysyms: number[] }> {
    const changes = [...this.bound.values()].map(({ keycode }) => ({
      keycode,
      keysyms: new Array<number>(this.perKeycode).fill(NO_SYMBOL),
    }));
    for (const { keycode, keysyms } of changes) this.setRow(keycode, keysyms);
    this.bound.clear();
    return changes;
  }

  private bind(keysym: number, busy: (keycode: number) => boolean): KeyChoice | null {
    const taken = new Set([...this.bound.values()].map((b) => b.keycode));
    let keycode = this.find((row, kc) => !taken.has(kc) && !busy(kc) && row.every((s) => s === NO_SYMBOL));
    if (keycode === null) {
      // Reuse the least recently used binding that is not held down.
      for (const [oldSym, old] of this.bound) {
        if (busy(old.keycode)) continue;
        this.bound.delete(oldSym);
        keycode = old.keycode;
        break;
      }
    }
    if (keycode === null) return null;
    const keysyms = new Array<number>(this.perKeycode).fill(keysym);
    this.setRow(keycode, keysyms);
    this.bound.set(keysym, { keycode, version: ++this.version });
    return { keycode, remap: keysyms };
  }

  /** Marks a bound keysym as recently used. */
  private touch(keysym: number): void {
    const entry = this.bound.get(keysym);
    if (entry === undefined) return;
    this.bound.delete(keysym);
    this.bound.set(keysym, entry);
  }

  /** Core protocol rule: an empty second level repeats the first. */
  private symbolAt(row: number[], level: number): number {
    return level === 1 ? row[1] || row[0] : row[0];
  }

  private find(pred: (row: number[], keycode: number) => boolean): number | null {
    for (let i = 0; i < this.rows.length; i++) {
      if (pred(this.rows[i], this.minKeycode + i)) return this.minKeycode + i;
    }
    return null;
  }

  private row(keycode: number): number[] {
    return this.rows[keycode - this.minKeycode] ?? [];
  }

  private setRow(keycode: number, keysyms: number[]): void {
    this.rows[keycode - this.minKeycode] = [...keysyms];
  }
}
