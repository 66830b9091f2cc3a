export type Listener<S> = (next: S, prev: S) => void;

/**
 * Holds one immutable value and replaces it through a reducer. Listeners run only when the
 * reducer returned a different object, so a reducer that ignores an action costs no render.
 */
export class Store<S, A> {
  private readonly listeners = new Set<Listener<S>>();

  constructor(
    private readonly reducer: (state: S, action: A) => S,
    private state: S,
  ) {}

  get(): S {
    return this.state;
  }

  dispatch(action: A): void {
    const prev = this.state;
    const next = this.reducer(prev, action);
    if (next === prev) return;
    this.state = next;
    for (const listener of [...this.listeners]) listener(next, prev);
  }

  /** Returns the unsubscribe function. */
  subscribe(listener: Listener<S>): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
