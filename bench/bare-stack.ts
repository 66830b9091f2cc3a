/**
 * The server's video processes run bare: the shared screen capture (when the server used
 * one) and its encoders, as the same gst-launch-1.0 command lines, without the server. Their
 * RTP comes to this process. What the server adds shows as stack ÷ bare.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { splitLaunchArgs } from '../server/src/capture/pipelines.js';
import { removeShmSegments, withNativePlugins } from '../server/src/capture/screen-capture.js';
import type { ServerProcess } from './server-process.js';

export interface ServerPipelines {
  /** The shared capture's description; absent when the encoder captured the screen itself. */
  capture?: string;
  /** The first video encoder's description. */
  encoder: string;
}

/** The video pipelines the server last started, from its log. */
export function serverPipelines(server: ServerProcess): ServerPipelines | undefined {
  const capture = [...server.logs].reverse().find((l) => l.msg === 'starting screen capture' && typeof l.pipeline === 'string')?.pipeline as string | undefined;
  const encoder = server.logs.find((l) => l.msg === 'starting encoder' && l.kind === 'video' && typeof l.pipeline === 'string')?.pipeline as string | undefined;
  if (!encoder) return undefined;
  return /^shmsrc /.test(encoder) ? { capture, encoder } : { encoder };
}

/** A video process is the shared capture or an encoder (whether fed by it or capturing itself). */
export function isVideoProcess(cmdline: string): boolean {
  return /\b(ximagesrc|nekodamagesrc|shmsrc)\b/.test(cmdline);
}

export interface BareStack {
  /** The capture's control socket, for more encoders. */
  readonly socket: string;
  /** Every gst-launch process started (capture first). */
  readonly pids: number[];
  /** RTP marker bits per encoder, in the order given. */
  readonly frames: number[];
  stop(): Promise<void>;
}

const SOCKET_WAIT_MS = 5000;

/**
 * Starts `capture` (its socket moved to a private directory) and then `encoders` (pointed at
 * that socket and at UDP ports of this process) on `display`.
 */
export async function startBare(display: string, capture: string | undefined, encoders: string[]): Promise<BareStack> {
  const dir = mkdtempSync(join(tmpdir(), 'neko-bench-bare-'));
  const socketPath = join(dir, 'screen');
  const children: ChildProcess[] = [];
  const sockets: dgram.Socket[] = [];
  // The server's capture may use server/native's grabber.
  const env = { ...withNativePlugins(process.env), DISPLAY: display };
  const killAll = () => {
    for (const child of children) {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // gone
      }
    }
    // A killed capture leaves its shared memory behind (unlinking it while mapped is fine).
    removeShmSegments(new Set(children.map((c) => c.pid!)));
  };
  process.prependListener('exit', killAll);
  const launch = (desc: string) => {
    const child = spawn('gst-launch-1.0', splitLaunchArgs(desc), { env, stdio: 'ignore', detached: true });
    children.push(child);
  };
  const stack: BareStack = {
    socket: socketPath,
    pids: [],
    frames: encoders.map(() => 0),
    stop: async () => {
      const exits = children.map((c) => new Promise<void>((resolve) => (c.exitCode !== null || c.signalCode !== null ? resolve() : c.once('exit', () => resolve()))));
      killAll();
      await Promise.race([Promise.all(exits), sleep(2000)]);
      process.removeListener('exit', killAll);
      for (const s of sockets) s.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    if (capture) {
      launch(capture.replace(/socket-path=\S+/, `socket-path=${socketPath}`));
      const deadline = performance.now() + SOCKET_WAIT_MS;
      for (;;) {
        try {
          if (statSync(socketPath).isSocket()) break;
        } catch {
          // not yet
        }
        if (performance.now() > deadline) throw new Error('bare capture: no socket');
        await sleep(10);
      }
    }
    for (const [i, encoder] of encoders.entries()) {
      const socket = dgram.createSocket({ type: 'udp4', recvBufferSize: 4 << 20 });
      await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
      sockets.push(socket);
      socket.on('message', (buf: Buffer) => {
        if (buf.length >= 12 && buf[1]! & 0x80) stack.frames[i]!++;
      });
      launch(
        encoder
          .replace(/socket-path=\S+/, `socket-path=${socketPath}`)
          .replace(/udpsink host=\S+ port=\d+/, `udpsink host=127.0.0.1 port=${socket.address().port}`),
      );
    }
    stack.pids.push(...children.map((c) => c.pid!));
    const deadline = performance.now() + 5000;
    while (stack.frames.some((n) => n === 0)) {
      if (performance.now() > deadline) throw new Error('bare encoders: no frames within 5 s');
      await sleep(50);
    }
    return stack;
  } catch (err) {
    await stack.stop();
    throw err;
  }
}
