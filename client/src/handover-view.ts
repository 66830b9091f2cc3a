import { el, type RoomView } from './el.js';
import { isHost, memberName, type RoomState } from './room.js';

export interface HandoverActions {
  /** Settles once the server answered; reports failures itself and never rejects. */
  give(sessionId: string): Promise<void>;
  release(): void;
  dismiss(sessionId: string): void;
}

/** While we are host: one notice per member asking for control, with the answers to it. */
export class HandoverView implements RoomView {
  private shown: RoomState | undefined;

  constructor(
    readonly root: HTMLElement,
    private readonly actions: HandoverActions,
  ) {
    root.classList.add('handover');
    root.setAttribute('role', 'region');
    root.setAttribute('aria-label', 'Control requests');
    root.hidden = true;
  }

  render(room: RoomState): void {
    const last = this.shown;
    if (last && last.requests === room.requests && last.members === room.members && isHost(last) === isHost(room)) return;
    this.shown = room;
    const requests = isHost(room) ? room.requests : [];
    this.root.hidden = requests.length === 0;
    this.root.replaceChildren(...requests.map((id) => this.notice(room, id)));
  }

  private notice(room: RoomState, id: string): HTMLElement {
    const give = el('button', { type: 'button', class: 'active', 'data-action': 'give', 'data-id': id }, 'Give control');
    const release = el('button', { type: 'button', 'data-action': 'release' }, 'Release');
    const dismiss = el('button', { type: 'button', 'data-action': 'dismiss', 'aria-label': 'Dismiss' }, '✕');
    give.addEventListener('click', () => {
      give.disabled = true;
      // On success `control/host` removes this notice; on failure it stays usable.
      void this.actions.give(id).finally(() => (give.disabled = false));
    });
    release.addEventListener('click', () => this.actions.release());
    dismiss.addEventListener('click', () => this.actions.dismiss(id));
    return el(
      'div',
      { class: 'handover-request', 'data-id': id },
      el('span', {}, el('strong', {}, memberName(room, id)), ' asks for control'),
      give,
      release,
      dismiss,
    );
  }
}
