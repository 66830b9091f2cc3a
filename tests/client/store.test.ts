import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Store } from '../../client/src/store.js';

type Action = { type: 'add'; n: number } | { type: 'noop' };
const reducer = (s: { total: number }, a: Action) => (a.type === 'add' ? { total: s.total + a.n } : s);

describe('Store', () => {
  it('notifies listeners with next and previous state, only on change', () => {
    const store = new Store(reducer, { total: 0 });
    const seen: Array<[number, number]> = [];
    store.subscribe((next, prev) => seen.push([next.total, prev.total]));
    store.dispatch({ type: 'add', n: 2 });
    store.dispatch({ type: 'noop' });
    store.dispatch({ type: 'add', n: 3 });
    assert.deepEqual(seen, [[2, 0], [5, 2]]);
    assert.equal(store.get().total, 5);
  });

  it('unsubscribe stops notifications, also when called from inside a listener', () => {
    const store = new Store(reducer, { total: 0 });
    let calls = 0;
    const off = store.subscribe(() => {
      calls++;
      off();
    });
    let other = 0;
    store.subscribe(() => other++);
    store.dispatch({ type: 'add', n: 1 });
    store.dispatch({ type: 'add', n: 1 });
    assert.equal(calls, 1);
    assert.equal(other, 2);
  });
});
