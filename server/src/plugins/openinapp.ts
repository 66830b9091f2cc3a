import type { ChildProcess } from 'node:child_process';
import type { Router } from '@koa/router';
import type { Context, Middleware } from 'koa';
import { sessionOf } from '../api/auth.js';
import { readJson, sendJson } from '../request/http-util.js';
import { badRequest, forbidden, HttpError } from '../errors.js';
import type { Logger } from '../log.js';
import { spawn, type RunAs } from '../process/spawn.js';
import type { SessionManager } from '../sessions/manager.js';
import type { Session } from '../sessions/session.js';
import { pluginAllows } from './permissions.js';

const MAX_URL_LENGTH = 4096;

export interface OpenInAppOptions {
  /** `openinapp.enabled`. */
  enabled: boolean;
  /** `openinapp.open_command`: program and leading arguments; the link is appended. */
  command: string;
  /** X display the link opens on. */
  display: string;
  /** Unprivileged user the command runs as (null: the server's own). */
  runAs?: RunAs | null;
  sessions: SessionManager;
  logger: Logger;
}

/**
 * The open-in-app plugin (contract §10.3): opens an http(s) link with a desktop command.
 * The link is one argv entry, never shell text.
 */
export class OpenInAppPlugin {
  private readonly children = new Set<ChildProcess>();
  private closing: Promise<void> | null = null;

  constructor(private readonly opts: OpenInAppOptions) {}

  enabledFor(session: Session): boolean {
    return pluginAllows(this.opts.enabled, this.opts.sessions, session, 'openinapp.enabled');
  }

  /** Connect-time `openinapp/init`. */
  init(session: Session): void {
    session.send('openinapp/init', { enabled: this.enabledFor(session) });
  }

  /** The host, or anyone who could become host by acting (implicit hosting). */
  mayOpen(session: Session): boolean {
    const { sessions } = this.opts;
    return sessions.host === session || (session.profile.can_host && sessions.settings.implicit_hosting);
  }

  open(link: string, by: Session): void {
    // A request still in flight while the server shuts down would leave a child nobody ends.
    if (this.closing) throw new HttpError(503, 'the server is shutting down');
    const [program, ...args] = this.opts.command.trim().split(/\s+/);
    if (!program) throw new Error('openinapp.open_command is empty');
    const child = spawn(program, [...args, link], {
      env: { ...process.env, DISPLAY: this.opts.display },
      stdio: 'ignore',
      detached: true,
      runAs: this.opts.runAs,
    });
    this.children.add(child);
    child.on('error', (err) => {
      this.children.delete(child);
      this.opts.logger.error({ err: err.message, program }, 'cannot run the open command');
    });
    child.on('exit', () => this.children.delete(child));
    this.opts.logger.info({ session_id: by.id, link }, 'link opened');
  }

  /**
   * Ends open commands still running (their process groups): SIGTERM, then SIGKILL after
   * `graceMs`; resolves once they exited. Later open() calls are refused. Idempotent.
   */
  close(graceMs = 2000): Promise<void> {
    this.closing ??= Promise.all([...this.children].map((child) => endGroup(child, graceMs))).then(() => undefined);
    return this.closing;
  }
}

async function endGroup(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const pid = child.pid;
  const signal = (sig: NodeJS.Signals) => {
    try {
      process.kill(-pid, sig);
    } catch {
      // already gone
    }
  };
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  signal('SIGTERM');
  const timer = setTimeout(() => signal('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

function httpLink(body: unknown): string {
  const text = (body as { text?: unknown } | null)?.text;
  if (typeof body !== 'object' || typeof text !== 'string') throw badRequest('unable to parse provided data');
  if (text.length > MAX_URL_LENGTH) throw badRequest('invalid URL');
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw badRequest('invalid URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw badRequest('only http and https links can be opened');
  return url.href;
}

/** `POST /api/openinapp/openlink`. */
export function mountOpenInAppRoutes(router: Router, opts: { plugin: OpenInAppPlugin; auth: Middleware; maxBody: number }): void {
  const { plugin } = opts;
  router.post('/api/openinapp/openlink', opts.auth, async (ctx: Context) => {
    const session = sessionOf(ctx);
    if (!plugin.enabledFor(session)) throw forbidden('openinapp is disabled');
    if (!plugin.mayOpen(session)) throw forbidden('only the host can open links');
    plugin.open(httpLink(await readJson(ctx, opts.maxBody)), session);
    sendJson(ctx, 200, null);
  });
}
