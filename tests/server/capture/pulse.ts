/**
 * Test helper: a private PulseAudio (command line from platform.md) with a null sink,
 * in a temp XDG_RUNTIME_DIR, in its own process group.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export interface PulseHandle {
  /** `unix:<dir>/native`, for PULSE_SERVER. */
  server: string;
  dir: string;
  close(): Promise<void>;
}

export async function startPulse(sinkName = 'audio_output'): Promise<PulseHandle> {
  const dir = await mkdtemp(path.join(tmpdir(), 'neko-pulse-'));
  const socket = path.join(dir, 'native');
  const child = spawn(
    'pulseaudio',
    [
      '--daemonize=no',
      '--exit-idle-time=-1',
      '--disallow-exit',
      '-n',
      `--load=module-native-protocol-unix auth-anonymous=1 socket=${socket}`,
      `--load=module-null-sink sink_name=${sinkName} rate=48000`,
      '--load=module-always-sink',
    ],
    { detached: true, stdio: 'ignore', env: { ...process.env, XDG_RUNTIME_DIR: dir, HOME: dir } },
  );
  let exited = false;
  const exit = new Promise<void>((resolve) => child.once('exit', () => ((exited = true), resolve())));
  child.once('error', () => undefined);
  const killGroup = (sig: NodeJS.Signals): void => {
    try {
      process.kill(-child.pid!, sig);
    } catch {
      // gone
    }
  };
  const deadline = Date.now() + 5000;
  while (!exited && Date.now() < deadline && !existsSync(socket)) await sleep(20);
  if (exited || !existsSync(socket)) {
    killGroup('SIGKILL');
    if (!exited) await exit;
    await rm(dir, { recursive: true, force: true });
    throw new Error('pulseaudio did not come up');
  }
  let closing: Promise<void> | null = null;
  return {
    server: `unix:${socket}`,
    dir,
    close: () => {
      closing ??= (async () => {
        if (!exited) {
          killGroup('SIGTERM');
          const t = setTimeout(() => killGroup('SIGKILL'), 2000);
          await exit;
          clearTimeout(t);
        }
        await rm(dir, { recursive: true, force: true });
      })();
      return closing;
    },
  };
}
