import { el, type RoomView } from './el.js';
import { roster, type RoomState } from './room.js';

/** Everyone in the room: who is host, who is online, who is watching the stream. */
export class MembersView implements RoomView {
  readonly root: HTMLElement;
  private readonly list = el('ul', { class: 'members' });
  private shown: RoomState | undefined;

  constructor() {
    this.root = el('section', { class: 'panel-section', 'aria-label': 'People' }, el('h2', {}, 'People'), this.list);
  }

  render(room: RoomState): void {
    const last = this.shown;
    if (last && last.members === room.members && last.hostId === room.hostId && last.sessionId === room.sessionId) return;
    this.shown = room;
    this.list.replaceChildren(
      ...roster(room).map((m) => {
        const badges: string[] = [];
        if (m.you) badges.push('you');
        if (m.admin) badges.push('admin');
        if (m.host) badges.push('host');
        badges.push(m.connected ? (m.watching ? 'watching' : 'online') : 'offline');
        return el(
          'li',
          {
            class: 'member',
            'data-id': m.id,
            'data-host': String(m.host),
            'data-connected': String(m.connected),
            'data-watching': String(m.watching),
          },
          el('span', { class: 'member-name', title: m.id }, m.name),
          ...badges.map((b) => el('span', { class: `badge badge-${b}` }, b)),
        );
      }),
    );
  }
}
