import { el, type RoomView } from './el.js';
import type { Settings, SettingsFlag } from './protocol.js';
import { self, type RoomState } from './room.js';

const FLAGS: ReadonlyArray<[SettingsFlag, string]> = [
  ['private_mode', 'Private mode'],
  ['locked_controls', 'Lock controls'],
  ['implicit_hosting', 'Implicit hosting'],
];

/**
 * Room switches for admins. A box shows the server's value, not the click: it flips when
 * `system/settings` confirms the change, and snaps back if the request fails.
 */
export class SettingsView implements RoomView {
  readonly root: HTMLElement;
  private readonly boxes = new Map<SettingsFlag, HTMLInputElement>();
  private settings: Settings | null = null;

  /** `update` settles once the server answered; it reports failures itself and never rejects. */
  constructor(update: (change: Partial<Settings>) => Promise<void>) {
    const rows = FLAGS.map(([flag, label]) => {
      const box = el('input', { type: 'checkbox', name: flag });
      box.addEventListener('change', () => {
        const wanted = box.checked;
        box.checked = !wanted;
        box.disabled = true;
        void update({ [flag]: wanted }).finally(() => {
          box.disabled = false;
          box.checked = this.settings?.[flag] ?? false;
        });
      });
      this.boxes.set(flag, box);
      return el('label', { class: 'setting' }, box, label);
    });
    this.root = el('section', { class: 'panel-section', 'aria-label': 'Room settings' }, el('h2', {}, 'Room settings'), ...rows);
    this.root.hidden = true;
  }

  render(room: RoomState): void {
    this.root.hidden = !room.settings || !self(room)?.profile.is_admin;
    if (room.settings === this.settings) return;
    this.settings = room.settings;
    for (const [flag, box] of this.boxes) box.checked = room.settings?.[flag] ?? false;
  }
}
