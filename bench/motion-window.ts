/**
 * Moving content over most of the screen: a GStreamer test pattern scrolling sideways at
 * 30 fps, shown in an X window by ximagesink (MIT-SHM, so the painter itself stays cheap).
 * It stands in for a scrolling page or a playing video, which cost the encoder far more than
 * the flip window's 256x256 square.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { readProc } from './proc.js';

export class MotionWindow {
  private constructor(private readonly child: ChildProcess) {}

  get pid(): number {
    return this.child.pid!;
  }

  /** Opens a `width`x`height` window at the top-left corner of `display`. */
  static async open(display: string, width: number, height: number, fps = 30): Promise<MotionWindow> {
    const desc = [
      'videotestsrc', 'is-live=true', 'pattern=smpte', 'horizontal-speed=6', '!',
      `video/x-raw,format=BGRx,width=${width},height=${height},framerate=${fps}/1`, '!',
      'ximagesink', `display=${display}`, 'sync=false', 'handle-events=false',
    ];
    const child = spawn('gst-launch-1.0', ['-q', ...desc], {
      env: { ...process.env, DISPLAY: display },
      stdio: 'ignore',
      detached: true,
    });
    const win = new MotionWindow(child);
    process.prependListener('exit', win.kill);
    // The window maps within a few frames; there is no cheap way to watch for it from here.
    await sleep(1000);
    if (child.exitCode !== null || !readProc(child.pid!)) throw new Error('motion window (gst-launch-1.0 videotestsrc ! ximagesink) exited');
    return win;
  }

  private readonly kill = (): void => {
    try {
      process.kill(-this.child.pid!, 'SIGKILL');
    } catch {
      // gone
    }
  };

  async close(): Promise<void> {
    const exited = new Promise<void>((resolve) => (this.child.exitCode !== null ? resolve() : this.child.once('exit', () => resolve())));
    this.kill();
    await Promise.race([exited, sleep(2000)]);
    process.removeListener('exit', this.kill);
  }
}
