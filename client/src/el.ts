import type { RoomState } from './room.js';

/**
 * Creates an element with attributes and children. Strings become text nodes, never markup,
 * so names and chat text from other members cannot inject HTML.
 */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string> = {},
  ...children: Array<Node | string>
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  node.append(...children);
  return node;
}

/** Something drawn from the room state; `render` is called on every change. */
export interface RoomView {
  readonly root: HTMLElement;
  render(room: RoomState): void;
}
