import { useEffect, useRef, useState } from 'preact/hooks';
import { t } from '../i18n/index.js';
import { useApp } from './context.js';
import { Overlays } from './overlays.js';

const hasFiles = (ev: DragEvent) => ev.dataTransfer?.types.includes('Files') === true;

/**
 * The remote desktop: the video, letterboxed to fit with its aspect kept, the remote
 * cursor, and the overlays. Input handling and the cursor are bound once it is in the page.
 */
export function Stage() {
  const { store, ctl } = useApp();
  const stage = useRef<HTMLElement>(null);
  const video = useRef<HTMLVideoElement>(null);
  const cursor = useRef<HTMLImageElement>(null);
  const [dragging, setDragging] = useState(false);
  const cast = store.params.cast;

  useEffect(() => ctl.attachStage({ stage: stage.current!, video: video.current!, cursor: cursor.current! }), [ctl]);

  const onDragOver = (ev: DragEvent) => {
    if (cast || !hasFiles(ev)) return;
    ev.preventDefault();
    ev.dataTransfer!.dropEffect = 'copy';
    setDragging(true);
  };
  const onDrop = (ev: DragEvent) => {
    setDragging(false);
    if (cast || !hasFiles(ev)) return;
    ev.preventDefault();
    ctl.uploadDrop(Array.from(ev.dataTransfer!.files), { x: ev.clientX, y: ev.clientY });
  };

  // Keys go where focus is: a click on the stage or a button drawn over it leaves focus on
  // the stage (a focused button would take Space and Enter, and when it goes away with its
  // overlay focus would fall to the page, which is the host page's when embedded).
  const keepFocus = (ev: MouseEvent) => {
    const target = ev.target instanceof Element ? ev.target : null;
    if (target?.closest('input, textarea, select, [contenteditable]')) return;
    if (target?.closest('button, a')) ev.preventDefault();
    if (document.activeElement !== stage.current) stage.current?.focus({ preventScroll: true });
  };

  return (
    <main
      id="stage"
      ref={stage}
      onMouseDown={keepFocus}
      class={`stage ${store.isHost.value ? 'hosting' : ''} ${cast ? 'cast' : ''}`}
      tabIndex={0}
      aria-label={t('stage.label')}
      onDragOver={onDragOver}
      onDragLeave={(ev) => {
        if (ev.target === stage.current) setDragging(false);
      }}
      onDrop={onDrop}
    >
      <video id="video" ref={video} autoplay playsInline muted />
      <img id="cursor" ref={cursor} class="cursor" alt="" hidden />
      <Overlays />
      {dragging && (
        <div id="overlay-drop" class="overlay overlay-cover overlay-drop">
          <p>{t('overlay.drop')}</p>
        </div>
      )}
    </main>
  );
}

/**
 * A text box kept out of sight that the keyboard button focuses, which makes a phone show
 * its keyboard. What is typed goes to the desktop as key presses: keys with a meaning of
 * their own through the key events, text (including IME compositions, which phones use for
 * predictive typing) once it is committed, and deletions as Backspace.
 */
export function SoftKeyboard() {
  const { store, ctl } = useApp();
  const box = useRef<HTMLTextAreaElement>(null);

  useEffect(() => {
    const el = box.current!;
    ctl.bindKeyboard(el);
    let composing = false;
    const clear = () => {
      el.value = '';
    };
    const beforeInput = (ev: InputEvent) => {
      if (composing || ev.isComposing) return;
      switch (ev.inputType) {
        case 'insertText':
        case 'insertReplacementText':
          if (ev.data) ctl.typeText(ev.data);
          break;
        case 'insertLineBreak':
        case 'insertParagraph':
          ctl.typeText('\n');
          break;
        case 'deleteContentBackward':
          ctl.backspace();
          break;
        default:
          return;
      }
      // The box stays empty; the desktop shows what was typed.
      ev.preventDefault();
    };
    const compositionStart = () => {
      composing = true;
    };
    const compositionEnd = (ev: CompositionEvent) => {
      composing = false;
      if (ev.data) ctl.typeText(ev.data);
      // Some keyboards still insert the composed text after this event.
      window.setTimeout(clear, 0);
    };
    const input = () => {
      if (!composing) clear();
    };
    el.addEventListener('beforeinput', beforeInput);
    el.addEventListener('compositionstart', compositionStart);
    el.addEventListener('compositionend', compositionEnd);
    el.addEventListener('input', input);
    return () => {
      el.removeEventListener('beforeinput', beforeInput);
      el.removeEventListener('compositionstart', compositionStart);
      el.removeEventListener('compositionend', compositionEnd);
      el.removeEventListener('input', input);
    };
  }, [ctl]);

  return (
    <textarea
      id="soft-keyboard"
      ref={box}
      class="soft-keyboard"
      aria-label={t('stage.keyboardInput')}
      autocapitalize="off"
      autocomplete="off"
      spellcheck={false}
      onFocus={() => (store.keyboardOpen.value = true)}
      onBlur={() => (store.keyboardOpen.value = false)}
    />
  );
}
