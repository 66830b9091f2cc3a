import { startServer } from './server-process.js';
import { Viewer } from '../tests/helpers/viewer.js';
import os from 'node:os';
const s = await startServer(['--capture.video.pipelines', '{"main":{"fps":"30"}}']);
if (process.env.NICE) os.setPriority(Number(process.env.NICE));
const vs: Viewer[] = [];
const N = Number(process.env.N ?? 5);
for (let i = 0; i < N; i++) vs.push(await Viewer.connect(s.url, 'a' + i, 'neko'));
await Promise.all(vs.map((v) => v.waitForFrame(() => true, 10000)));
const snap = async () => Promise.all(vs.map(async (v) => { const r = await v.pc.getStats() as unknown as Map<string, any>; for (const x of r.values()) if (x.type === 'inbound-rtp' && x.kind === 'video') return { ...x, sinkFrames: v.frames }; return null; }));
await new Promise((r) => setTimeout(r, 2000));
const a = await snap();
await new Promise((r) => setTimeout(r, 5000));
const b = await snap();
for (let i = 0; i < N; i++) {
  const d = (k: string) => (b[i][k] - a[i][k]) / 5;
  process.stderr.write(JSON.stringify([i, 'sink', d('sinkFrames'), 'recv', d('framesReceived'), 'dec', d('framesDecoded'), 'drop', d('framesDropped'), 'lost', d('packetsLost'), 'nack', d('nackCount'), 'jb', (b[i].jitterBufferDelay - a[i].jitterBufferDelay) / (b[i].jitterBufferEmittedCount - a[i].jitterBufferEmittedCount)]) + '\n');
}
for (const v of vs) v.close();
await s.stop();
process.exit(0);
