import { useLayoutEffect, useRef } from 'preact/hooks';
import { chatPieces, EMOJI, EMOJI_PICKS } from '../../chat-text.js';
import { t } from '../../i18n/index.js';
import { CHAT_MAX_LENGTH, chatText, clockTime, memberName, type ChatEntry, type ChatLine, type NoticeLine, type RoomState } from '../../room.js';
import { useApp } from '../context.js';
import { usePopup } from '../hooks.js';
import { Bell, BellOff, Smile } from '../icons.js';

/** How close to the bottom (px) still counts as following the conversation. */
const FOLLOW_SLACK_PX = 24;
/** A message this soon after the previous one from the same member continues it, without a new heading. */
const GROUP_MS = 3 * 60_000;

/** Whether `line` directly continues `previous` (same sender, shortly after). */
function continues(previous: ChatEntry | undefined, line: ChatLine): boolean {
  if (previous?.kind !== 'message' || previous.from !== line.from) return false;
  const gap = Date.parse(line.created) - Date.parse(previous.created);
  return Number.isFinite(gap) && gap >= 0 && gap < GROUP_MS;
}

/** The local date and time, for a timestamp's tooltip. */
function fullTime(created: string): string {
  const time = new Date(created);
  return Number.isNaN(time.getTime()) ? '' : time.toLocaleString();
}

/** Text and links as DOM text and anchors: whatever was typed, no markup is ever interpreted. */
function MessageText({ text }: { text: string }) {
  return (
    <p class="chat-text">
      {chatPieces(text).map((piece, i) =>
        piece.href === undefined ? (
          piece.text
        ) : (
          <a key={i} href={piece.href} target="_blank" rel="noopener noreferrer" title={t('chat.link', { url: piece.href })}>
            {piece.text}
          </a>
        ),
      )}
    </p>
  );
}

function Message({ line, room, grouped }: { line: ChatLine; room: RoomState; grouped: boolean }) {
  return (
    <li
      class={`chat-line ${line.from === room.sessionId ? 'mine' : ''} ${grouped ? 'grouped' : ''}`}
      data-from={line.from}
      data-seq={String(line.seq)}
      title={grouped ? fullTime(line.created) : undefined}
    >
      {/* Hidden, not left out, on a continued line: each line still reads in full to a screen reader. */}
      <span class="chat-head">
        <span class="chat-from">{memberName(room, line.from)}</span>
        <time class="chat-time" dateTime={line.created} title={fullTime(line.created)}>
          {clockTime(line.created)}
        </time>
      </span>
      <MessageText text={line.text} />
    </li>
  );
}

/** A room event in the stream, in the reader's language. */
export function noticeText({ notice }: NoticeLine): string {
  switch (notice.type) {
    case 'joined':
    case 'left':
    case 'removed':
      return t(`chat.notice.${notice.type}`, { name: notice.name });
    case 'host':
    case 'released':
      return notice.by
        ? t(`chat.notice.${notice.type}By`, { name: notice.name, by: notice.by })
        : t(`chat.notice.${notice.type}`, { name: notice.name });
    case 'setting': {
      const setting = t(`admin.${notice.setting}`);
      const state = notice.on ? 'on' : 'off';
      return notice.by ? t(`chat.notice.${state}By`, { setting, by: notice.by }) : t(`chat.notice.${state}`, { setting });
    }
  }
}

function Notice({ line }: { line: NoticeLine }) {
  return (
    <li class="chat-notice" data-seq={String(line.seq)} data-notice={line.notice.type}>
      <span class="chat-notice-text">{noticeText(line)}</span>
      <time class="chat-time" dateTime={line.created} title={fullTime(line.created)}>
        {clockTime(line.created)}
      </time>
    </li>
  );
}

/** A small grid of emoji; picking one puts it into the message box. */
function EmojiPicker({ pick }: { pick(emoji: string): void }) {
  const { open, setOpen, root } = usePopup<HTMLDivElement>();
  return (
    <div class="emoji" ref={root}>
      <button
        id="chat-emoji"
        type="button"
        class={`icon ${open ? 'active' : ''}`}
        title={t('chat.emoji')}
        aria-label={t('chat.emoji')}
        aria-expanded={open}
        onClick={() => setOpen(!open)}
      >
        <Smile size={18} />
      </button>
      {open && (
        <div class="emoji-grid" role="listbox" aria-label={t('chat.emoji')}>
          {EMOJI_PICKS.map((name) => (
            <button
              key={name}
              type="button"
              role="option"
              aria-selected={false}
              class="emoji-pick"
              title={`:${name}:`}
              data-name={name}
              onClick={() => {
                pick(EMOJI[name]!);
                setOpen(false);
              }}
            >
              {EMOJI[name]}
            </button>
          ))}
        </div>
      )}
    </div>
  );
}

/**
 * The conversation, with the room's events between the messages, and the box to write in;
 * a message shows once the server echoes it. Links open in a new tab; `:shortcodes:` show
 * as emoji.
 */
export function ChatTab() {
  const { store, ctl } = useApp();
  const log = useRef<HTMLOListElement>(null);
  const input = useRef<HTMLInputElement>(null);
  const follow = useRef(true);
  const room = store.room.value;
  const canSend = store.canSendChat.value;
  const canReceive = store.canReceiveChat.value;
  const sound = store.chatSound.value;

  useLayoutEffect(() => {
    const el = log.current;
    if (el && follow.current) el.scrollTop = el.scrollHeight;
  }, [room.chat]);

  const submit = (ev: Event) => {
    ev.preventDefault();
    const box = input.current!;
    const text = chatText(box.value);
    if (text !== undefined && ctl.sendChat(text)) box.value = '';
  };

  const insert = (emoji: string) => {
    const box = input.current!;
    const at = box.selectionStart ?? box.value.length;
    const end = box.selectionEnd ?? at;
    box.value = (box.value.slice(0, at) + emoji + box.value.slice(end)).slice(0, CHAT_MAX_LENGTH);
    box.focus();
    box.setSelectionRange(at + emoji.length, at + emoji.length);
  };

  return (
    <section class="panel-section chat" aria-label={t('tab.chat')}>
      {room.chatEnabled && !canReceive && <p class="chat-banner muted small">{t('chat.cannotReceive')}</p>}
      <ol
        class="chat-log"
        ref={log}
        aria-live="polite"
        aria-label={t('chat.messages')}
        onScroll={(ev) => {
          const el = ev.currentTarget;
          follow.current = el.scrollHeight - el.scrollTop - el.clientHeight <= FOLLOW_SLACK_PX;
        }}
      >
        {room.chat.length === 0 && <li class="chat-empty muted">{t('chat.empty')}</li>}
        {room.chat.map((line, i) =>
          line.kind === 'message' ? (
            <Message key={line.seq} line={line} room={room} grouped={continues(room.chat[i - 1], line)} />
          ) : (
            <Notice key={line.seq} line={line} />
          ),
        )}
      </ol>
      <form class="chat-form" onSubmit={submit}>
        <button
          id="chat-sound"
          type="button"
          class="icon"
          title={sound ? t('chat.soundOff') : t('chat.soundOn')}
          aria-label={sound ? t('chat.soundOff') : t('chat.soundOn')}
          aria-pressed={sound}
          onClick={() => ctl.setChatSound(!sound)}
        >
          {sound ? <Bell size={18} /> : <BellOff size={18} />}
        </button>
        {canSend && <EmojiPicker pick={insert} />}
        <input
          ref={input}
          class="chat-input"
          aria-label={t('chat.message')}
          maxLength={CHAT_MAX_LENGTH}
          autocomplete="off"
          enterKeyHint="send"
          disabled={!canSend}
          placeholder={canSend ? t('chat.placeholder') : room.chatEnabled ? t('chat.cannotSend') : t('chat.disabled')}
        />
        <button type="submit" disabled={!canSend}>
          {t('chat.send')}
        </button>
      </form>
    </section>
  );
}
