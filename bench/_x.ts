import { setTimeout as sleep } from 'node:timers/promises';
import { CountingViewer } from './counting-viewer.js';
import { MotionWindow } from './motion-window.js';
import { CpuWindow } from './proc.js';
import { startServer, stopAllServers } from './server-process.js';
const t0 = Date.now();
const server = await startServer(['--desktop.screen', '1280x720@30', '--capture.video.codec', 'vp8', ...process.argv.slice(2)]);
const motion = await MotionWindow.open(server.display, 1204, 640);
const n = Number(process.env.N ?? 1);
const viewers: CountingViewer[] = [];
for (let i = 0; i < n; i++) viewers.push(await CountingViewer.connect(server.url, `v${i}`, 'neko'));
await Promise.all(viewers.map((v) => v.waitForVideo(15000)));
await sleep(3000);
console.log('window starts at', ((Date.now() - t0) / 1000).toFixed(1), 's');
import { execSync } from 'node:child_process';
const threads = () => Object.fromEntries(execSync(`for t in /proc/${server.pid}/task/*; do echo "$(basename $t)-$(cat $t/comm | tr ' ' _) $(awk '{print $14+$15}' $t/stat)"; done`).toString().trim().split('\n').map((l) => l.split(' ')).reduce((m, [k, v]) => { m.set(k!, (m.get(k!) ?? 0) + Number(v)); return m; }, new Map<string, number>()));
const th0 = threads();
execSync('sleep 5');
if (process.env.PERF) execSync(`perf record -F 2000 -g -p ${server.pid} -o /tmp/perf.data -- sleep 5 2>/dev/null`);
if (process.env.STRACE) { execSync(`timeout -s INT 3 strace -f -tt -p ${server.pid} -o /tmp/st.txt 2>/dev/null || true`); execSync(`ls -l /proc/${server.pid}/fd > /tmp/fds.txt`); }
const th1 = threads();
console.log(Object.entries(th1).map(([k, v]) => `${k}=${v - (th0[k] ?? 0)}`).join(' '));
for (let k = 0; k < 3; k++) {
  const before = viewers.map((v) => ({ ...v.counts }));
  const w = new CpuWindow({ server: () => [server.pid] });
  await sleep(5000);
  console.log('server %', w.finish().server!.toFixed(2), 'fps', viewers.map((v, i) => ((v.counts.frames - before[i]!.frames) / 5).toFixed(1)).join(' '), 'gaps', viewers.map((v, i) => v.counts.gaps - before[i]!.gaps).join(' '), 'rep', viewers.map((v, i) => v.counts.repaired - before[i]!.repaired).join(' '));
}
if (process.env.X_DEBUG) console.log(execSync('ss -uanm').toString());
for (const v of viewers) await v.close(server.url);
await motion.close();
await stopAllServers();
process.exit(0);
