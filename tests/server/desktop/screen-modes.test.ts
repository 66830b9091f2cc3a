import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { offeredRate, parseXrandrModes } from '../../../server/src/desktop/screen-modes.js';

const XORG = `Screen 0: minimum 64 x 64, current 1280 x 720, maximum 32767 x 32767
DUMMY0 connected primary 1280x720+0+0 0mm x 0mm
   1280x720_60   59.86*+
   1920x1440     75.00    60.00
   1600x1200     85.00    75.00    70.00    65.00    60.00    50.00
   1920x1080_30  29.95
   1024x768      60.00    59.94    70.07    43.48
   640x480       72.81    75.00    24.00
`;

const XVFB = `Screen 0: minimum 1 x 1, current 1280 x 720, maximum 1280 x 720
screen connected 1280x720+0+0 0mm x 0mm
   1280x720       0.00*
`;

describe('screen configurations from xrandr', () => {
  test('rates are rounded and filtered by the contract rule, sizes keep xrandr order', () => {
    assert.deepEqual(parseXrandrModes(XORG, 30), [
      { width: 1280, height: 720, rate: 60 },
      { width: 1920, height: 1440, rate: 60 },
      { width: 1600, height: 1200, rate: 60 },
      { width: 1600, height: 1200, rate: 50 },
      { width: 1920, height: 1080, rate: 30 },
      { width: 1024, height: 768, rate: 60 },
      { width: 640, height: 480, rate: 24 },
    ]);
  });

  test('a server without rates (Xvfb) offers its size at the given rate', () => {
    assert.deepEqual(parseXrandrModes(XVFB, 25), [{ width: 1280, height: 720, rate: 25 }]);
  });

  test('the rate rule: ≤ 60, and ≤ 30 or a multiple of 10', () => {
    assert.deepEqual([0, 1, 24, 25, 30, 31, 40, 45, 50, 60, 70, 75].filter(offeredRate), [1, 24, 25, 30, 40, 50, 60]);
  });
});
