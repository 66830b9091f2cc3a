/**
 * The server's own video pipeline run on its own, sending RTP to this process: how long a
 * change on the X screen takes to come out of the encoder as a complete frame. Subtracted
 * from input-to-photon it tells the encoder's share from the server's and the viewer's.
 */
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { splitLaunchArgs } from '../server/src/capture/pipelines.js';
import { startBare, type ServerPipelines } from './bare-stack.js';
import type { FlipWindow } from './flip-window.js';

interface EncodedFrame {
  firstAt: number;
  lastAt: number;
  bytes: number;
  key: boolean;
}

export interface EncoderProbe {
  /** Repaint requested → last packet of the first frame showing it. */
  latency: number[];
  missed: number;
  /** Frames per second coming out of the encoder. */
  fps: number;
  /** Longest time between two encoded frames (a stalled encoder shows here). */
  maxGap: number;
  /** Median size of an unchanged (static screen) delta frame and of a flip frame. */
  staticBytes: number;
  flipBytes: number;
}

/** VP8 payload (RFC 7741): is this packet the start of a keyframe? */
function vp8KeyframeStart(payload: Buffer): boolean {
  if (payload.length < 1) return false;
  const b0 = payload[0]!;
  if (!(b0 & 0x10) || (b0 & 0x07) !== 0) return false; // not the start of partition 0
  let i = 1;
  if (b0 & 0x80) {
    const x = payload[i++] ?? 0;
    if (x & 0x80) i += (payload[i] ?? 0) & 0x80 ? 2 : 1;
    if (x & 0x40) i++;
    if (x & 0x30) i++;
  }
  return i < payload.length && (payload[i]! & 0x01) === 0;
}

function rtpPayloadOf(buf: Buffer): Buffer {
  const cc = buf[0]! & 0x0f;
  let off = 12 + cc * 4;
  if (buf[0]! & 0x10) off += 4 + buf.readUInt16BE(off + 2) * 4;
  return buf.subarray(off);
}

const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor((v.length - 1) / 2)] ?? NaN;

/**
 * Runs the server's VP8 encoder (its udpsink pointed here; after its shared capture, when it
 * had one) on `display` and times `samples` flips of `flip`, `spacingMs` apart.
 */
export async function probeEncoder(display: string, pipelines: ServerPipelines, flip: FlipWindow, samples: number, spacingMs: number): Promise<EncoderProbe> {
  const capture = pipelines.capture ? await startBare(display, pipelines.capture, []) : null;
  try {
    return await probe(display, capture ? pipelines.encoder.replace(/socket-path=\S+/, `socket-path=${capture.socket}`) : pipelines.encoder, flip, samples, spacingMs);
  } finally {
    await capture?.stop();
  }
}

async function probe(display: string, pipeline: string, flip: FlipWindow, samples: number, spacingMs: number): Promise<EncoderProbe> {
  const socket = dgram.createSocket({ type: 'udp4', recvBufferSize: 4 << 20 });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
  const port = socket.address().port;
  const frames: EncodedFrame[] = [];
  let current: EncodedFrame | null = null;
  let waiter: ((f: EncodedFrame) => void) | null = null;
  socket.on('message', (buf: Buffer) => {
    if (buf.length < 12) return;
    const now = performance.now();
    const payload = rtpPayloadOf(buf);
    if (!current) current = { firstAt: now, lastAt: now, bytes: 0, key: vp8KeyframeStart(payload) };
    current.lastAt = now;
    current.bytes += payload.length;
    if (buf[1]! & 0x80) {
      // Marker bit: last packet of the frame.
      frames.push(current);
      const done = current;
      current = null;
      waiter?.(done);
    }
  });

  const desc = pipeline.replace(/udpsink host=\S+ port=\d+/, `udpsink host=127.0.0.1 port=${port}`);
  const child = spawn('gst-launch-1.0', splitLaunchArgs(desc), {
    env: { ...process.env, DISPLAY: display },
    stdio: 'ignore',
    detached: true,
  });
  const kill = () => {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // gone
    }
  };
  process.prependListener('exit', kill);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    const until = async (what: string, cond: () => boolean, ms: number) => {
      const deadline = performance.now() + ms;
      while (!cond()) {
        if (performance.now() > deadline) throw new Error(`encoder probe: ${what} within ${ms} ms`);
        await sleep(20);
      }
    };
    await until('no frames', () => frames.some((f) => f.key), 5000);
    await sleep(1000);

    const result: EncoderProbe = { latency: [], missed: 0, fps: 0, maxGap: 0, staticBytes: NaN, flipBytes: NaN };
    const staticSizes: number[] = [];
    const flipSizes: number[] = [];
    const counted = frames.length;
    const began = performance.now();
    for (let i = 0; i < samples; i++) {
      const recent = frames.slice(-10).filter((f) => !f.key).map((f) => f.bytes);
      staticSizes.push(...recent);
      // A 256x256 black/white swap costs far more bits than an unchanged screen.
      const threshold = Math.max(3 * median(recent), 400);
      const t0 = flip.toggle();
      const frame = await new Promise<EncodedFrame | null>((resolve) => {
        const timer = setTimeout(() => {
          waiter = null;
          resolve(null);
        }, 1000);
        waiter = (f) => {
          if (f.firstAt < t0 || f.key || f.bytes < threshold) return;
          clearTimeout(timer);
          waiter = null;
          resolve(f);
        };
      });
      if (frame) {
        result.latency.push(frame.lastAt - t0);
        flipSizes.push(frame.bytes);
      } else {
        result.missed++;
      }
      await sleep(Math.max(0, t0 + spacingMs + Math.random() * 33 - performance.now()));
    }
    result.fps = (frames.length - counted) / ((performance.now() - began) / 1000);
    for (let i = counted + 1; i < frames.length; i++) {
      result.maxGap = Math.max(result.maxGap, frames[i]!.lastAt - frames[i - 1]!.lastAt);
    }
    result.staticBytes = median(staticSizes);
    result.flipBytes = median(flipSizes);
    return result;
  } finally {
    kill();
    await Promise.race([exited, sleep(2000)]);
    process.removeListener('exit', kill);
    socket.close();
  }
}
