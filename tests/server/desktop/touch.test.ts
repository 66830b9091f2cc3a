import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Input } from '../../../server/src/desktop/input.js';
import { TouchEmulator } from '../../../server/src/desktop/touch.js';

function recorder(): { input: Input; calls: string[] } {
  const calls: string[] = [];
  const input = {
    move: (x: number, y: number) => calls.push(`move ${x},${y}`),
    buttonDown: (b: number) => calls.push(`down ${b}`),
    buttonUp: (b: number) => calls.push(`up ${b}`),
  } as unknown as Input;
  return { input, calls };
}

describe('touch emulation on the pointer', () => {
  test('one finger presses, drags and releases the primary button', () => {
    const { input, calls } = recorder();
    const touch = new TouchEmulator(input);
    touch.begin(7, 10, 20);
    touch.update(7, 30, 40);
    touch.end(7, 50, 60);
    assert.deepEqual(calls, ['move 10,20', 'down 1', 'move 30,40', 'move 50,60', 'up 1']);
  });

  test('a second finger is ignored until the first lifts; coordinates are clamped', () => {
    const { input, calls } = recorder();
    const touch = new TouchEmulator(input);
    touch.begin(1, -5, 70000);
    touch.begin(2, 1, 1);
    touch.update(2, 2, 2);
    touch.end(2, 3, 3);
    touch.end(1, 4, 4);
    touch.begin(2, 5, 5);
    assert.deepEqual(calls, ['move 0,65535', 'down 1', 'move 4,4', 'up 1', 'move 5,5', 'down 1']);
  });

  test('after a reset a new finger can start', () => {
    const { input, calls } = recorder();
    const touch = new TouchEmulator(input);
    touch.begin(1, 0, 0);
    touch.reset();
    touch.begin(2, 9, 9);
    assert.deepEqual(calls.slice(-2), ['move 9,9', 'down 1']);
  });
});
