import { promisify } from 'node:util';
import type { X11Client } from './x11-client.js';
import { execFile } from '../process/spawn.js';

const execFileP = promisify(execFile);

/** Contract §2.3 KeyboardMap: an XKB layout and variant (e.g. `de` / `nodeadkeys`). */
export interface KeyboardMap {
  layout: string;
  variant: string;
}

export const MODIFIER_NAMES = ['shift', 'capslock', 'control', 'alt', 'numlock', 'meta', 'super', 'altgr'] as const;
export type ModifierName = (typeof MODIFIER_NAMES)[number];
export type KeyboardModifiers = Record<ModifierName, boolean>;

/**
 * Core modifier bits as the usual XKB layouts assign them: Num Lock on Mod2, Super on Mod4,
 * AltGr (ISO_Level3_Shift) on Mod5, Meta on Mod3 where a layout maps it at all.
 */
const MODIFIER_MASKS: Record<ModifierName, number> = {
  shift: 1 << 0,
  capslock: 1 << 1,
  control: 1 << 2,
  alt: 1 << 3,
  numlock: 1 << 4,
  meta: 1 << 5,
  super: 1 << 6,
  altgr: 1 << 7,
};

/** An invalid layout or variant name; the caller's fault, not the X server's. */
export class KeyboardMapError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KeyboardMapError';
  }
}

/**
 * XKB names are short identifiers, comma-separated for several groups (`us,de`); a variant
 * list may have empty slots (`,nodeadkeys`). Nothing else may reach setxkbmap's command
 * line (a leading `-` would be read as an option).
 */
const NAME_LIST = /^[A-Za-z0-9_()+.]*(,[A-Za-z0-9_()+.]*)*$/;
const MAX_NAME_LENGTH = 128;

function checkName(what: string, value: string, required: boolean): void {
  if (required && value === '') throw new KeyboardMapError(`${what} cannot be empty`);
  if (value.length > MAX_NAME_LENGTH || !NAME_LIST.test(value)) throw new KeyboardMapError(`invalid ${what}`);
}

export interface KeyboardOptions {
  display: string;
  /** The connection to use now (null while the X server is away). */
  client(): X11Client | null;
}

/** Keyboard layout (setxkbmap) and modifier state (XKB) of the desktop. */
export class Keyboard {
  constructor(private readonly opts: KeyboardOptions) {}

  /** The layout as `setxkbmap -query` reports it (the rules names stored on the root window). */
  async map(): Promise<KeyboardMap> {
    const stdout = await this.setxkbmap(['-query']);
    const field = (name: string) => new RegExp(`^${name}:\\s*(.*)$`, 'm').exec(stdout)?.[1]?.trim() ?? '';
    return { layout: field('layout'), variant: field('variant') };
  }

  /** Loads a layout; an empty variant means the layout's default. */
  async setMap(map: KeyboardMap): Promise<void> {
    checkName('layout', map.layout, true);
    checkName('variant', map.variant, false);
    await this.setxkbmap(['-layout', map.layout, '-variant', map.variant]);
  }

  async modifiers(): Promise<KeyboardModifiers> {
    const effective = await this.client().modifiers();
    const out = {} as KeyboardModifiers;
    for (const name of MODIFIER_NAMES) out[name] = (effective & MODIFIER_MASKS[name]) !== 0;
    return out;
  }

  /**
   * Locks or unlocks the given modifiers (absent ones stay as they are): `capslock: true`
   * is Caps Lock switched on, `shift: true` keeps Shift in effect until set false.
   */
  async setModifiers(patch: Partial<KeyboardModifiers>): Promise<void> {
    let affect = 0;
    let locked = 0;
    for (const name of MODIFIER_NAMES) {
      const value = patch[name];
      if (value === undefined) continue;
      affect |= MODIFIER_MASKS[name];
      if (value) locked |= MODIFIER_MASKS[name];
    }
    if (affect === 0) return;
    await this.client().lockModifiers(affect, locked);
  }

  private client(): X11Client {
    const client = this.opts.client();
    if (!client) throw new Error('X display not connected');
    return client;
  }

  private async setxkbmap(args: string[]): Promise<string> {
    try {
      const { stdout } = await execFileP('setxkbmap', ['-display', this.opts.display, ...args], { timeout: 10_000 });
      return stdout;
    } catch (err) {
      const stderr = (err as { stderr?: string }).stderr?.trim();
      throw new Error(`setxkbmap ${args.join(' ')} failed${stderr ? `: ${stderr}` : ''}`);
    }
  }
}
