/**
 * The one way this server starts child processes. Every child is wrapped in
 * `setpriv --pdeathsig KILL`: the kernel kills it when the server dies, also on SIGKILL or
 * an out-of-memory kill, where no exit hook of ours runs. Without it X servers, PulseAudio,
 * apps and encoders outlive the server (an orphaned encoder keeps burning CPU) and keep the
 * display number taken.
 *
 * The parent-death signal fires when the *thread* that forked the child exits. libuv forks
 * from the thread that calls spawn, here always the main thread, which lives as long as the
 * process: do not spawn from worker threads, or children die with the worker.
 */
import * as cp from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';

/** A user to run a child as (only possible while the server is root). */
export interface RunAs {
  name: string;
  uid: number;
  gid: number;
  home: string;
  shell: string;
}

export interface ChildOptions extends cp.SpawnOptions {
  /** Run as this user instead of the server's own (null: as the server). */
  runAs?: RunAs | null;
}

function findOnPath(program: string): string | null {
  for (const dir of (process.env.PATH || '/usr/local/bin:/usr/bin:/bin').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, program);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

let setprivPath: string | null | undefined;

function setpriv(): string | null {
  if (setprivPath === undefined) {
    setprivPath = findOnPath('setpriv');
    if (!setprivPath) {
      process.emitWarning('setpriv (util-linux) not found: child processes will outlive a killed server', {
        code: 'NEKO_NO_SETPRIV',
      });
    }
  }
  return setprivPath;
}

/** The command line that runs `command args` with a parent-death signal. */
function withParentDeathSignal(command: string, args: readonly string[]): [string, string[]] {
  const wrapper = setpriv();
  return wrapper ? [wrapper, ['--pdeathsig', 'KILL', '--', command, ...args]] : [command, [...args]];
}

/** Variables that point into the server user's own session, useless or harmful to another user. */
const SERVER_USER_ONLY = [
  'XDG_RUNTIME_DIR',
  'XDG_CONFIG_HOME',
  'XDG_DATA_HOME',
  'XDG_CACHE_HOME',
  'XDG_STATE_HOME',
  'XAUTHORITY',
  'DBUS_SESSION_BUS_ADDRESS',
  'MAIL',
  'PWD',
  'OLDPWD',
];

/**
 * Credentials and the login environment of `runAs`. Node's uid/gid options switch user in
 * the forked child before setpriv runs, so the parent-death signal, which a credential
 * change would clear, is set afterwards; they also drop the server's supplementary groups.
 */
function asUser(options: cp.SpawnOptions, runAs: RunAs): cp.SpawnOptions {
  const env: NodeJS.ProcessEnv = { ...(options.env ?? process.env) };
  for (const name of SERVER_USER_ONLY) delete env[name];
  // The server's configuration may hold passwords, the API token and the share key (Docker
  // passes all of it as NEKO_*); whoever controls the desktop could read the app's environment.
  for (const name of Object.keys(env)) if (name.startsWith('NEKO_')) delete env[name];
  return {
    ...options,
    uid: runAs.uid,
    gid: runAs.gid,
    // A system user's home may not exist (nobody's is /nonexistent): spawn would fail on it.
    cwd: options.cwd ?? (existsSync(runAs.home) ? runAs.home : '/'),
    env: { ...env, HOME: runAs.home, USER: runAs.name, LOGNAME: runAs.name, SHELL: runAs.shell },
  };
}

/** `child_process.spawn` with a parent-death signal and an optional user to run as. */
export function spawn(command: string, args: readonly string[], options: ChildOptions = {}): cp.ChildProcess {
  const { runAs, ...rest } = options;
  const [file, argv] = withParentDeathSignal(command, args);
  return cp.spawn(file, argv, runAs ? asUser(rest, runAs) : rest);
}

type AnyExecFile = (...args: unknown[]) => cp.ChildProcess;
type ExecCallback = (err: (Error & { stdout?: unknown; stderr?: unknown }) | null, stdout: unknown, stderr: unknown) => void;

/** `child_process.execFile` (same signatures, promisify-able) with a parent-death signal. */
export const execFile = function execFile(file: string, ...rest: unknown[]): cp.ChildProcess {
  const args = Array.isArray(rest[0]) ? (rest.shift() as string[]) : [];
  const [command, argv] = withParentDeathSignal(file, args);
  return (cp.execFile as unknown as AnyExecFile)(command, argv, ...rest);
} as unknown as typeof cp.execFile;

// Like Node's own execFile: promisify() resolves with { stdout, stderr } and puts both on the error.
Object.defineProperty(execFile, promisify.custom, {
  value: (...args: unknown[]) =>
    new Promise((resolve, reject) => {
      const callback: ExecCallback = (err, stdout, stderr) => {
        if (err) reject(Object.assign(err, { stdout, stderr }));
        else resolve({ stdout, stderr });
      };
      (execFile as unknown as AnyExecFile)(...args, callback);
    }),
});
