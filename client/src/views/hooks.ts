import type { RefObject } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';

/** The current time, refreshed a few times a second while `active` (countdowns). */
export function useNow(active: boolean): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    if (!active) return;
    setNow(Date.now());
    const timer = window.setInterval(() => setNow(Date.now()), 250);
    return () => window.clearInterval(timer);
  }, [active]);
  return now;
}

/**
 * A popup's open state that closes on a pointer press outside `root` or on Escape; the
 * document listeners exist only while it is open.
 */
export function usePopup<T extends HTMLElement>(): { open: boolean; setOpen(open: boolean): void; root: RefObject<T> } {
  const [open, setOpen] = useState(false);
  const root = useRef<T>(null);
  useEffect(() => {
    if (!open) return;
    const close = (ev: Event) => {
      if (!root.current?.contains(ev.target as Node)) setOpen(false);
    };
    const esc = (ev: KeyboardEvent) => ev.key === 'Escape' && setOpen(false);
    document.addEventListener('pointerdown', close);
    document.addEventListener('keydown', esc);
    return () => {
      document.removeEventListener('pointerdown', close);
      document.removeEventListener('keydown', esc);
    };
  }, [open]);
  return { open, setOpen, root };
}
