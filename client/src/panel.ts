import { ChatView } from './chat-view.js';
import type { RoomView } from './el.js';
import { MembersView } from './members-view.js';
import type { Settings } from './protocol.js';
import { unread, type RoomState } from './room.js';
import { SettingsView } from './settings-view.js';

export interface PanelActions {
  /** False when the message could not be sent (socket down); the typed text is then kept. */
  sendChat(text: string): boolean;
  /** Settles once the server answered; reports failures itself and never rejects. */
  updateSettings(change: Partial<Settings>): Promise<void>;
}

/**
 * The side panel (people, chat, admin settings) behind a toggle button. While it is closed
 * the button counts chat lines from others that arrived since it was last open.
 */
export class SidePanel implements RoomView {
  private readonly views: RoomView[];
  private seenSeq = 0;
  private room: RoomState | undefined;

  constructor(
    readonly root: HTMLElement,
    private readonly toggle: HTMLButtonElement,
    actions: PanelActions,
  ) {
    this.views = [new MembersView(), new ChatView((text) => actions.sendChat(text)), new SettingsView((c) => actions.updateSettings(c))];
    root.replaceChildren(...this.views.map((v) => v.root));
    toggle.setAttribute('aria-controls', root.id);
    toggle.addEventListener('click', () => this.setOpen(root.hidden));
    this.setOpen(false);
  }

  setOpen(open: boolean): void {
    this.root.hidden = !open;
    this.toggle.setAttribute('aria-expanded', String(open));
    this.toggle.classList.toggle('active', open);
    if (this.room) this.render(this.room);
  }

  render(room: RoomState): void {
    this.room = room;
    for (const view of this.views) view.render(room);
    if (!this.root.hidden || room.chat.length === 0) this.seenSeq = room.chat.at(-1)?.seq ?? 0;
    const count = unread(room, this.seenSeq);
    this.toggle.dataset.unread = count > 0 ? String(count) : '';
  }
}
