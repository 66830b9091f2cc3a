/**
 * Shared set-up for the desktop feature tests: members with the profiles the contract's
 * guards distinguish, logged in, and a way to hand control to one of them.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { App } from '../../../server/src/main.js';
import { api } from '../../helpers/api.js';
import { startApp } from '../../helpers/app.js';
import { login } from '../../helpers/viewer.js';

const everything = {
  can_login: true,
  can_connect: true,
  can_watch: true,
  can_host: true,
  can_share_media: true,
  can_access_clipboard: true,
  sends_inactive_cursor: true,
  can_see_inactive_cursors: true,
};

/**
 * admin; user (full non-admin); noclip (no clipboard); nohost (cannot host); nowatch (cannot
 * watch); viewer (full non-admin, left for a WebRTC Viewer to log in with).
 */
export const USERS = [
  { username: 'admin', password: 'pw', profile: { ...everything, name: 'Admin', is_admin: true } },
  { username: 'user', password: 'pw', profile: { ...everything, name: 'User', is_admin: false } },
  { username: 'noclip', password: 'pw', profile: { ...everything, name: 'No clip', is_admin: false, can_access_clipboard: false } },
  { username: 'nohost', password: 'pw', profile: { ...everything, name: 'No host', is_admin: false, can_host: false } },
  { username: 'nowatch', password: 'pw', profile: { ...everything, name: 'No watch', is_admin: false, can_watch: false } },
  { username: 'viewer', password: 'pw', profile: { ...everything, name: 'Viewer', is_admin: false } },
];

export type Role = 'admin' | 'user' | 'noclip' | 'nohost' | 'nowatch';
const ROLES: Role[] = ['admin', 'user', 'noclip', 'nohost', 'nowatch'];

export interface Room {
  app: App;
  tokens: Record<Role, string>;
  ids: Record<Role, string>;
}

export async function startRoom(flags: string[] = []): Promise<Room> {
  const app = await startApp(['--member.provider', 'object', '--member.object.users', JSON.stringify(USERS), ...flags]);
  const tokens = {} as Record<Role, string>;
  const ids = {} as Record<Role, string>;
  try {
    for (const role of ROLES) {
      const res = await login(app.url, role, 'pw');
      tokens[role] = res.token;
      ids[role] = res.id;
    }
  } catch (err) {
    await app.close();
    throw err;
  }
  return { app, tokens, ids };
}

/** Makes `role` the host (through the contract's REST route). */
export async function becomeHost(room: Room, role: Role): Promise<void> {
  const { app, tokens } = room;
  if (app.sessions.host?.id === room.ids[role]) return;
  await api(app.url, tokens.admin).post('/api/room/control/reset').expect(204);
  await api(app.url, tokens[role]).post('/api/room/control/request').expect(204);
}

/**
 * Runs a desktop-side program in its own process group (xclip serving a selection, a
 * titled xterm, …); kill() ends the whole group.
 */
export function desktopProcess(display: string, cmd: string, args: string[], stdin?: Buffer | string): {
  child: ChildProcess;
  kill(): void;
} {
  const child = spawn(cmd, args, {
    env: { ...process.env, DISPLAY: display },
    detached: true,
    stdio: [stdin === undefined ? 'ignore' : 'pipe', 'ignore', 'ignore'],
  });
  if (stdin !== undefined) child.stdin?.end(stdin);
  return {
    child,
    kill: () => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    },
  };
}
