// Touch gestures → mouse actions, the way a touchscreen drives a desktop made for a mouse:
// tap = left click, one-finger drag = left-button drag, two fingers = scroll, long press =
// right click. DOM-free (times and timers are injected) so it can be tested in Node.
import type { Point } from './pointer.js';

export type Gesture =
  | { type: 'move'; at: Point }
  | { type: 'down'; button: number; at: Point }
  | { type: 'up'; button: number; at: Point }
  /** Finger travel in CSS px since the last event; positive y = fingers moved down. */
  | { type: 'scroll'; dx: number; dy: number };

export interface TouchPoint {
  id: number;
  x: number;
  y: number;
}

export interface GestureTimers {
  set(fn: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

/** Farther than this (CSS px) from where it landed, a finger is dragging, not tapping. */
export const TAP_SLOP_PX = 10;
/** Held this long without moving, a finger is a right click. */
export const LONG_PRESS_MS = 550;

const LEFT = 1;
const RIGHT = 3;

type Phase =
  | { kind: 'idle' }
  | { kind: 'pending'; start: Point; last: Point; timer: unknown }
  | { kind: 'drag'; last: Point }
  | { kind: 'scroll'; mid: Point }
  /** The gesture is over (long press fired, or fingers changed mid-way); wait for all fingers up. */
  | { kind: 'done' };

function midpoint(points: readonly TouchPoint[]): Point {
  let x = 0;
  let y = 0;
  for (const p of points) {
    x += p.x;
    y += p.y;
  }
  return { x: x / points.length, y: y / points.length };
}

export class TouchGestures {
  private phase: Phase = { kind: 'idle' };

  constructor(
    private readonly emit: (g: Gesture) => void,
    private readonly timers: GestureTimers,
  ) {}

  /** Call with every finger now on the surface, after each touchstart/move/end/cancel. */
  update(touches: readonly TouchPoint[]): void {
    const phase = this.phase;
    const count = touches.length;

    if (count === 0) {
      this.finish();
      return;
    }

    switch (phase.kind) {
      case 'idle': {
        if (count === 1) {
          const at = { x: touches[0]!.x, y: touches[0]!.y };
          const timer = this.timers.set(() => this.longPress(), LONG_PRESS_MS);
          this.phase = { kind: 'pending', start: at, last: at, timer };
        } else {
          this.phase = { kind: 'scroll', mid: midpoint(touches) };
        }
        return;
      }
      case 'pending': {
        if (count >= 2) {
          this.timers.clear(phase.timer);
          this.phase = { kind: 'scroll', mid: midpoint(touches) };
          return;
        }
        const at = { x: touches[0]!.x, y: touches[0]!.y };
        if (Math.hypot(at.x - phase.start.x, at.y - phase.start.y) <= TAP_SLOP_PX) {
          this.phase = { ...phase, last: at };
          return;
        }
        this.timers.clear(phase.timer);
        this.emit({ type: 'move', at: phase.start });
        this.emit({ type: 'down', button: LEFT, at: phase.start });
        this.emit({ type: 'move', at });
        this.phase = { kind: 'drag', last: at };
        return;
      }
      case 'drag': {
        if (count >= 2) {
          // A second finger ends the drag where it is rather than turning it into a scroll.
          this.emit({ type: 'up', button: LEFT, at: phase.last });
          this.phase = { kind: 'done' };
          return;
        }
        const at = { x: touches[0]!.x, y: touches[0]!.y };
        if (at.x === phase.last.x && at.y === phase.last.y) return;
        this.emit({ type: 'move', at });
        this.phase = { kind: 'drag', last: at };
        return;
      }
      case 'scroll': {
        if (count < 2) {
          // Lifting one finger of two ends the scroll; the other one does nothing until lifted.
          this.phase = { kind: 'done' };
          return;
        }
        const mid = midpoint(touches);
        const dx = mid.x - phase.mid.x;
        const dy = mid.y - phase.mid.y;
        this.phase = { kind: 'scroll', mid };
        if (dx !== 0 || dy !== 0) this.emit({ type: 'scroll', dx, dy });
        return;
      }
      case 'done':
        return;
    }
  }

  /** Forgets the gesture without finishing it (e.g. control was lost). */
  reset(): void {
    if (this.phase.kind === 'pending') this.timers.clear(this.phase.timer);
    this.phase = { kind: 'idle' };
  }

  private finish(): void {
    const phase = this.phase;
    this.phase = { kind: 'idle' };
    if (phase.kind === 'pending') {
      this.timers.clear(phase.timer);
      this.click(LEFT, phase.start);
    } else if (phase.kind === 'drag') {
      this.emit({ type: 'up', button: LEFT, at: phase.last });
    }
  }

  private longPress(): void {
    const phase = this.phase;
    if (phase.kind !== 'pending') return;
    this.phase = { kind: 'done' };
    this.click(RIGHT, phase.start);
  }

  private click(button: number, at: Point): void {
    this.emit({ type: 'move', at });
    this.emit({ type: 'down', button, at });
    this.emit({ type: 'up', button, at });
  }
}
