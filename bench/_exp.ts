import { startServer } from './server-process.js';
import { Viewer } from '../tests/helpers/viewer.js';
import { loadavg } from 'node:os';
const enc = (kf: number) => `vp8enc target-bitrate=2765000 end-usage=cbr deadline=1 cpu-used=16 threads=2 lag-in-frames=0 error-resilient=partitions keyframe-max-dist=${kf} buffer-size=1000 buffer-initial-size=500 buffer-optimal-size=600 undershoot=95`;
const src = 'ximagesrc display-name={display} use-damage=false show-pointer=false ! video/x-raw,framerate=30/1 ! videoconvert';
const q = 'queue max-size-buffers=2 max-size-bytes=0 max-size-time=0 leaky=downstream';
const variants: Record<string, string> = {
  'default (videorate, kf 60)': `${src} ! videorate ! video/x-raw,format=I420,framerate=30/1 ! ${q} ! ${enc(60)}`,
  'kf 900': `${src} ! videorate ! video/x-raw,format=I420,framerate=30/1 ! ${q} ! ${enc(900)}`,
  'no videorate': `${src} ! video/x-raw,format=I420,framerate=30/1 ! ${q} ! ${enc(60)}`,
};
for (const [name, p] of Object.entries(variants)) {
  const s = await startServer(['--capture.video.pipelines', JSON.stringify({ main: { fps: '30', gst_pipeline: p } }), '--desktop.audio=false']);
  try {
    const v = await Viewer.connect(s.url, 'a', 'neko', { video: {} });
    await v.waitForFrame(() => true, 10000);
    await new Promise((r) => setTimeout(r, 2000));
    const st = async () => { const r = (await v.pc.getStats()) as unknown as Map<string, any>; for (const x of r.values()) if (x.type === 'inbound-rtp' && x.kind === 'video') return x; };
    const a = await st();
    await new Promise((r) => setTimeout(r, 8000));
    const b = await st();
    const d = (k: string) => b[k] - a[k];
    console.log(name.padEnd(28), 'jb', (d('jitterBufferDelay') / d('jitterBufferEmittedCount') * 1000).toFixed(1), 'proc', (d('totalProcessingDelay') / d('framesDecoded') * 1000).toFixed(1), 'rtpJitter', (b.jitter * 1000).toFixed(1), 'fps', (d('framesDecoded') / 8).toFixed(1), 'recv', (d('framesReceived') / 8).toFixed(1), 'kf', d('keyFramesDecoded'), 'load', loadavg()[0].toFixed(2));
    v.close();
  } finally {
    await s.stop();
  }
}
process.exit(0);
