/**
 * The unprivileged user desktop programs run as. A root server must not hand out root: the
 * desktop's terminal would be a root shell on the host for anyone who can log in.
 */
import { constants } from 'node:fs';
import { mkdir, open, realpath, stat } from 'node:fs/promises';
import { dirname, resolve, sep } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import type { Logger } from '../log.js';
import { execFile, type RunAs } from './spawn.js';

const execFileP = promisify(execFile);

/** A portable POSIX user name (useradd would take more, but nothing here needs more). */
const USER_NAME = /^[a-z_][a-z0-9_-]{0,31}$/;

/** useradd's exit codes for "cannot lock the password file" and "user exists". */
const USERADD_LOCKED = 10;
const USERADD_EXISTS = 9;

/**
 * The user desktop programs run as: `name`, created (a system user with a home) when missing.
 * Null when the server is not root: it cannot switch users, and its programs run as itself.
 */
export async function resolveDesktopUser(name: string, logger: Logger): Promise<RunAs | null> {
  if (process.getuid?.() !== 0) return null;
  if (!USER_NAME.test(name)) throw new Error(`desktop.user: "${name}" is not a valid user name`);
  let user = await lookup(name);
  if (!user) {
    await create(name, logger);
    user = await lookup(name);
    if (!user) throw new Error(`desktop.user: user ${name} was created but cannot be found`);
    await adoptHome(user, logger);
  }
  if (user.uid === 0 || user.gid === 0) throw new Error(`desktop.user: ${name} has root privileges; desktop programs must not`);
  return user;
}

async function lookup(name: string): Promise<RunAs | null> {
  let stdout: string;
  try {
    ({ stdout } = await execFileP('getent', ['passwd', name], { timeout: 10_000 }));
  } catch (err) {
    if ((err as { code?: unknown }).code === 2) return null; // no such user
    throw err;
  }
  const [, , uid, gid, , home, shell] = stdout.trim().split(':');
  return { name, uid: Number(uid), gid: Number(gid), home: home || '/', shell: shell || '/bin/sh' };
}

async function create(name: string, logger: Logger): Promise<void> {
  const shell = (await exists('/bin/bash')) ? '/bin/bash' : '/bin/sh';
  // Concurrent starts race for the password file lock (or the name): retry, then look it up.
  for (let attempt = 0; ; attempt++) {
    try {
      await execFileP('useradd', ['--system', '--create-home', '--user-group', '--shell', shell, name], { timeout: 30_000 });
      logger.info({ user: name }, 'desktop user created');
      return;
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (code === USERADD_EXISTS) return;
      if (code !== USERADD_LOCKED || attempt >= 20) throw err;
      await sleep(100 + Math.random() * 200);
    }
  }
}

/**
 * useradd leaves a home it finds already there as it is; one left by an older root server
 * (which created the default transfer folder /home/neko/Downloads itself) is root's.
 */
async function adoptHome(user: RunAs, logger: Logger): Promise<void> {
  if (user.home === '/') return;
  const changed = await chownOwnDir(user.home, user, (st) => st.uid === 0);
  if (changed) logger.info({ user: user.name, home: user.home }, 'desktop user now owns its existing home');
}

/**
 * Makes sure the desktop user can write into `dir` (the file transfer folder): a missing
 * folder is created as the user's, one inside the user's home that root owns is handed over.
 * Others are left as they are: the server does not take over folders an operator chose.
 */
export async function prepareUserFolder(dir: string, user: RunAs, logger: Logger): Promise<void> {
  const path = resolve(dir);
  const created = await mkdir(path, { recursive: true });
  if (created) {
    // Hand over every folder made here, from the first one created down to `dir`.
    for (let p = path; ; p = dirname(p)) {
      await chownOwnDir(p, user, () => true);
      if (p === created || p === dirname(p)) break;
    }
    logger.info({ dir: path, user: user.name }, 'folder created for the desktop user');
    return;
  }
  const home = await realpath(user.home).catch(() => null);
  const real = await realpath(path);
  if (!home || home === sep || !(real + sep).startsWith(home + sep)) return;
  try {
    if (await chownOwnDir(path, user, (st) => st.uid === 0)) {
      logger.info({ dir: path, user: user.name }, 'folder in the desktop user home handed over to it');
    }
  } catch (err) {
    logger.warn({ err, dir: path, user: user.name }, 'folder not handed over to the desktop user');
  }
}

/**
 * chown of a directory through a handle opened without following a symlink, so the user
 * cannot redirect it (say, to /etc) by swapping the folder for a link in its own home.
 */
async function chownOwnDir(path: string, user: RunAs, when: (st: { uid: number }) => boolean): Promise<boolean> {
  const handle = await open(path, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
  try {
    const st = await handle.stat();
    if (!when(st) || (st.uid === user.uid && st.gid === user.gid)) return false;
    await handle.chown(user.uid, user.gid);
    return true;
  } finally {
    await handle.close();
  }
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}
