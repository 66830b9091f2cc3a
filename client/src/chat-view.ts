import { el, type RoomView } from './el.js';
import { canSendChat, CHAT_MAX_LENGTH, chatText, clockTime, memberName, type RoomState } from './room.js';

/** How close to the bottom (px) still counts as following the conversation. */
const FOLLOW_SLACK_PX = 24;

/** The conversation and the box to write in; a line is shown once the server echoes it. */
export class ChatView implements RoomView {
  readonly root: HTMLElement;
  private readonly log = el('ol', { class: 'chat-log', 'aria-live': 'polite', 'aria-label': 'Chat messages' });
  private readonly input = el('input', {
    class: 'chat-input',
    'aria-label': 'Chat message',
    maxlength: String(CHAT_MAX_LENGTH),
    autocomplete: 'off',
  });
  private readonly sendButton = el('button', { type: 'submit' }, 'Send');
  private shown: RoomState | undefined;

  constructor(send: (text: string) => boolean) {
    const form = el('form', { class: 'chat-form' }, this.input, this.sendButton);
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const text = chatText(this.input.value);
      if (text !== undefined && send(text)) this.input.value = '';
    });
    this.root = el('section', { class: 'panel-section chat', 'aria-label': 'Chat' }, el('h2', {}, 'Chat'), this.log, form);
  }

  render(room: RoomState): void {
    const last = this.shown;
    this.shown = room;
    const canSend = canSendChat(room);
    this.input.disabled = !canSend;
    this.sendButton.disabled = !canSend;
    this.input.placeholder = canSend ? 'Say something…' : room.chatEnabled ? 'You cannot send messages' : 'Chat is disabled';
    // Names live in the member list, so a rename redraws the lines too.
    if (last && last.chat === room.chat && last.members === room.members) return;
    const follow = this.log.scrollHeight - this.log.scrollTop - this.log.clientHeight <= FOLLOW_SLACK_PX;
    this.log.replaceChildren(
      ...room.chat.map((line) =>
        el(
          'li',
          { class: 'chat-line', 'data-from': line.from, 'data-seq': String(line.seq) },
          el('span', { class: 'chat-from' }, memberName(room, line.from)),
          el('time', { class: 'chat-time', datetime: line.created }, clockTime(line.created)),
          el('p', { class: 'chat-text' }, line.text),
        ),
      ),
    );
    if (follow) this.log.scrollTop = this.log.scrollHeight;
  }
}
