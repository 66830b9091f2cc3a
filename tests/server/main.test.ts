import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { createLogger } from '../../server/src/log.js';
import { startApp } from '../helpers/app.js';

test('every log line of a started app names its module exactly once', async () => {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      done();
    },
  });
  const app = await startApp([], createLogger({ level: 'debug', json: true, destination: sink }));
  await app.close();
  assert.ok(lines.length > 5, `the app logged (${lines.length} lines)`);
  // JSON.parse keeps the last of two equal keys, so count them in the raw text.
  const repeated = lines.filter((line) => (line.match(/"module":/g) ?? []).length !== 1);
  assert.deepEqual(repeated, []);
});
