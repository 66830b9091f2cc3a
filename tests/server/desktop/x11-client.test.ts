import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { X11Client } from '../../../server/src/desktop/x11-client.js';
import { startXvfb } from '../../helpers/xvfb.js';
import { onDisplay } from '../../helpers/x11.js';

/** The id the X server itself has for `name`, as xlsatoms lists it. */
async function serverAtom(display: string, name: string): Promise<number> {
  const line = (await onDisplay(display, 'xlsatoms', ['-name', name])).trim();
  return Number(line.split(/\s+/)[0]);
}

describe('X11Client', () => {
  test('atoms are interned per X server, not taken from another connection', async () => {
    const first = await startXvfb({ width: 320, height: 240 });
    const second = await startXvfb({ width: 320, height: 240 });
    try {
      const a = await X11Client.connect(first.display);
      const onFirst = await a.internAtom('NEKO_TEST_ATOM');
      await a.close();

      // The second server hands out other ids: it has created other atoms before.
      await onDisplay(second.display, 'xprop', ['-root', '-f', 'NEKO_OTHER_ATOM', '8s', '-set', 'NEKO_OTHER_ATOM', 'x']);
      const b = await X11Client.connect(second.display);
      const onSecond = await b.internAtom('NEKO_TEST_ATOM');
      await b.close();

      assert.equal(onFirst, await serverAtom(first.display, 'NEKO_TEST_ATOM'));
      assert.equal(onSecond, await serverAtom(second.display, 'NEKO_TEST_ATOM'));
      assert.notEqual(onSecond, onFirst);
    } finally {
      await first.close();
      await second.close();
    }
  });
});
