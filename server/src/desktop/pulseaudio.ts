import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Logger } from '../log.js';
import { execFile } from '../process/spawn.js';
import { SupervisedProcess, type ProcessState } from '../process/supervisor.js';

const execFileP = promisify(execFile);

/** Sink the desktop plays into; the contract's `capture.audio.device` is its monitor. */
export const OUTPUT_SINK = 'audio_output';
/** Source a future microphone feeds (contract: `capture.microphone.device`). */
export const INPUT_SOURCE = 'audio_input';
/** What a microphone writes into; `audio_input` re-exposes this sink's monitor. */
export const INPUT_SINK = 'audio_input_sink';

export interface PulseAudioOptions {
  logger: Logger;
  /** How long one start may take (default 10 s). */
  startTimeoutMs?: number;
  /** Group (the desktop user's) whose members may reach the socket besides our own user. */
  clientGid?: number;
}

/**
 * A private PulseAudio daemon (runtime dir, home and socket in a temp dir, so it neither
 * needs nor touches a user session) with the virtual devices the contract names.
 */
export class PulseAudio {
  private closing: Promise<void> | null = null;

  private constructor(
    private readonly proc: SupervisedProcess,
    private readonly dir: string,
    /** `unix:/…/native`, for clients' PULSE_SERVER. */
    readonly server: string,
  ) {}

  static async start(opts: PulseAudioOptions): Promise<PulseAudio> {
    const dir = mkdtempSync(join(tmpdir(), 'neko-pulse-'));
    // Anonymous auth lets in whoever reaches the socket: the folder decides who that is.
    if (opts.clientGid !== undefined) {
      chownSync(dir, process.getuid?.() ?? -1, opts.clientGid);
      chmodSync(dir, 0o710);
    }
    const socket = join(dir, 'native');
    const server = `unix:${socket}`;
    mkdirSync(join(dir, 'home'));
    const script = join(dir, 'default.pa');
    writeFileSync(
      script,
      [
        `load-module module-native-protocol-unix auth-anonymous=1 socket=${socket}`,
        `load-module module-null-sink sink_name=${OUTPUT_SINK} rate=48000`,
        `load-module module-null-sink sink_name=${INPUT_SINK} rate=48000`,
        // A null sink's monitor is flagged as a monitor (device.class=monitor), which apps
        // leave out of their microphone lists; a remap-source of it is an ordinary source
        // with the contract's name.
        `load-module module-remap-source master=${INPUT_SINK}.monitor source_name=${INPUT_SOURCE}`,
        `set-default-sink ${OUTPUT_SINK}`,
        `set-default-source ${INPUT_SOURCE}`,
        '',
      ].join('\n'),
    );
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      XDG_RUNTIME_DIR: dir,
      HOME: join(dir, 'home'),
      PULSE_SERVER: server,
    };
    delete env.DISPLAY; // no X11 bell/publish modules; they are not loaded anyway with -n
    const timeoutMs = opts.startTimeoutMs ?? 10_000;
    const proc = new SupervisedProcess({
      name: 'pulseaudio',
      logger: opts.logger,
      command: 'pulseaudio',
      args: [
        '--daemonize=no',
        '--exit-idle-time=-1',
        '--disallow-exit=yes',
        '--use-pid-file=no',
        '--realtime=no',
        '--high-priority=no',
        '--log-target=stderr',
        '-n',
        `--file=${script}`,
      ],
      env,
      ready: async (child) => {
        const deadline = Date.now() + timeoutMs;
        while (child.exitCode === null && child.signalCode === null) {
          if (await pactlOk(server)) return;
          if (Date.now() > deadline) throw new Error(`pulseaudio not ready after ${timeoutMs} ms`);
          await new Promise((r) => setTimeout(r, 100));
        }
      },
    });
    try {
      await proc.start();
    } catch (err) {
      await proc.close();
      rmSync(dir, { recursive: true, force: true });
      throw err;
    }
    return new PulseAudio(proc, dir, server);
  }

  get state(): ProcessState {
    return this.proc.state;
  }

  on(event: 'started' | 'exited' | 'failed', listener: () => void): this {
    this.proc.on(event, () => listener());
    return this;
  }

  /** Simulates a crash (tests). */
  kill(): void {
    this.proc.kill('SIGKILL');
  }

  close(): Promise<void> {
    this.closing ??= this.proc.close().finally(() => rmSync(this.dir, { recursive: true, force: true }));
    return this.closing;
  }
}

/** `pactl info` only succeeds once the daemon serves clients. */
async function pactlOk(server: string): Promise<boolean> {
  try {
    await execFileP('pactl', ['info'], { env: { ...process.env, PULSE_SERVER: server }, timeout: 2000 });
    return true;
  } catch {
    return false;
  }
}
